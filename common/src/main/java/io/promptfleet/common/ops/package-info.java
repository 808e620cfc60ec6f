/** The HTTP endpoints every process serves to operators: liveness, readiness and Prometheus metrics. */
package io.promptfleet.common.ops;
