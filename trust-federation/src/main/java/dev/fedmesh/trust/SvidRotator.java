package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a workload's certificate fresh: gets one at start, renews it at the policy's point of its
 * lifetime with a new key, and retries with backoff on failure while the old certificate keeps
 * being served, so that there is never a moment without one once the first has arrived.
 *
 * <p>All state changes happen on the given scheduler (a single thread, or a test's fake clock);
 * {@link #current()} may be read from any thread.
 */
public final class SvidRotator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SvidRotator.class);

  private final CsrSigner signer;
  private final ScheduledExecutorService scheduler;
  private final Clock clock;
  private final RandomGenerator random;
  private final RotationPolicy policy;
  private final KeyAlgorithm keyAlgorithm;
  private final Duration ttl;
  private final List<Consumer<SvidCredential>> listeners = new CopyOnWriteArrayList<>();

  private volatile SvidCredential current;
  private volatile Instant nextAttempt;
  private volatile int failures;
  private volatile boolean closed;
  private ScheduledFuture<?> pending;
  private long attempt;

  private SvidRotator(Builder builder) {
    this.signer = builder.signer;
    this.scheduler = builder.scheduler;
    this.clock = builder.clock;
    this.random = builder.random;
    this.policy = builder.policy;
    this.keyAlgorithm = builder.keyAlgorithm;
    this.ttl = builder.ttl;
  }

  /** A rotator that asks {@code signer} for certificates and runs on {@code scheduler}. */
  public static Builder builder(CsrSigner signer, ScheduledExecutorService scheduler) {
    return new Builder(signer, scheduler);
  }

  /** Asks for the first certificate now. */
  public void start() {
    scheduler.execute(() -> scheduleAttempt(Duration.ZERO));
  }

  /** The certificate to present now; empty until the first one arrives. */
  public Optional<SvidCredential> current() {
    return Optional.ofNullable(current);
  }

  /** Called on the scheduler with every new certificate, the first one included. */
  public void addListener(Consumer<SvidCredential> listener) {
    listeners.add(requireNonNull(listener, "listener"));
  }

  /** When the next request is due; empty while one is in flight or after close. */
  public Optional<Instant> nextAttempt() {
    return Optional.ofNullable(nextAttempt);
  }

  /** Failed requests since the last success. */
  public int consecutiveFailures() {
    return failures;
  }

  @Override
  public void close() {
    closed = true;
    nextAttempt = null;
    try {
      scheduler.execute(
          () -> {
            if (pending != null) {
              pending.cancel(false);
            }
            nextAttempt = null;
          });
    } catch (RejectedExecutionException e) {
      // The scheduler is already shut down: nothing of ours can run any more.
    }
  }

  private void scheduleAttempt(Duration delay) {
    if (closed) {
      return;
    }
    if (pending != null) {
      pending.cancel(false);
    }
    Duration wait = delay.isNegative() ? Duration.ZERO : delay;
    nextAttempt = clock.instant().plus(wait);
    pending = scheduler.schedule(this::request, wait.toNanos(), TimeUnit.NANOSECONDS);
  }

  private void request() {
    if (closed) {
      return;
    }
    nextAttempt = null;
    long thisAttempt = ++attempt;
    KeyPair keys;
    byte[] csr;
    CompletableFuture<X509Svid> response;
    try {
      keys = keyAlgorithm.generate();
      csr = WorkloadCsr.create(keys);
      response = requireNonNull(signer.sign(csr, ttl), "signer returned null");
    } catch (RuntimeException e) {
      scheduler.execute(() -> onResult(thisAttempt, null, null, e));
      return;
    }
    ScheduledFuture<?> timeout =
        scheduler.schedule(
            () ->
                onResult(
                    thisAttempt,
                    null,
                    null,
                    new TimeoutException(
                        "no answer from the CA within "
                            + Durations.format(policy.requestTimeout()))),
            policy.requestTimeout().toNanos(),
            TimeUnit.NANOSECONDS);
    response.whenComplete(
        (svid, error) -> {
          timeout.cancel(false);
          scheduler.execute(() -> onResult(thisAttempt, keys, svid, error));
        });
  }

  private void onResult(long thisAttempt, KeyPair keys, X509Svid svid, Throwable error) {
    if (closed || thisAttempt != attempt) {
      return; // closed, or a late answer to an attempt that already timed out
    }
    attempt++; // any later answer to this attempt is stale
    Instant now = clock.instant();
    String problem = error != null ? describe(error) : check(keys, svid, now);
    if (problem != null) {
      failures++;
      Duration delay = backoff(failures);
      log.warn(
          "certificate request failed ({} in a row): {}; retrying in {}{}",
          failures,
          problem,
          Durations.format(delay),
          current == null
              ? ""
              : ", still serving the certificate valid until " + current.svid().notAfter());
      scheduleAttempt(delay);
      return;
    }
    SvidCredential credential = SvidCredential.of(svid, keys.getPrivate());
    current = credential;
    failures = 0;
    Instant renewal = renewalTime(svid);
    log.info(
        "new certificate for {}, valid until {}; renewing at {}",
        svid.id(),
        svid.notAfter(),
        renewal);
    for (Consumer<SvidCredential> listener : listeners) {
      try {
        listener.accept(credential);
      } catch (RuntimeException e) {
        log.warn("a certificate listener failed", e);
      }
    }
    // A certificate cut short (its CA expires soon) must not turn renewal into a busy loop.
    Duration untilRenewal = Duration.between(now, renewal);
    scheduleAttempt(
        untilRenewal.compareTo(policy.backoffBase()) < 0 ? policy.backoffBase() : untilRenewal);
  }

  private String check(KeyPair keys, X509Svid svid, Instant now) {
    if (svid == null) {
      return "the CA answered without a certificate";
    }
    if (!Arrays.equals(svid.leaf().getPublicKey().getEncoded(), keys.getPublic().getEncoded())) {
      return "the CA's certificate is for another key (expected: the key of our request)";
    }
    if (!now.isBefore(svid.notAfter())) {
      return "the CA's certificate expired at " + svid.notAfter();
    }
    return null;
  }

  private Instant renewalTime(X509Svid svid) {
    Instant start = svid.notBefore();
    long lifetimeMillis = Duration.between(start, svid.notAfter()).toMillis();
    double fraction = policy.renewAt() - random.nextDouble() * policy.jitter();
    return start.plusMillis((long) (lifetimeMillis * fraction));
  }

  /** Exponential, half of it random ("equal jitter"), so a failing CA is never hammered. */
  private Duration backoff(int failures) {
    long base = policy.backoffBase().toMillis();
    long ceiling = policy.backoffMax().toMillis();
    int shift = Math.min(failures - 1, 30);
    long exponential = base << shift;
    long capped = exponential <= 0 || exponential > ceiling ? ceiling : exponential;
    long half = capped / 2;
    return Duration.ofMillis(half + (long) (random.nextDouble() * (capped - half)));
  }

  private static String describe(Throwable error) {
    Throwable cause = error;
    while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
  }

  /** Builds an {@link SvidRotator}. */
  public static final class Builder {
    private final CsrSigner signer;
    private final ScheduledExecutorService scheduler;
    private Clock clock = Clock.systemUTC();
    private RandomGenerator random = RandomGenerator.getDefault();
    private RotationPolicy policy = RotationPolicy.of();
    private KeyAlgorithm keyAlgorithm = KeyAlgorithm.EC_P256;
    private Duration ttl = Duration.ZERO;

    private Builder(CsrSigner signer, ScheduledExecutorService scheduler) {
      this.signer = requireNonNull(signer, "signer");
      this.scheduler = requireNonNull(scheduler, "scheduler");
    }

    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    public Builder random(RandomGenerator random) {
      this.random = requireNonNull(random, "random");
      return this;
    }

    public Builder policy(RotationPolicy policy) {
      this.policy = requireNonNull(policy, "policy");
      return this;
    }

    public Builder keyAlgorithm(KeyAlgorithm keyAlgorithm) {
      this.keyAlgorithm = requireNonNull(keyAlgorithm, "keyAlgorithm");
      return this;
    }

    /** The lifetime to ask for; {@link Duration#ZERO} (the default) asks for the CA's default. */
    public Builder ttl(Duration ttl) {
      this.ttl = requireNonNull(ttl, "ttl");
      return this;
    }

    public SvidRotator build() {
      return new SvidRotator(this);
    }
  }
}
