/**
 * Provider batch diversion: jobs that allow it and whose deadline leaves the route's slack are collected per route
 * and endpoint into provider batches (OpenAI Files + Batches, Anthropic Message Batches; one {@link BatchApi} per
 * protocol), submitted, polled, and answered from the batch's results at the batch price; membership and progress
 * are durable in the compacted {@code llm.batches} topic, written in the dispatcher's transactions. The dispatcher
 * thread owns the state ({@link Batcher}); the provider calls run on the batcher's own thread ({@link BatchCalls}).
 */
package io.promptfleet.dispatcher.batch;
