package chainverify.client;

import chainverify.v1.ChainVerifierGrpc;
import chainverify.v1.Usage;
import chainverify.v1.VerifyRequest;
import chainverify.v1.VerifyResponse;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.File;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/**
 * One gRPC channel to the chainverify service ({@code proto/chainverify/v1/verifier.proto}).
 *
 * <p>Thread-safe. Create one per service target and share it: every trust manager and
 * every handshake that uses this client multiplexes its calls over the same HTTP/2
 * connection. {@link #close} releases the channel and its I/O thread.
 *
 * <pre>{@code
 * ChainverifyClient client = ChainverifyClient.newBuilder("chainverify.internal:50051")
 *     .trustCertificates(new File("/etc/chainverify/ca.pem"))                      // TLS
 *     .clientCertificate(new File("/etc/tls/me.pem"), new File("/etc/tls/me.key"))  // mTLS
 *     .label("service", "billing")
 *     .build();
 * }</pre>
 *
 * <p>Transport: TLS on the JDK's TLS stack by default, trusting the JDK's default roots
 * unless {@link Builder#trustCertificates} names others, or through any {@link
 * Builder#sslContext}; {@link Builder#usePlaintext} only for a loopback service (the server
 * refuses plaintext elsewhere). The channel runs on its own Netty event loop (one daemon
 * thread), so a handshake that blocks a Netty event loop of the application (delegated TLS
 * tasks run there by default) cannot stall the call it waits for.
 *
 * <p>Every call has a deadline ({@link Builder#deadline}, default 10 s). Calls fail fast:
 * while the service cannot be reached they end at once with {@code UNAVAILABLE} instead of
 * waiting for it.
 */
public final class ChainverifyClient implements AutoCloseable {
  /** The deadline of each call unless {@link Builder#deadline} sets another. */
  public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(10);

  private final String target;
  private final EventLoopGroup eventLoop;
  private final ManagedChannel channel;
  private final ChainVerifierGrpc.ChainVerifierBlockingStub stub;
  private final Duration deadline;
  private final String policy;
  private final Map<String, String> labels;

  /** {@code tls} null: plaintext. */
  private ChainverifyClient(Builder b, SSLContext tls) {
    this.target = b.target;
    this.deadline = b.deadline;
    this.policy = b.policy;
    this.labels = Map.copyOf(b.labels);
    this.eventLoop = new NioEventLoopGroup(1, new DefaultThreadFactory("chainverify-grpc", true));
    NettyChannelBuilder channelBuilder = NettyChannelBuilder.forTarget(target)
        .eventLoopGroup(eventLoop)
        .channelType(NioSocketChannel.class);
    if (tls == null) {
      channelBuilder.usePlaintext();
    } else {
      channelBuilder.sslContext(GrpcTls.forGrpc(tls));
    }
    this.channel = channelBuilder.build();
    this.stub = ChainVerifierGrpc.newBlockingStub(channel);
  }

  /**
   * A builder for a client of the service at {@code target}: {@code "host:port"} or any
   * gRPC target URI ({@code "dns:///chainverify.internal:50051"}).
   */
  public static Builder newBuilder(String target) {
    return new Builder(target);
  }

  /** The target this client calls, as given to {@link #newBuilder}. */
  public String target() {
    return target;
  }

