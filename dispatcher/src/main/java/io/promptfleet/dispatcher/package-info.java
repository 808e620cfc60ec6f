/** The dispatcher process: reads jobs by priority and writes assignments for keys with capacity, transactionally. */
package io.promptfleet.dispatcher;
