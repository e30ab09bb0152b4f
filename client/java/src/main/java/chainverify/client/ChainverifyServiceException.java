package chainverify.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.cert.CertificateException;
import java.util.Optional;

/**
 * The service gave no verdict: unreachable, deadline exceeded, or the call was refused
 * (INVALID_ARGUMENT, NOT_FOUND for an unknown policy, PERMISSION_DENIED, UNAVAILABLE when
 * the decision could not be audit-logged, ...).
 *
 * <p>The trust manager fails closed on it: the handshake fails, and nothing is verified
 * locally instead. The cause is the gRPC failure's own cause (e.g. a ConnectException), not
 * the StatusRuntimeException: gRPC-Java takes the first gRPC status in a cause chain as the
 * status of its call, so an application whose gRPC channel uses this trust manager would
 * otherwise see the verifier's status as its own backend's.
 */
public class ChainverifyServiceException extends CertificateException {
  private static final long serialVersionUID = 1L;

  private final String target;
  private final Status.Code code;

  public ChainverifyServiceException(String target, StatusRuntimeException failure) {
    super(describe(target, failure.getStatus()), failure.getStatus().getCause());
    this.target = target;
    this.code = failure.getStatus().getCode();
  }

  /** The service target that was called. */
  public String getTarget() {
    return target;
  }

  /** The gRPC status code of the failed call, e.g. {@code UNAVAILABLE}. */
  public Status.Code getCode() {
    return code;
  }

  /** The first ChainverifyServiceException in {@code t}'s cause chain, if any. */
  public static Optional<ChainverifyServiceException> find(Throwable t) {
    return Causes.find(t, ChainverifyServiceException.class);
  }

  private static String describe(String target, Status status) {
    String s = "chainverify: the service at " + target
        + " gave no verdict, so the peer is not trusted: " + status.getCode();
    return status.getDescription() == null ? s : s + ": " + status.getDescription();
  }
}
