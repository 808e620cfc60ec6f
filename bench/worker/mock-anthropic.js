// Minimal Anthropic Messages streaming mock (loopback only), the counterpart of the OpenAI mock
// /work/shared/baselines/mock-upstream.js: the same 49 text deltas ("tok1 " .. "tok49 "), framed as Anthropic's
// event stream (message_start, content_block_start, 49 content_block_delta/text_delta, content_block_stop,
// message_delta with stop_reason and usage, message_stop), as its streaming documentation shows them.
// POST /v1/messages (any body). Env: PORT (default 18081), CHUNKS (default 50: 49 deltas, as the OpenAI mock)
'use strict';
const http = require('http');
const PORT = +(process.env.PORT || 18081);
const CHUNKS = +(process.env.CHUNKS || 50);

function event(name, data) {
  return Buffer.from('event: ' + name + '\ndata: ' + JSON.stringify(data) + '\n\n');
}
const EVENTS = [event('message_start', { type: 'message_start', message: { id: 'msg_mock', type: 'message',
  role: 'assistant', content: [], model: 'mock-model', stop_reason: null, stop_sequence: null,
  usage: { input_tokens: 8, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 } } }),
  event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })];
for (let i = 1; i < CHUNKS; i++) {
  EVENTS.push(event('content_block_delta', { type: 'content_block_delta', index: 0,
    delta: { type: 'text_delta', text: 'tok' + i + ' ' } }));
}
EVENTS.push(event('content_block_stop', { type: 'content_block_stop', index: 0 }));
EVENTS.push(event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null },
  usage: { output_tokens: CHUNKS - 1 } }));
EVENTS.push(event('message_stop', { type: 'message_stop' }));
const ALL = Buffer.concat(EVENTS);

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url.startsWith('/v1/messages')) {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      for (const e of EVENTS) res.write(e);
      res.end();
    });
    return;
  }
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end('{"type":"error","error":{"type":"not_found_error","message":"not found"}}');
});
server.keepAliveTimeout = 65000;
server.listen(PORT, '127.0.0.1', () =>
  console.log(`anthropic mock upstream on http://127.0.0.1:${PORT} deltas=${CHUNKS - 1} bytes=${ALL.length}`));
