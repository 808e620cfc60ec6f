package io.promptfleet.worker.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A TCP listener on loopback that a host under a connect storm looks like: its accept queue is full, so the kernel
 * drops new SYNs (Linux drops a SYN to a listener whose accept queue is full and counts it in {@code TcpExt
 * ListenOverflows}, {@code /proc/net/netstat}) and the client's connect runs into its timeout. A listen backlog of 1
 * holds two connections; {@link #fill()} fills it with connections of its own and checks that the next SYN is
 * dropped. {@link #admitOneAfterADrop(long)} lets exactly one client connection in and pipes it to a target (e.g. a
 * simulator), the queue full again before the dropped client's first SYN retransmission (1 s on Linux).
 *
 * <p>Thread-safe enough for a test: the test thread calls the methods; one daemon thread admits and two pipe each
 * admitted connection.
 */
final class SaturatedListener implements AutoCloseable {
  private static final Path NETSTAT = Path.of("/proc/net/netstat");

  private final ServerSocket server;
  private final InetSocketAddress address;
  private final InetSocketAddress target;
  private final List<Socket> sockets = new ArrayList<>();
  private final List<Socket> fillers = new ArrayList<>();

  SaturatedListener(int targetPort) throws IOException {
    this.server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    this.address = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
    this.target = new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort);
  }

  int port() {
    return server.getLocalPort();
  }

  /**
   * Fills the accept queue with connections that are never served, until a connect is not answered within 300 ms.
   *
   * @return how many fitted
   * @throws AssertionError when the kernel did not count that connect's SYN as dropped by a full accept queue
   */
  int fill() throws IOException {
    long before = listenOverflows();
    int n = 0;
    while (true) {
      Socket s = new Socket();
      try {
        s.connect(address, 300);
      } catch (SocketTimeoutException e) {
        s.close();
        break;
      }
      synchronized (fillers) {
        fillers.add(s);
      }
      n++;
    }
    if (listenOverflows() <= before) {
      throw new AssertionError("a connect timed out but the kernel counted no listen overflow");
    }
    return n;
  }

  /**
   * In the background: accepts the next connection and pipes it to the target, like any host (e.g. for a client's
   * first connection, whose TLS set-up is slow). {@link #closePiped()} closes it.
   */
  void passOne() {
    Thread t = new Thread(() -> {
      try {
        pipeToTarget(server.accept());
      } catch (IOException e) {
        if (!server.isClosed()) {
          throw new UncheckedIOException(e);
        }
      }
    }, "saturated-listener-pass");
    t.setDaemon(true);
    t.start();
  }

  /** Closes the connections piped so far (the client sees its connections closed by the host). */
  void closePiped() throws IOException {
    synchronized (sockets) {
      for (Socket s : sockets) {
        s.close();
      }
      sockets.clear();
    }
  }

  /** Accepts (and drops) the oldest queued filler connection: one client connection may get into the queue now. */
  void openOneSlot() throws IOException {
    server.accept().close();
  }

  /**
   * In the background: once the kernel has dropped a SYN (the queue holds the filler left and a client connection,
   * and a later client's connect waits in vain), accepts both, fills the queue again with two connections of its own,
   * and pipes the admitted client connection to the target: its TLS handshake, which waited, completes now.
   *
   * @param overflowsBefore {@link #listenOverflows()} before the clients started to connect
   */
  void admitOneAfterADrop(long overflowsBefore) {
    Thread t = new Thread(() -> {
      try {
        long until = System.nanoTime() + 30_000_000_000L;
        while (listenOverflows() <= overflowsBefore && System.nanoTime() < until) {
          Thread.sleep(2);
        }
        server.accept().close(); // the filler left
        Socket admitted = server.accept();
        for (int i = 0; i < 2; i++) {
          Socket filler = new Socket();
          filler.connect(address, 1_000);
          synchronized (fillers) {
            fillers.add(filler);
          }
        }
        pipeToTarget(admitted);
      } catch (IOException e) {
        if (!server.isClosed()) {
          throw new UncheckedIOException(e);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "saturated-listener-admit");
    t.setDaemon(true);
    t.start();
  }

  private void pipeToTarget(Socket client) throws IOException {
    Socket upstream = new Socket();
    upstream.connect(target, 5_000);
    synchronized (sockets) {
      sockets.add(client);
      sockets.add(upstream);
    }
    pipe(client.getInputStream(), upstream.getOutputStream());
    pipe(upstream.getInputStream(), client.getOutputStream());
  }

  private static void pipe(InputStream in, OutputStream out) {
    Thread t = new Thread(() -> {
      try (in; out) {
        in.transferTo(out);
      } catch (IOException e) {
        // the other side closed
      }
    }, "saturated-listener-pipe");
    t.setDaemon(true);
    t.start();
  }

  /** SYNs this network namespace dropped because a listener's accept queue was full ({@code TcpExt ListenOverflows}). */
  static long listenOverflows() {
    try {
      List<String> lines = Files.readAllLines(NETSTAT);
      for (int i = 0; i + 1 < lines.size(); i += 2) {
        List<String> names = Arrays.asList(lines.get(i).split(" "));
        if (names.get(0).equals("TcpExt:")) {
          return Long.parseLong(lines.get(i + 1).split(" ")[names.indexOf("ListenOverflows")]);
        }
      }
      throw new IllegalStateException("no TcpExt ListenOverflows in " + NETSTAT);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    synchronized (fillers) {
      for (Socket s : fillers) {
        s.close();
      }
    }
    synchronized (sockets) {
      for (Socket s : sockets) {
        s.close();
      }
    }
  }
}
