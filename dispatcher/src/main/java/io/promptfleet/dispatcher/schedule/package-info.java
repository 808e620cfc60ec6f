/** Which pending job goes next: ready queues per model and priority lane, weighted with aging; retry backoff. */
package io.promptfleet.dispatcher.schedule;
