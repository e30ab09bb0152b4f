package chainverify.client;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Optional;
import java.util.Set;

/** Walks a cause chain (JSSE and HTTP clients wrap a trust manager's exception). */
final class Causes {
  private Causes() {}

  static <T extends Throwable> Optional<T> find(Throwable t, Class<T> type) {
    Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    for (Throwable c = t; c != null && seen.add(c); c = c.getCause()) {
      if (type.isInstance(c)) {
        return Optional.of(type.cast(c));
      }
    }
    return Optional.empty();
  }
}
