/**
 * An incremental, allocation-lean parser for {@code text/event-stream} (Server-Sent Events) as specified by the
 * WHATWG HTML standard, section "Server-sent events", fed with raw bytes by the caller. No dependencies beyond the
 * JDK.
 */
package io.promptfleet.worker.stream.sse;
