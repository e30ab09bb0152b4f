package chainverify.client;

import chainverify.v1.CertificateError;
import chainverify.v1.Status;
import chainverify.v1.VerifyResponse;
import java.security.cert.CertificateException;
import java.util.Optional;

/**
 * The service answered, and its verdict is not TRUSTED.
 *
 * <p>JSSE ends the handshake with a fatal alert and throws an {@code SSLHandshakeException}
 * whose cause chain holds this exception; HTTP clients may wrap that again. {@link
 * #find(Throwable)} walks the chain. Match on {@link #getStatus()} and the verdict's {@code
 * errors[].id}; the message is for humans.
 */
public class ChainverifyRejectedException extends CertificateException {
  private static final long serialVersionUID = 1L;

  private final VerifyResponse verdict;

  public ChainverifyRejectedException(VerifyResponse verdict) {
    super(describe(verdict));
    this.verdict = verdict;
  }

  /** The whole answer: status, best attempted chain, errors, decision id. */
  public VerifyResponse getVerdict() {
    return verdict;
  }

  /** The verdict's primary reason, e.g. {@link Status#NAME_MISMATCH}. */
  public Status getStatus() {
    return verdict.getStatus();
  }

  /** The first ChainverifyRejectedException in {@code t}'s cause chain, if any. */
  public static Optional<ChainverifyRejectedException> find(Throwable t) {
    return Causes.find(t, ChainverifyRejectedException.class);
  }

  private static String describe(VerifyResponse v) {
    StringBuilder s =
        new StringBuilder("chainverify: ")
            .append(v.getVerdict())
            .append(' ')
            .append(v.getStatus());
    if (v.getErrorsCount() > 0) {
      CertificateError e = v.getErrors(0);
      s.append(" (").append(e.getId());
      if (!e.getDiagnostic().isEmpty()) {
        s.append(": ").append(e.getDiagnostic());
      }
      s.append(')');
    }
    return s.append(", decision ").append(v.getDecisionId()).toString();
  }
}
