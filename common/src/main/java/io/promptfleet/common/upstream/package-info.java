/**
 * The provider request bodies a job becomes, in one place: the worker's live calls and the dispatcher's batch input
 * files send the same body for the same job. Pure functions of the contract's records; no I/O, no Kafka, no Vert.x.
 */
package io.promptfleet.common.upstream;
