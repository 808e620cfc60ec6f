/** Implementation of the simulated provider: request parsing, fault resolution, SSE framing and statistics. */
package io.promptfleet.simulator.internal;
