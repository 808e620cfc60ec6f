/** The logging context (SLF4J MDC keys) that the owner threads set while they handle one job. */
package io.promptfleet.common.logging;
