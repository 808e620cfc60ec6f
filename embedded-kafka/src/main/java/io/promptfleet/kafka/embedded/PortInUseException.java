package io.promptfleet.kafka.embedded;

/**
 * The port the broker was asked to listen on is already taken by another process. The message names
 * the host and port, and is meant to be shown to a person as it is.
 */
public final class PortInUseException extends EmbeddedKafkaException {
    private static final long serialVersionUID = 1L;

    private final String host;
    private final int port;

    public PortInUseException(String host, int port, Throwable cause) {
        super("Cannot start the embedded Kafka broker: port " + port + " on " + host
                + " is already in use (is another Kafka broker running?). "
                + "Stop that process or choose another port (--port <n>, or 0 for any free port).", cause);
        this.host = host;
        this.port = port;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }
}
