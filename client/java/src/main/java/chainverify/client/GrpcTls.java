package chainverify.client;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ChainverifyJdkAlpn;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.File;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/** TLS for the gRPC channel to the service, on the JDK's TLS stack. */
final class GrpcTls {
  private GrpcTls() {}

  /** A JDK SSLContext trusting {@code trustPem} (null: the JDK's roots), presenting a key. */
  static SSLContext jdkContext(File trustPem, File certChainPem, File keyPem) throws SSLException {
    SslContextBuilder b = SslContextBuilder.forClient().sslProvider(SslProvider.JDK);
    if (trustPem != null) {
      b.trustManager(trustPem);
    }
    if (certChainPem != null) {
      b.keyManager(certChainPem, keyPem);
    }
    return ((JdkSslContext) b.build()).context();
  }

  /** A Netty client context over {@code context} that negotiates HTTP/2 ("h2") by ALPN. */
  static SslContext forGrpc(SSLContext context) {
    // What GrpcSslContexts configures for ALPN.
    ApplicationProtocolConfig h2 = new ApplicationProtocolConfig(
        ApplicationProtocolConfig.Protocol.ALPN,
        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, "h2");
    try {
      return new JdkSslContext(context, true, null, IdentityCipherSuiteFilter.INSTANCE, h2,
          ClientAuth.NONE, null, false);
    } catch (UnsupportedOperationException e) {
      // Debian 12's Netty has no public JDK ALPN (see ChainverifyJdkAlpn).
      return ChainverifyJdkAlpn.clientContext(context, "h2");
    }
  }
}
