/**
 * The one place that owns the JSON mapper, and the parser that turns job records into jobs or clear rejections.
 * Null-marked: a type is non-null unless it says {@code @Nullable}.
 */
@NullMarked
package io.promptfleet.common.codec;

import org.jspecify.annotations.NullMarked;
