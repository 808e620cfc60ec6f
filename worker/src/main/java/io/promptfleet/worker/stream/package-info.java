/** One attempt of a job: the HTTP request to the provider, the SSE stream and the records it publishes. */
package io.promptfleet.worker.stream;
