/** The fleet's configuration: one YAML file loaded into immutable, validated records, with overrides from the environment. */
package io.promptfleet.common.config;