  /**
   * The Verify RPC as is, under this client's deadline. A REJECTED verdict is a normal
   * answer.
   *
   * @throws StatusRuntimeException when the service gave no verdict (unreachable, deadline
   *     exceeded, INVALID_ARGUMENT for a malformed request, ...)
   */
  public VerifyResponse verify(VerifyRequest request) {
    return stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS).verify(request);
  }

  /**
   * Verifies the certificates a peer sent, with this client's policy and labels.
   *
   * @param certificates DER certificates, leaf first, in the order received
   * @param peerName the name the caller meant to reach (DNS name or IP address); empty or
   *     null checks no name
   * @param usage {@link Usage#SERVER_AUTH} for a TLS server, {@link Usage#CLIENT_AUTH} for a
   *     TLS client
   * @param stapledOcsp the OCSP response the peer stapled (DER), or null
   * @throws StatusRuntimeException as {@link #verify}
   */
  public VerifyResponse verifyChain(
      List<byte[]> certificates, String peerName, Usage usage, byte[] stapledOcsp) {
    VerifyRequest.Builder request =
        VerifyRequest.newBuilder()
            .setPeerName(peerName == null ? "" : peerName)
            .setUsage(usage)
            .setPolicy(policy)
            .putAllLabels(labels);
    for (byte[] der : certificates) {
      request.addCertificates(ByteString.copyFrom(der));
    }
    if (stapledOcsp != null && stapledOcsp.length > 0) {
      request.setStapledOcspResponse(ByteString.copyFrom(stapledOcsp));
    }
    return verify(request.build());
  }

  /** Shuts the channel down (in-flight calls get up to 5 s) and stops its I/O thread. */
  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    } finally {
      eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  @Override
  public String toString() {
    return "ChainverifyClient(" + target + ")";
  }

  /** Configures a {@link ChainverifyClient}. Not thread-safe. */
  public static final class Builder {
    private final String target;
    private boolean plaintext;
    private File trustCertificates;
    private File clientCertificateChain;
    private File clientKey;
    private SSLContext sslContext;
    private Duration deadline = DEFAULT_DEADLINE;
    private String policy = "";
    private final Map<String, String> labels = new LinkedHashMap<>();

    private Builder(String target) {
      this.target = Objects.requireNonNull(target, "target");
      if (target.isEmpty()) {
        throw new IllegalArgumentException("chainverify: empty service target");
      }
    }

    /** Plaintext: only for a service on loopback (chainverifyd refuses it elsewhere). */
    public Builder usePlaintext() {
      this.plaintext = true;
      return this;
    }

    /** TLS, trusting the PEM CA certificates in {@code pemFile} for the service's certificate. */
    public Builder trustCertificates(File pemFile) {
      this.trustCertificates = Objects.requireNonNull(pemFile);
      return this;
    }

    /**
     * Mutual TLS: present this PEM certificate chain (leaf first) and PKCS#8 PEM key to a
     * service started with {@code --tls_client_ca}; its policy file grants policies by the
     * certificate's URI (SPIFFE ID) or DNS SANs.
     */
    public Builder clientCertificate(File certificateChainPem, File privateKeyPem) {
      this.clientCertificateChain = Objects.requireNonNull(certificateChainPem);
      this.clientKey = Objects.requireNonNull(privateKeyPem);
      return this;
    }

    /**
     * TLS through this JDK SSLContext: its trust managers verify the service (the host of the
     * target is the name checked), its key managers present the client certificate. Replaces
     * {@link #trustCertificates} and {@link #clientCertificate}.
     */
    public Builder sslContext(SSLContext sslContext) {
      this.sslContext = Objects.requireNonNull(sslContext);
      return this;
    }

    /** The deadline of each call (default {@link #DEFAULT_DEADLINE}); must be positive. */
    public Builder deadline(Duration deadline) {
      if (deadline.isNegative() || deadline.isZero()) {
        throw new IllegalArgumentException("chainverify: deadline must be positive: " + deadline);
      }
      this.deadline = deadline;
      return this;
    }

    /** The trust policy to ask for by name; empty (default) means the service's default. */
    public Builder policy(String policy) {
      this.policy = Objects.requireNonNull(policy);
      return this;
    }

    /**
     * A label copied into the audit record of every decision, e.g. ("service", "billing").
     * The service accepts at most 16, keys and values at most 128 bytes each.
     */
    public Builder label(String key, String value) {
      labels.put(Objects.requireNonNull(key), Objects.requireNonNull(value));
      return this;
    }

    /**
     * Builds the client. The channel connects on the first call.
     *
     * @throws IOException when a certificate or key file cannot be read
     * @throws IllegalStateException for contradictory transport settings
     */
    public ChainverifyClient build() throws IOException {
      boolean tlsFiles = trustCertificates != null || clientCertificateChain != null;
      if (sslContext != null && (plaintext || tlsFiles)) {
        throw new IllegalStateException("chainverify: sslContext() replaces usePlaintext(), "
            + "trustCertificates() and clientCertificate(); set one");
      }
      if (plaintext && tlsFiles) {
        throw new IllegalStateException(
            "chainverify: usePlaintext() contradicts trustCertificates()/clientCertificate()");
      }
      SSLContext tls = sslContext;
      if (tls == null && !plaintext) {
        tls = GrpcTls.jdkContext(trustCertificates, clientCertificateChain, clientKey);
      }
      return new ChainverifyClient(this, tls);
    }
  }
}
