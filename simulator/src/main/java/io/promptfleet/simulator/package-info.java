/**
 * A simulated OpenAI-compatible chat-completions provider (Vert.x HTTP server with SSE streaming and
 * deterministic fault modes) for dev mode, integration tests and benchmarks.
 */
package io.promptfleet.simulator;
