/** The registry factory shared by every process; each module lists its own meters in one enum. */
package io.promptfleet.common.metrics;
