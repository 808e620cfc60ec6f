/** Per-key capacity: leases for in-flight assignments and the choice of key. */
package io.promptfleet.dispatcher.capacity;
