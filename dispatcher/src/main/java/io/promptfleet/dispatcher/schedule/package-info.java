/** Which pending job goes next: ready queues per priority. */
package io.promptfleet.dispatcher.schedule;
