package io.netty.handler.ssl;

import io.netty.buffer.ByteBufAllocator;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/**
 * ALPN over the JDK's own TLS (the Java 9+ API), for a Netty build that lacks it.
 *
 * <p>gRPC over TLS needs ALPN to agree on "h2". Debian 12's libnetty-java 4.1.48 is built
 * without JdkAlpnApplicationProtocolNegotiator (upstream's JDK ALPN entry point), so
 * Netty's public API refuses ALPN on the JDK provider ("JDK provider does not support ALPN
 * protocol") and gRPC-Java cannot speak TLS; Debian's netty-tcnative cannot stand in (its
 * JNI library name does not match what Netty loads). That build still contains
 * Java9SslEngine, which negotiates ALPN through {@code
 * SSLParameters.setApplicationProtocols}; this class lives in Netty's package to reach it.
 * {@code chainverify.client.GrpcTls} calls it only when Netty's public API refuses ALPN, so
 * a complete Netty never loads it.
 */
@SuppressWarnings("deprecation")  // JdkApplicationProtocolNegotiator: what JdkSslContext takes
public final class ChainverifyJdkAlpn {
  private ChainverifyJdkAlpn() {}

  private static final JdkApplicationProtocolNegotiator.SslEngineWrapperFactory JAVA9_ALPN =
      new JdkApplicationProtocolNegotiator.AllocatorAwareSslEngineWrapperFactory() {
        @Override
        SSLEngine wrapSslEngine(SSLEngine engine, ByteBufAllocator alloc,
            JdkApplicationProtocolNegotiator negotiator, boolean isServer) {
          return new Java9SslEngine(engine, negotiator, isServer);
        }
      };

  /**
   * A client SslContext over {@code context} offering {@code protocols} by ALPN; like
   * upstream's ALPN with NO_ADVERTISE / ACCEPT, the caller checks what was agreed (gRPC does).
   */
  public static SslContext clientContext(SSLContext context, String... protocols) {
    JdkApplicationProtocolNegotiator alpn = new JdkBaseApplicationProtocolNegotiator(JAVA9_ALPN,
        JdkBaseApplicationProtocolNegotiator.NO_FAIL_SELECTOR_FACTORY,
        JdkBaseApplicationProtocolNegotiator.NO_FAIL_SELECTION_LISTENER_FACTORY, protocols);
    return new JdkSslContext(context, true, null, IdentityCipherSuiteFilter.INSTANCE, alpn,
        ClientAuth.NONE, null, false);
  }
}
