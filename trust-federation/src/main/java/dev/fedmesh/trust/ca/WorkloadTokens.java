package dev.fedmesh.trust.ca;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.trust.CallerIdentity;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signed workload tokens for the local lab, standing in for Kubernetes service-account tokens: an
 * HMAC-SHA256 over {@code namespace, service account, expiry}, issued and verified with one key the
 * lab keeps. Format: {@code fmwt1.<base64url payload>.<base64url mac>}.
 */
public final class WorkloadTokens {
  private static final String PREFIX = "fmwt1";
  private static final int MIN_KEY_BYTES = 32;
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

  private final SecretKeySpec key;
  private final Clock clock;

  private WorkloadTokens(byte[] key, Clock clock) {
    this.key = new SecretKeySpec(key, "HmacSHA256");
    this.clock = clock;
  }

  /** Tokens signed with {@code key} (at least 32 bytes), checked against {@code clock}. */
  public static WorkloadTokens of(byte[] key, Clock clock) {
    requireNonNull(key, "key");
    requireNonNull(clock, "clock");
    if (key.length < MIN_KEY_BYTES) {
      throw new IllegalArgumentException(
          "key: " + key.length + " bytes (expected: >= " + MIN_KEY_BYTES + ")");
    }
    return new WorkloadTokens(key.clone(), clock);
  }

  /** A fresh random 32-byte key. */
  public static byte[] newKey() {
    byte[] key = new byte[MIN_KEY_BYTES];
    new SecureRandom().nextBytes(key);
    return key;
  }

  /** A token naming {@code identity}, valid for {@code ttl} from now. */
  public String issue(CallerIdentity identity, Duration ttl) {
    requireNonNull(identity, "identity");
    requireNonNull(ttl, "ttl");
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("ttl: " + ttl + " (expected: > 0)");
    }
    long expiry = clock.instant().plus(ttl).getEpochSecond();
    String payload =
        ENCODER.encodeToString(
            (identity.namespace() + "/" + identity.serviceAccount() + "/" + expiry)
                .getBytes(StandardCharsets.UTF_8));
    return PREFIX + "." + payload + "." + ENCODER.encodeToString(mac(payload));
  }

  /** An authenticator that accepts exactly the unexpired tokens these produce. */
  public CallerAuthenticator authenticator() {
    return credentials ->
        verify(
            credentials
                .bearerToken()
                .orElseThrow(
                    () ->
                        new AuthenticationException(
                            "authorization: missing (expected: Bearer <token>)")));
  }

  /** The identity a valid token names. */
  public CallerIdentity verify(String token) throws AuthenticationException {
    requireNonNull(token, "token");
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3 || !parts[0].equals(PREFIX)) {
      throw new AuthenticationException(
          "token: malformed (expected: " + PREFIX + ".<payload>.<signature>)");
    }
    byte[] presented;
    try {
      presented = DECODER.decode(parts[2]);
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("token: malformed signature (expected: base64url)");
    }
    if (!MessageDigest.isEqual(presented, mac(parts[1]))) {
      throw new AuthenticationException(
          "token: bad signature (expected: a token issued with this CA's key)");
    }
    String[] fields;
    try {
      fields = new String(DECODER.decode(parts[1]), StandardCharsets.UTF_8).split("/", -1);
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("token: malformed payload");
    }
    if (fields.length != 3) {
      throw new AuthenticationException("token: malformed payload");
    }
    Instant expiry;
    try {
      expiry = Instant.ofEpochSecond(Long.parseLong(fields[2]));
    } catch (NumberFormatException e) {
      throw new AuthenticationException("token: malformed expiry");
    }
    if (!clock.instant().isBefore(expiry)) {
      throw new AuthenticationException("token: expired at " + expiry + " (expected: unexpired)");
    }
    try {
      return CallerIdentity.of(fields[0], fields[1]);
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("token: " + e.getMessage());
    }
  }

  private byte[] mac(String payload) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return mac.doFinal((PREFIX + "." + payload).getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
