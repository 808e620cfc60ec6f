/** Per-key capacity: leases, requests and tokens per rate window, cooldowns, disabled keys, token estimates. */
package io.promptfleet.dispatcher.capacity;
