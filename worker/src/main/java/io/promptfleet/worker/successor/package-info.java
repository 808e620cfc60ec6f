/**
 * Successor assignments (issue 13): held until the lease whose key slot they take over has ended its call. Pure
 * logic; the worker acts on its answers.
 */
package io.promptfleet.worker.successor;
