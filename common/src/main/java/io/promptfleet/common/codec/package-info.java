/** The one place that owns the JSON mapper, and the parser that turns job records into jobs or clear rejections. */
package io.promptfleet.common.codec;
