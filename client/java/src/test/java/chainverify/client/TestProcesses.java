package chainverify.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/** The real servers the tests run on loopback, and their clean-up. */
final class TestProcesses implements AutoCloseable {
  private final Path dir;
  // Guarded by this: the shutdown hook may run while a test thread starts a server.
  private final List<Process> processes = new ArrayList<>();
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private boolean closed;
  private final Thread reaper = new Thread(this::killAll, "test-process-reaper");

  TestProcesses(Path dir) {
    this.dir = dir;
    // A JVM that dies without reaching close() still ends its servers.
    Runtime.getRuntime().addShutdownHook(reaper);
  }

  /**
   * Starts chainverifyd ($CHAINVERIFYD) on a free loopback port with these extra flags and
   * returns the "HOST:PORT" it printed on its first line.
   */
  String startChainverifyd(String name, String... flags) throws IOException {
    String binary = System.getenv("CHAINVERIFYD");
    if (binary == null || binary.isEmpty() || !Files.isExecutable(Path.of(binary))) {
      throw new IllegalStateException("set CHAINVERIFYD to the chainverifyd binary (got "
          + binary + ")");
    }
    List<String> cmd = new ArrayList<>(List.of(binary, "--listen=127.0.0.1:0",
        "--metrics_listen=", "--audit_log=" + dir.resolve(name + "-audit/audit.log")));
    cmd.addAll(List.of(flags));
    Path log = dir.resolve(name + ".log");
    Process p = new ProcessBuilder(cmd).directory(dir.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectError(log.toFile())
        .start();
    register(p);
    BufferedReader out = new BufferedReader(
        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> {
      try {
        return out.readLine();
      } catch (IOException e) {
        return null;
      }
    });
    String line;
    try {
      line = first.get(30, TimeUnit.SECONDS);
    } catch (InterruptedException | ExecutionException | TimeoutException e) {
      line = null;
    }
    if (line == null || !line.startsWith("listening on ")) {
      throw new IOException("chainverifyd " + name + " did not start (first line " + line
          + "): " + Files.readString(log));
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    Thread drain = new Thread(() -> {
      try {
        while (out.readLine() != null) {
          // discard
        }
      } catch (IOException e) {
        // the process ended
      }
    }, name + "-stdout");
    drain.setDaemon(true);
    drain.start();
    return line.substring("listening on ".length()).split(" ", 2)[0];
  }

  /** What the s_servers answer to GET /{@value #OK_PATH}: a whole HTTP response. */
  static final String OK_PATH = "ok.http";
  static final String OK_BODY = "hello from s_server";

  /**
   * Starts `openssl s_server -HTTP` on a free loopback port presenting NAME.pem, the chain
   * NAME.served.pem (intermediate + an unrelated certificate) and, when given, stapling
   * the OCSP response in {@code ocspDer}. It serves GET /{@value #OK_PATH} (-www's
   * close-delimited answer leaves java.net.http.HttpClient waiting). Returns the port.
   */
  int startSServer(String name, String ocspDer) throws IOException, InterruptedException {
    Files.writeString(dir.resolve(OK_PATH), "HTTP/1.0 200 ok\r\nContent-Type: text/plain\r\n"
        + "Content-Length: " + OK_BODY.length() + "\r\n\r\n" + OK_BODY);
    int port = freePort();
    List<String> cmd = new ArrayList<>(List.of("openssl", "s_server", "-accept",
        "127.0.0.1:" + port, "-cert", name + ".pem", "-key", name + ".key",
        "-cert_chain", name + ".served.pem", "-HTTP", "-quiet"));
    if (ocspDer != null) {
      cmd.addAll(List.of("-status_file", ocspDer));
    }
    Process p = new ProcessBuilder(cmd).directory(dir.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(dir.resolve("s_server-" + name + ".log").toFile())
        .start();
    register(p);
    waitForPort(port, p);
    return port;
  }

  /** A TCP forwarder to {@code target} ("HOST:PORT") that counts the connections it accepts. */
  CountingForwarder forwarder(String target) throws IOException {
    CountingForwarder f = new CountingForwarder(target);
    synchronized (this) {
      closeables.add(f);
    }
    return f;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void waitForPort(int port, Process p) throws IOException, InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
        return;
      } catch (IOException e) {
        if (!p.isAlive() || System.nanoTime() > until) {
          throw new IOException("nothing listens on port " + port, e);
        }
        Thread.sleep(50);
      }
    }
  }

  private synchronized void register(Process p) {
    if (closed) {
      p.destroyForcibly();
      throw new IllegalStateException("test servers are shutting down");
    }
    processes.add(p);
  }

  private synchronized void killAll() {
    closed = true;
    for (AutoCloseable c : closeables) {
      try {
        c.close();
      } catch (Exception e) {
        // best effort
      }
    }
    for (Process p : processes) {
      p.destroy();
    }
    for (Process p : processes) {
      try {
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor();
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    killAll();
    Runtime.getRuntime().removeShutdownHook(reaper);
  }

  /**
   * A real TCP listener on loopback that forwards each accepted connection to the target,
   * byte for byte, and counts the connections: how many the service was asked to accept.
   */
  static final class CountingForwarder implements AutoCloseable {
    private final ServerSocket listener;
    private final String host;
    private final int port;
    private final AtomicInteger accepted = new AtomicInteger();
    private final List<Socket> sockets = new ArrayList<>();

    CountingForwarder(String target) throws IOException {
      int colon = target.lastIndexOf(':');
      this.host = target.substring(0, colon);
      this.port = Integer.parseInt(target.substring(colon + 1));
      this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread t = new Thread(this::acceptLoop, "forwarder-accept");
      t.setDaemon(true);
      t.start();
    }

    /** "127.0.0.1:PORT" of the forwarder. */
    String target() {
      return "127.0.0.1:" + listener.getLocalPort();
    }

    int acceptedConnections() {
      return accepted.get();
    }

    private void acceptLoop() {
      while (!listener.isClosed()) {
        try {
          Socket in = listener.accept();
          accepted.incrementAndGet();
          synchronized (sockets) {
            sockets.add(in);
          }
          Socket out;
          try {
            out = new Socket(host, port);
          } catch (IOException e) {
            in.close();  // the target refused: the client sees its connection drop
            continue;
          }
          synchronized (sockets) {
            sockets.add(out);
          }
          pump(in, out);
          pump(out, in);
        } catch (IOException e) {
          // the listener was closed
        }
      }
    }

    private static void pump(Socket from, Socket to) {
      Thread t = new Thread(() -> {
        byte[] buf = new byte[16384];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
          int n;
          while ((n = in.read(buf)) >= 0) {
            out.write(buf, 0, n);
            out.flush();
          }
        } catch (IOException e) {
          // one side closed
        } finally {
          try {
            to.close();
            from.close();
          } catch (IOException e) {
            // already closed
          }
        }
      }, "forwarder-pump");
      t.setDaemon(true);
      t.start();
    }

    @Override
    public void close() throws IOException {
      listener.close();
      synchronized (sockets) {
        for (Socket s : sockets) {
          s.close();
        }
      }
    }
  }
}
