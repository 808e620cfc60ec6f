/**
 * The provider request bodies a job becomes and the reading of the providers' whole answers, in one place: the
 * worker's live calls and the dispatcher's batches send the same body for the same job and read the same answer the
 * same way. Pure functions of the contract's records; no I/O, no Kafka, no Vert.x.
 */
package io.promptfleet.common.upstream;
