package chainverify.client;

import chainverify.v1.Usage;
import chainverify.v1.Verdict;
import chainverify.v1.VerifyResponse;
import io.grpc.StatusRuntimeException;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A JSSE trust manager that lets the chainverify service decide.
 *
 * <pre>{@code
 * SSLContext ctx = ChainverifySslContext.create(client);  // was SSLContext.getDefault()
 * HttpClient http = HttpClient.newBuilder().sslContext(ctx).build();
 * }</pre>
 *
 * <p>For each handshake it uploads the certificates the peer sent ({@link
 * X509Certificate#getEncoded()}, in the order received), the OCSP response the peer
 * stapled for its leaf ({@link ExtendedSSLSession#getStatusResponses()}), the peer name and
 * the usage, and accepts the peer only when the verdict is TRUSTED.
 *
 * <p><b>Peer name.</b> The service checks the name exactly when the JDK's own trust manager
 * would: when the socket's or engine's {@link SSLParameters#getEndpointIdentificationAlgorithm
 * endpoint identification algorithm} is set ({@code "HTTPS"}: HttpsURLConnection with its
 * default hostname verifier, java.net.http.HttpClient, gRPC-Java). The name is the SNI host
 * name the client sent, or else the host the connection was opened to ({@link
 * SSLSession#getPeerHost()}); with identification on and neither known the handshake fails.
 * Without identification no name is checked (OkHttp, for one, checks it afterwards with its
 * own HostnameVerifier). Clients ({@link #checkClientTrusted}) are verified with usage
 * CLIENT_AUTH and no name.
 *
 * <p><b>Stapled OCSP.</b> A server staples only when the client sends the status_request
 * extension, which JSSE does when {@code jdk.tls.client.enableStatusRequestExtension} is true:
 * the default of the OpenJDK 17 this is tested on; run older JDKs with {@code
 * -Djdk.tls.client.enableStatusRequestExtension=true}. Without it no response is uploaded
 * and the policy's other revocation sources (if any) apply. TLS 1.2 sends the response after
 * the certificates; JSSE calls the trust manager once it has arrived.
 *
 * <p><b>The verdict.</b> On TRUSTED the {@link VerifyResponse} (pruned chain, unused
 * certificates, revocation answers, decision id) is bound to the handshake's {@link
 * SSLSession} before the handshake completes; {@link #verdict(SSLSession)} reads it from the
 * session the application gets afterwards (HttpsURLConnection#getSSLSession, HttpResponse
 * #sslSession, SSLSocket#getSession). No shared state: concurrent handshakes cannot see each
 * other's verdicts. JSSE calls no trust manager when it resumes a session; the resumed
 * session keeps the values bound to it (OpenJDK 17), so it carries the verdict of the
 * handshake that created it. Otherwise the handshake fails with a
 * {@link ChainverifyRejectedException} (verdict attached) or, when the service gives no
 * verdict, a {@link ChainverifyServiceException}: fail closed, never a local fallback.
 *
 * <p>Each check blocks the handshake thread for one RPC (at most the client's deadline).
 * Thread-safe; share one instance, or one {@link ChainverifyClient}, per process.
 */
public final class ChainverifyTrustManager extends X509ExtendedTrustManager {
  /** The {@link SSLSession} value name under which the TRUSTED verdict is bound. */
  public static final String VERDICT_SESSION_KEY = "chainverify.verdict";

  private static final X509Certificate[] NO_ISSUERS = new X509Certificate[0];

  private final ChainverifyClient client;

  public ChainverifyTrustManager(ChainverifyClient client) {
    this.client = Objects.requireNonNull(client, "client");
  }

  /**
   * The TRUSTED verdict of the handshake that established {@code session}; empty when this
   * trust manager did not verify it (another trust manager, or a check with no socket or
   * engine).
   */
  public static Optional<VerifyResponse> verdict(SSLSession session) {
    Object v = session.getValue(VERDICT_SESSION_KEY);
    return v instanceof VerifyResponse ? Optional.of((VerifyResponse) v) : Optional.empty();
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    SSLSocket ssl = socket instanceof SSLSocket ? (SSLSocket) socket : null;
    SSLSession session = ssl == null ? null : ssl.getHandshakeSession();
    check(chain, Usage.SERVER_AUTH, peerName(ssl == null ? null : ssl.getSSLParameters(), session),
        session);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    SSLSession session = engine == null ? null : engine.getHandshakeSession();
    check(chain, Usage.SERVER_AUTH,
        peerName(engine == null ? null : engine.getSSLParameters(), session), session);
  }

  /** Without a socket or engine: no name is checked and the verdict is not kept. */
  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain, Usage.SERVER_AUTH, "", null);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain, Usage.CLIENT_AUTH, "",
        socket instanceof SSLSocket ? ((SSLSocket) socket).getHandshakeSession() : null);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain, Usage.CLIENT_AUTH, "", engine == null ? null : engine.getHandshakeSession());
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain, Usage.CLIENT_AUTH, "", null);
  }

  /**
   * None: the service decides, so a server asking for client certificates names no CAs
   * (TLS 1.2 and 1.3 allow an empty certificate_authorities list).
   */
  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return NO_ISSUERS;  // empty, so nothing to copy
  }

  private void check(X509Certificate[] chain, Usage usage, String peerName, SSLSession session)
      throws CertificateException {
    if (chain == null || chain.length == 0) {
      // The X509TrustManager contract.
      throw new IllegalArgumentException("chainverify: the peer sent no certificate");
    }
    List<byte[]> ders = new ArrayList<>(chain.length);
    for (X509Certificate c : chain) {
      ders.add(c.getEncoded());
    }
    VerifyResponse verdict;
    try {
      verdict = client.verifyChain(ders, peerName, usage, stapledOcsp(session, usage));
    } catch (StatusRuntimeException e) {
      throw new ChainverifyServiceException(client.target(), e);
    }
    if (verdict.getVerdict() != Verdict.TRUSTED) {
      throw new ChainverifyRejectedException(verdict);
    }
    if (session != null) {
      try {
        session.putValue(VERDICT_SESSION_KEY, verdict);
      } catch (UnsupportedOperationException e) {
        // A provider whose handshake session takes no values: verdict(session) stays empty.
      }
    }
  }

  /** The name to check, following the JDK's X509TrustManagerImpl (see the class comment). */
  private static String peerName(SSLParameters params, SSLSession session)
      throws CertificateException {
    String algorithm = params == null ? null : params.getEndpointIdentificationAlgorithm();
    if (algorithm == null || algorithm.isEmpty()) {
      return "";
    }
    String sni = sniHostName(params.getServerNames());
    if (sni == null && session instanceof ExtendedSSLSession) {
      sni = sniHostName(((ExtendedSSLSession) session).getRequestedServerNames());
    }
    if (sni != null) {
      return sni;
    }
    String host = session == null ? null : session.getPeerHost();
    if (host == null || host.isEmpty()) {
      throw new CertificateException(
          "chainverify: endpoint identification (" + algorithm
              + ") is on but the peer's host name is unknown (no SNI, no peer host)");
    }
    // An IPv6 literal may come bracketed from a URL.
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return host;
  }

  private static String sniHostName(List<SNIServerName> names) {
    if (names != null) {
      for (SNIServerName n : names) {
        if (n instanceof SNIHostName) {
          return ((SNIHostName) n).getAsciiName();
        }
      }
    }
    return null;
  }

  /** The OCSP response stapled for the leaf (RFC 6066 / RFC 6961), or null. */
  private static byte[] stapledOcsp(SSLSession session, Usage usage) {
    if (usage != Usage.SERVER_AUTH || !(session instanceof ExtendedSSLSession)) {
      return null;
    }
    List<byte[]> responses;
    try {
      responses = ((ExtendedSSLSession) session).getStatusResponses();
    } catch (UnsupportedOperationException e) {
      return null;
    }
    return responses == null || responses.isEmpty() ? null : responses.get(0);
  }
}
