package chainverify.client;

import java.security.GeneralSecurityException;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/**
 * SSLContexts whose peers are verified by the chainverify service ({@link
 * ChainverifyTrustManager}). A service switches over by replacing the SSLContext it hands its
 * HTTP or gRPC client (or server) with one of these; nothing else changes.
 *
 * <pre>{@code
 * SSLContext ctx = ChainverifySslContext.create(client);
 * HttpsURLConnection conn = (HttpsURLConnection) url.openConnection();
 * conn.setSSLSocketFactory(ctx.getSocketFactory());
 * HttpClient.newBuilder().sslContext(ctx).build();
 * }</pre>
 *
 * <p>Clients that take a trust manager rather than an SSLContext get {@link
 * ChainverifyTrustManager} itself: gRPC-Java {@code
 * TlsChannelCredentials.newBuilder().trustManager(new ChainverifyTrustManager(client))},
 * OkHttp {@code sslSocketFactory(ctx.getSocketFactory(), trustManager)}, Netty {@code new
 * JdkSslContext(ctx, true, ClientAuth.NONE)}.
 */
public final class ChainverifySslContext {
  private ChainverifySslContext() {}

  /** A TLS client context with no client certificate. */
  public static SSLContext create(ChainverifyClient client) throws GeneralSecurityException {
    return create(client, null);
  }

  /**
   * A TLS context presenting {@code keyManagers}' certificate (a server, or a client doing
   * mutual TLS) and verifying the peer through {@code client}.
   */
  public static SSLContext create(ChainverifyClient client, KeyManager[] keyManagers)
      throws GeneralSecurityException {
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(keyManagers, new TrustManager[] {new ChainverifyTrustManager(client)}, null);
    return ctx;
  }
}
