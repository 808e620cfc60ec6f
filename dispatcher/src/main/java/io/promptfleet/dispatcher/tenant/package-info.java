/**
 * Tenants' daily budgets: what each tenant has spent and reserved today (UTC), whether a job fits what is left, the
 * jobs waiting for budget, and the spend snapshots that carry it across a dispatcher failover.
 */
package io.promptfleet.dispatcher.tenant;
