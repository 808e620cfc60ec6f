/** A rerunnable benchmark of the dispatcher: throughput, produce-to-assignment latency, heap under a backlog. */
package io.promptfleet.bench.dispatcher;
