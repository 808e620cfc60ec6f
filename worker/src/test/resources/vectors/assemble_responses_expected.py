#!/usr/bin/env python3
"""What a client must assemble from an OpenAI Responses API stream (the responses_*.sse vectors, whose expected
files say "protocol": "openai-responses"); assemble_expected.py calls it for them.

Independent of the deltas the worker assembles: what a client must end with is read from the *final* Response
object of the stream (response.completed / response.incomplete `response.output`; when a recording left that
array empty, from the response.output_item.done items), as the Responses API reference defines the output:

* content: the output_text parts of the message items, in output order, concatenated (null when there is none
  and the answer called functions or refused);
* reasoning: the summary_text parts (then reasoning_text parts) of the reasoning items, joined by a blank line
  ("\\n\\n"), null when none;
* refusal: the refusal parts concatenated, null when none;
* tool_calls: the function_call items in output order: call_id as id, name, arguments;
* finish_reason: tool_calls when a function was called, stop otherwise; incomplete: content_filter or length;
* usage: input_tokens -> prompt_tokens, output_tokens -> completion_tokens, total_tokens, and the details objects
  renamed (input_tokens_details -> prompt_tokens_details, output_tokens_details -> completion_tokens_details);
* model: the model of the first event that names one.

python3, stdlib only.
"""
import json


def events(sse):
    out = []
    for line in sse.split("\n"):
        if line.startswith("data:"):
            out.append(json.loads(line[5:].strip()))
    return out


def assemble(sse):
    evs = events(sse)
    model = next((e["response"]["model"] for e in evs if e.get("response", {}).get("model")), None)
    final = next(e["response"] for e in evs if e["type"] in ("response.completed", "response.incomplete"))
    output = final.get("output") or [e["item"] for e in evs if e["type"] == "response.output_item.done"]
    text, refusal, reasoning, calls = None, None, [], []
    for item in output:
        if item["type"] == "message":
            for part in item.get("content", []):
                if part["type"] == "output_text" and isinstance(part.get("text"), str):
                    text = (text or "") + part["text"]
                elif part["type"] == "refusal":
                    refusal = (refusal or "") + part["refusal"]
        elif item["type"] == "reasoning":
            reasoning += [p["text"] for p in item.get("summary", []) + item.get("content", []) or []]
        elif item["type"] == "function_call":
            calls.append({"id": item["call_id"], "type": "function",
                          "function": {"name": item["name"], "arguments": item["arguments"]}})
    if final["status"] == "incomplete":
        reason = (final.get("incomplete_details") or {}).get("reason")
        finish = "content_filter" if reason == "content_filter" else "length"
    else:
        finish = "tool_calls" if calls else "stop"
    u = final["usage"]
    usage = {"prompt_tokens": u["input_tokens"], "completion_tokens": u["output_tokens"],
             "total_tokens": u["total_tokens"]}
    if "input_tokens_details" in u:
        usage["prompt_tokens_details"] = u["input_tokens_details"]
    if "output_tokens_details" in u:
        usage["completion_tokens_details"] = u["output_tokens_details"]
    return {"protocol": "openai-responses", "content": text, "reasoning": "\n\n".join(reasoning) or None,
            "refusal": refusal, "tool_calls": calls, "function_call": None, "finish_reason": finish,
            "usage": usage, "logprobs_content_count": 0, "model": model}
