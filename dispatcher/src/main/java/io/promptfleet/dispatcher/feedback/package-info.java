/** The workers' feedback applied: lease releases, 429 cooldowns, disabled keys, remote budgets, cancels, archives. */
package io.promptfleet.dispatcher.feedback;
