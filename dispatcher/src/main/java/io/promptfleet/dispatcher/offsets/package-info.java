/** Which input offsets may be committed: per partition, only the prefix of records fully handled. */
package io.promptfleet.dispatcher.offsets;
