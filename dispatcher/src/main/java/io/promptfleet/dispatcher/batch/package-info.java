/**
 * Provider batch diversion: jobs that allow it and whose deadline leaves the route's slack are collected per route
 * into provider batches (OpenAI Files + Batches), submitted, polled, and answered from the batch's output at the
 * batch price; membership and progress are durable in the compacted {@code llm.batches} topic, written in the
 * dispatcher's transactions. The dispatcher thread owns the state ({@link Batcher}); the provider calls run on the
 * batcher's own thread ({@link BatchCalls}).
 */
package io.promptfleet.dispatcher.batch;
