package chainverify.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import chainverify.v1.CertificateDetails;
import chainverify.v1.CertificateSource;
import chainverify.v1.RevocationResult;
import chainverify.v1.Status;
import chainverify.v1.Usage;
import chainverify.v1.Verdict;
import chainverify.v1.VerifyResponse;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.grpc.StatusRuntimeException;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * End to end: the openssl-made {@link TestPki}, the real chainverifyd ($CHAINVERIFYD),
 * `openssl s_server` sending leaf + intermediate + an unrelated certificate and stapling an
 * OCSP response, and the JDK's own HTTP clients and TLS servers. The JVM runs with
 * -Djdk.tls.client.enableStatusRequestExtension=true (run_tests.sh), as a service would.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ChainverifyTrustManagerTest {
  private Path dir;
  private TestPki pki;
  private TestProcesses servers;
  private String target;
  private ChainverifyClient client;
  private int goodPort;
  private int expiredPort;
  private int revokedPort;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("chainverify-java-");
    pki = TestPki.create(dir);
    servers = new TestProcesses(dir);
    Files.writeString(dir.resolve("policy.textproto"), "version: \"java\"\n"
        + "default_policy: \"p\"\n"
        + "policies { name: \"p\" trust_stores { pem_file: \"root.pem\" } profile: RFC5280 }\n");
    target = servers.startChainverifyd("plain", "--policy_file=" + dir.resolve("policy.textproto"));
    client = ChainverifyClient.newBuilder(target).usePlaintext()
        .label("client", "java-test").build();
    goodPort = servers.startSServer("leaf", "leaf.ocsp.der");
    expiredPort = servers.startSServer("expired", null);
    revokedPort = servers.startSServer("revoked", "revoked.ocsp.der");
  }

  @AfterAll
  void stop() throws IOException {
    if (client != null) {
      client.close();
    }
    if (servers != null) {
      servers.close();
    }
    if (dir != null) {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static List<String> subjects(List<CertificateDetails> chain) {
    return chain.stream().map(CertificateDetails::getSubject).collect(Collectors.toList());
  }

  /** The s_server's GET URL on {@code host}. */
  private static String okUrl(String host, int port) {
    return "https://" + host + ":" + port + "/" + TestProcesses.OK_PATH;
  }

  private HttpsURLConnection open(String url, SSLContext ctx) throws IOException {
    HttpsURLConnection conn = (HttpsURLConnection) new URL(url).openConnection();
    conn.setSSLSocketFactory(ctx.getSocketFactory());
    conn.setConnectTimeout(20_000);
    conn.setReadTimeout(20_000);
    return conn;
  }

  /** Fails the handshake of a GET to {@code url} and returns the verdict it carried. */
  private VerifyResponse rejected(String url) throws Exception {
    HttpsURLConnection conn = open(url, ChainverifySslContext.create(client));
    SSLHandshakeException e = assertThrows(SSLHandshakeException.class, conn::getInputStream);
    ChainverifyRejectedException rejection = ChainverifyRejectedException.find(e)
        .orElseThrow(() -> new AssertionError("no verdict in the exception chain", e));
    assertEquals(Verdict.REJECTED, rejection.getVerdict().getVerdict());
    assertTrue(rejection.getMessage().contains(rejection.getStatus().name()),
        rejection.getMessage());
    return rejection.getVerdict();
  }

  private static KeyManager[] keyManagers(Path p12) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(p12.toFile())) {
      ks.load(in, TestPki.P12_PASSWORD.toCharArray());
    }
    // SunX509 picks the key without looking at its extended key usage, so the test can
    // present a server-only certificate as a client.
    KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
    kmf.init(ks, TestPki.P12_PASSWORD.toCharArray());
    return kmf.getKeyManagers();
  }

  @Test
  void httpsUrlConnectionTrustedGivesThePrunedChain() throws Exception {
    HttpsURLConnection conn = open(okUrl("localhost", goodPort),
        ChainverifySslContext.create(client));
    try {
      assertEquals(200, conn.getResponseCode());
      String body = new String(conn.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(TestProcesses.OK_BODY, body);
      VerifyResponse v = ChainverifyTrustManager.verdict(conn.getSSLSession().orElseThrow())
          .orElseThrow(() -> new AssertionError("no verdict bound to the session"));
      assertEquals(Verdict.TRUSTED, v.getVerdict());
      assertEquals(Status.OK, v.getStatus());
      assertEquals("p", v.getPolicyName());
      assertTrue(v.getPolicyVersion().startsWith("java"), v.getPolicyVersion());
      // The peer sent leaf, intermediate, extra (in that order, all uploaded): the pruned
      // chain ends at the trusted root and leaves the extra out.
      assertEquals(List.of("CN=localhost", "CN=Java Test Intermediate", "CN=Java Test Root"),
          subjects(v.getVerifiedChainList()));
      assertEquals(List.of(0, 1, -1), v.getVerifiedChainList().stream()
          .map(CertificateDetails::getRequestIndex).collect(Collectors.toList()));
      assertEquals(CertificateSource.TRUST_STORE, v.getVerifiedChain(2).getSource());
      assertEquals(List.of(2), v.getUnusedCertificateIndicesList());
      // The stapled OCSP response reached the service and decided the leaf.
      RevocationResult leaf = v.getRevocation(0);
      assertEquals(0, leaf.getChainIndex());
      assertEquals(RevocationResult.State.GOOD, leaf.getState());
      assertTrue(leaf.getSource().startsWith("stapled-ocsp:"), leaf.getSource());
    } finally {
      conn.disconnect();
    }
  }

  @Test
  void httpClientTrustedOverSslEngine() throws Exception {
    HttpClient http = HttpClient.newBuilder()
        .sslContext(ChainverifySslContext.create(client))
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(20))
        .build();
    HttpResponse<String> resp = http.send(
        HttpRequest.newBuilder(URI.create(okUrl("localhost", goodPort)))
            .timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, resp.statusCode());
    assertEquals(TestProcesses.OK_BODY, resp.body());
    VerifyResponse v = ChainverifyTrustManager.verdict(resp.sslSession().orElseThrow())
        .orElseThrow(() -> new AssertionError("no verdict bound to the session"));
    assertEquals(Verdict.TRUSTED, v.getVerdict());
    assertEquals(List.of("CN=localhost", "CN=Java Test Intermediate", "CN=Java Test Root"),
        subjects(v.getVerifiedChainList()));
    assertEquals(List.of(2), v.getUnusedCertificateIndicesList());
  }

  @Test
  void verifyChainGivesTheRawVerdict() throws Exception {
    VerifyResponse v = client.verifyChain(
        List.of(pki.der("leaf.pem"), pki.der("extra.pem"), pki.der("inter.pem")),
        "localhost", Usage.SERVER_AUTH, null);
    assertEquals(Verdict.TRUSTED, v.getVerdict());
    assertEquals(List.of(1), v.getUnusedCertificateIndicesList());
    // REJECTED is an answer, not an exception.
    VerifyResponse alone = client.verifyChain(List.of(pki.der("leaf.pem")), "localhost",
        Usage.SERVER_AUTH, null);
    assertEquals(Verdict.REJECTED, alone.getVerdict());
    assertEquals(Status.NO_PATH_TO_TRUSTED_ANCHOR, alone.getStatus());
  }

  @Test
  void wrongHostNameFailsTheHandshake() throws Exception {
    // 127.0.0.1 is not in the leaf's subjectAltName (DNS:localhost only).
    VerifyResponse v = rejected(okUrl("127.0.0.1", goodPort));
    assertEquals(Status.NAME_MISMATCH, v.getStatus());
    assertEquals("name.mismatch", v.getErrors(0).getId());
  }

  /** With endpoint identification on, the SNI host name is the name checked. */
  @Test
  void sniHostNameIsTheNameChecked() throws Exception {
    SSLContext ctx = ChainverifySslContext.create(client);
    // Connected to 127.0.0.1 (not in the certificate) but asking for localhost: TRUSTED.
    try (SSLSocket s = socketTo(ctx, goodPort, "localhost")) {
      s.startHandshake();
      assertEquals(Verdict.TRUSTED,
          ChainverifyTrustManager.verdict(s.getSession()).orElseThrow().getVerdict());
    }
    try (SSLSocket s = socketTo(ctx, goodPort, "wrong.example.com")) {
      SSLHandshakeException e = assertThrows(SSLHandshakeException.class, s::startHandshake);
      assertEquals(Status.NAME_MISMATCH,
          ChainverifyRejectedException.find(e).orElseThrow().getStatus());
    }
  }

  private static SSLSocket socketTo(SSLContext ctx, int port, String sni) throws IOException {
    SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
    s.setSoTimeout(20_000);
    SSLParameters p = s.getSSLParameters();
    p.setEndpointIdentificationAlgorithm("HTTPS");
    p.setServerNames(List.of(new SNIHostName(sni)));
    s.setSSLParameters(p);
    return s;
  }

  /** Like the JDK's trust manager: no endpoint identification, no name checked. */
  @Test
  void withoutEndpointIdentificationNoNameIsChecked() throws Exception {
    SSLContext ctx = ChainverifySslContext.create(client);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", goodPort)) {
      s.setSoTimeout(20_000);
      s.startHandshake();
      assertEquals(Verdict.TRUSTED,
          ChainverifyTrustManager.verdict(s.getSession()).orElseThrow().getVerdict());
    }
  }

  @Test
  void expiredLeafFailsTheHandshake() throws Exception {
    VerifyResponse v = rejected(okUrl("localhost", expiredPort));
    assertEquals(Status.EXPIRED, v.getStatus());
    assertEquals("validity.expired", v.getErrors(0).getId());
    assertEquals("CN=expired.localhost", v.getBestAttemptedChain(0).getSubject());
  }

  @Test
  void revokedLeafFailsTheHandshakeTls13() throws Exception {
    assertRevoked("TLSv1.3");
  }

  /** TLS 1.2 sends the OCSP response after the Certificate message; JSSE waits for it. */
  @Test
  void revokedLeafFailsTheHandshakeTls12() throws Exception {
    assertRevoked("TLSv1.2");
  }

  private void assertRevoked(String protocol) throws Exception {
    SSLContext ctx = ChainverifySslContext.create(client);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("localhost", revokedPort)) {
      s.setSoTimeout(20_000);
      SSLParameters p = s.getSSLParameters();
      p.setProtocols(new String[] {protocol});
      p.setEndpointIdentificationAlgorithm("HTTPS");
      s.setSSLParameters(p);
      SSLHandshakeException e = assertThrows(SSLHandshakeException.class, s::startHandshake);
      VerifyResponse v = ChainverifyRejectedException.find(e).orElseThrow(
          () -> new AssertionError("no verdict in the exception chain", e)).getVerdict();
      assertEquals(Status.REVOKED, v.getStatus());
      assertEquals("revocation.revoked", v.getErrors(0).getId());
      RevocationResult leaf = v.getRevocation(0);
      assertEquals(RevocationResult.State.REVOKED, leaf.getState());
      assertTrue(leaf.getSource().startsWith("stapled-ocsp:"), leaf.getSource());
    }
  }

  @Test
  void serviceDownFailsClosed() throws Exception {
    String down = "127.0.0.1:" + TestProcesses.freePort();
    try (ChainverifyClient unreachable = ChainverifyClient.newBuilder(down).usePlaintext()
        .deadline(Duration.ofSeconds(30)).build()) {
      HttpsURLConnection conn = open(okUrl("localhost", goodPort),
          ChainverifySslContext.create(unreachable));
      long start = System.nanoTime();
      SSLHandshakeException e = assertThrows(SSLHandshakeException.class, conn::getInputStream);
      ChainverifyServiceException cause = ChainverifyServiceException.find(e).orElseThrow(
          () -> new AssertionError("no service error in the exception chain", e));
      assertEquals(io.grpc.Status.Code.UNAVAILABLE, cause.getCode());
      assertEquals(down, cause.getTarget());
      assertTrue(cause.getMessage().contains("the service at " + down + " gave no verdict"),
          cause.getMessage());
      assertFalse(ChainverifyRejectedException.find(e).isPresent());
      // Fail fast, not after the 30 s deadline.
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(15));
    }
  }

  /** A JDK TLS server that verifies its clients through checkClientTrusted (CLIENT_AUTH). */
  @Test
  void tlsServerAcceptsATrustedClient() throws Exception {
    ClientAuthResult r = clientAuthHandshake("client.p12");
    assertEquals(null, r.serverError, () -> "server failed: " + r.serverError);
    VerifyResponse v = r.serverVerdict;
    assertEquals(Verdict.TRUSTED, v.getVerdict());
    assertEquals(List.of("CN=Java Test Client", "CN=Java Test Intermediate", "CN=Java Test Root"),
        subjects(v.getVerifiedChainList()));
    assertEquals("hello", r.clientRead);
  }

  @Test
  void tlsServerRejectsAServerOnlyCertificateAsClient() throws Exception {
    ClientAuthResult r = clientAuthHandshake("leaf.p12");  // extendedKeyUsage serverAuth only
    ChainverifyRejectedException rejection = ChainverifyRejectedException.find(r.serverError)
        .orElseThrow(() -> new AssertionError("no verdict on the server side", r.serverError));
    assertEquals(Status.USAGE_NOT_ALLOWED, rejection.getStatus());
    assertEquals("usage.extended_key_usage", rejection.getVerdict().getErrors(0).getId());
    assertEquals(null, r.clientRead);
  }

  private static final class ClientAuthResult {
    VerifyResponse serverVerdict;
    Exception serverError;
    String clientRead;
  }

  /**
   * One handshake: a JDK SSLServerSocket (the leaf's key, needClientAuth, chainverify trust
   * manager) and a JDK client presenting {@code clientP12}, itself verifying the server
   * through chainverify.
   */
  private ClientAuthResult clientAuthHandshake(String clientP12) throws Exception {
    ClientAuthResult r = new ClientAuthResult();
    SSLContext serverCtx =
        ChainverifySslContext.create(client, keyManagers(dir.resolve("leaf.p12")));
    try (SSLServerSocket listener = (SSLServerSocket) serverCtx.getServerSocketFactory()
        .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      listener.setNeedClientAuth(true);
      CompletableFuture<Void> server = CompletableFuture.runAsync(() -> {
        try (SSLSocket s = (SSLSocket) listener.accept()) {
          s.setSoTimeout(20_000);
          s.startHandshake();
          r.serverVerdict = ChainverifyTrustManager.verdict(s.getSession()).orElse(null);
          s.getOutputStream().write("hello".getBytes(StandardCharsets.UTF_8));
        } catch (Exception e) {
          r.serverError = e;
        }
      });
      SSLContext clientCtx = ChainverifySslContext.create(client,
          keyManagers(dir.resolve(clientP12)));
      try (SSLSocket s = (SSLSocket) clientCtx.getSocketFactory()
          .createSocket("localhost", listener.getLocalPort())) {
        s.setSoTimeout(20_000);
        SSLParameters p = s.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        s.setSSLParameters(p);
        s.startHandshake();
        assertEquals(Verdict.TRUSTED,
            ChainverifyTrustManager.verdict(s.getSession()).orElseThrow().getVerdict());
        r.clientRead = new String(s.getInputStream().readNBytes(5), StandardCharsets.UTF_8);
      } catch (IOException e) {
        // TLS 1.3: the client's handshake completes before the server judges its
        // certificate; the server's alert then fails the client's read.
        r.clientRead = null;
      }
      server.get(30, TimeUnit.SECONDS);
    }
    return r;
  }

  /**
   * 50 handshakes at once, each with its own SSLContext (no session resumption, so each
   * asks the service), all through one ChainverifyClient: the service accepts one TCP
   * connection.
   */
  @Test
  void concurrentHandshakesShareOneChannel() throws Exception {
    final int n = 50;
    TestProcesses.CountingForwarder forwarder = servers.forwarder(target);
    HttpsServer https = HttpsServer.create(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), n);
    SSLContext serverCtx = SSLContext.getInstance("TLS");
    serverCtx.init(keyManagers(dir.resolve("leaf.p12")), null, null);
    https.setHttpsConfigurator(new HttpsConfigurator(serverCtx));
    https.createContext("/", ex -> {
      byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    ExecutorService handlers = Executors.newFixedThreadPool(4);
    https.setExecutor(handlers);
    https.start();
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try (ChainverifyClient shared = ChainverifyClient.newBuilder(forwarder.target())
        .usePlaintext().build()) {
      String url = "https://localhost:" + https.getAddress().getPort() + "/";
      CountDownLatch go = new CountDownLatch(1);
      List<Future<String>> results = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        results.add(pool.submit(() -> {
          HttpsURLConnection conn = open(url, ChainverifySslContext.create(shared));
          go.await();
          try {
            assertEquals(200, conn.getResponseCode());
            conn.getInputStream().readAllBytes();
            SSLSession session = conn.getSSLSession().orElseThrow();
            return ChainverifyTrustManager.verdict(session).orElseThrow().getDecisionId();
          } finally {
            conn.disconnect();
          }
        }));
      }
      go.countDown();
      Set<String> decisions = new HashSet<>();
      for (Future<String> f : results) {
        decisions.add(f.get(60, TimeUnit.SECONDS));
      }
      assertEquals(n, decisions.size(), "one decision per handshake");
      assertEquals(1, forwarder.acceptedConnections(),
          "TCP connections the service accepted from one ChainverifyClient");
    } finally {
      pool.shutdownNow();
      https.stop(0);
      handlers.shutdownNow();
    }
  }

  /**
   * chainverifyd over mutual TLS (--tls_cert, --tls_key, --tls_client_ca, a policy granting
   * the client's SPIFFE ID); then a gRPC-Java channel to that same server whose own TLS
   * handshake is verified by chainverify (an SSLContext from ChainverifySslContext).
   */
  @Test
  void mutualTlsToTheServiceAndGrpcJavaUsingTheTrustManager() throws Exception {
    Files.writeString(dir.resolve("tls-policy.textproto"), "version: \"java-tls\"\n"
        + "default_policy: \"p\"\n"
        + "policies { name: \"p\" trust_stores { pem_file: \"root.pem\" } profile: RFC5280 }\n"
        + "authorization { grants { identities: \"" + TestPki.CLIENT_ID + "\" "
        + "policies: \"*\" } }\n");
    String tlsTarget = servers.startChainverifyd("tls",
        "--policy_file=" + dir.resolve("tls-policy.textproto"),
        "--tls_cert=" + dir.resolve("leaf.chain.pem"), "--tls_key=" + dir.resolve("leaf.key"),
        "--tls_client_ca=" + dir.resolve("root.pem"));
    String byName = "localhost:" + tlsTarget.substring(tlsTarget.lastIndexOf(':') + 1);
    List<byte[]> chain = List.of(pki.der("leaf.pem"), pki.der("inter.pem"));

    try (ChainverifyClient mtls = ChainverifyClient.newBuilder(byName)
        .trustCertificates(dir.resolve("root.pem").toFile())
        .clientCertificate(dir.resolve("client.chain.pem").toFile(),
            dir.resolve("client.key").toFile())
        .build()) {
      VerifyResponse v = mtls.verifyChain(chain, "localhost", Usage.SERVER_AUTH, null);
      assertEquals(Verdict.TRUSTED, v.getVerdict());
      assertTrue(v.getPolicyVersion().startsWith("java-tls"), v.getPolicyVersion());
    }

    // Without a client certificate the service's handshake refuses the caller.
    try (ChainverifyClient anonymous = ChainverifyClient.newBuilder(byName)
        .trustCertificates(dir.resolve("root.pem").toFile())
        .deadline(Duration.ofSeconds(5)).build()) {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> anonymous.verifyChain(chain, "localhost", Usage.SERVER_AUTH, null));
      assertEquals(io.grpc.Status.Code.UNAVAILABLE, e.getStatus().getCode());
    }

    // gRPC-Java's TLS to the TLS service, verified by the plaintext service.
    KeyManager[] clientKey = keyManagers(dir.resolve("client.p12"));
    try (ChainverifyClient viaTrustManager = ChainverifyClient.newBuilder(byName)
        .sslContext(ChainverifySslContext.create(client, clientKey))
        .build()) {
      VerifyResponse v = viaTrustManager.verifyChain(chain, "localhost", Usage.SERVER_AUTH, null);
      assertEquals(Verdict.TRUSTED, v.getVerdict());
    }

    // The same, with the verifying service down: the gRPC call fails, chainverify's
    // refusal in its cause chain.
    String down = "127.0.0.1:" + TestProcesses.freePort();
    try (ChainverifyClient unreachable = ChainverifyClient.newBuilder(down).usePlaintext().build();
        ChainverifyClient viaDownTrustManager = ChainverifyClient.newBuilder(byName)
            .sslContext(ChainverifySslContext.create(unreachable, clientKey))
            .deadline(Duration.ofSeconds(5))
            .build()) {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> viaDownTrustManager.verifyChain(chain, "localhost", Usage.SERVER_AUTH, null));
      assertEquals(io.grpc.Status.Code.UNAVAILABLE, e.getStatus().getCode());
      assertNotEquals(null, ChainverifyServiceException.find(e).orElse(null),
          () -> "no chainverify error in the cause chain: " + e);
    }
  }
}
