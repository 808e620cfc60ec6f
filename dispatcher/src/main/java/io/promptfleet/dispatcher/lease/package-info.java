/** The lease ledger: every lease ends once (released, archived, expired or undone) and every job is answered once. */
package io.promptfleet.dispatcher.lease;
