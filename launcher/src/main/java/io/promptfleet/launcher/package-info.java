/** The promptfleet command line: dev mode, the dispatcher and worker processes, and tools for users. */
package io.promptfleet.launcher;
