/**
 * Which pending job goes next: ready queues per model and priority lane, weighted with aging; retry backoff; the
 * back-pressure that pauses a lane's partitions when its buffer is full.
 */
package io.promptfleet.dispatcher.schedule;
