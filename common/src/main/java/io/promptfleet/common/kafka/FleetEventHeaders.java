package io.promptfleet.common.kafka;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.jspecify.annotations.Nullable;

/**
 * The headers of a fleet event's record: its {@link FleetEventGist}, written by every producer of fleet events (the
 * workers, the dispatcher's delivery-limit release) so that the workers need not parse the JSON. Stateless and
 * thread-safe.
 */
public final class FleetEventHeaders {
  private FleetEventHeaders() {}

  /** New headers holding the event's gist. */
  public static RecordHeaders of(FleetEvent event) {
    return new RecordHeaders(new Header[] {new RecordHeader(FleetEventGist.HEADER, FleetEventGist.of(event).bytes())});
  }

  /**
   * The gist in a record's headers, or null when it has none (written before gists existed).
   *
   * @throws IllegalArgumentException when the header cannot be read
   */
  public static @Nullable FleetEventGist gist(Headers headers) {
    Header h = headers == null ? null : headers.lastHeader(FleetEventGist.HEADER);
    return h == null ? null : FleetEventGist.parse(h.value());
  }
}
