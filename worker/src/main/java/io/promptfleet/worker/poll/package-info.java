/** The one owner of each share consumer: lanes that acquire assignments, acknowledge and renew them. */
package io.promptfleet.worker.poll;
