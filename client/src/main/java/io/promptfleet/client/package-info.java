/** The Java client of the fleet: submit jobs, receive their chunks as they arrive and a future of their result. */
package io.promptfleet.client;
