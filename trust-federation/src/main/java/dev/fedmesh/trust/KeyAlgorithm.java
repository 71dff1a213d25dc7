package dev.fedmesh.trust;

import static java.util.Objects.requireNonNull;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The key types fedmesh generates for CAs and workloads; ECDSA P-256 is the default. */
public enum KeyAlgorithm {
  EC_P256("ec-p256"),
  EC_P384("ec-p384"),
  RSA_2048("rsa-2048"),
  RSA_4096("rsa-4096");

  private final String flag;

  KeyAlgorithm(String flag) {
    this.flag = flag;
  }

  /** The name used on the command line, e.g. {@code ec-p256}. */
  public String flag() {
    return flag;
  }

  /** Parses a command-line name such as {@code rsa-4096}. */
  public static KeyAlgorithm parse(String flag) {
    requireNonNull(flag, "flag");
    for (KeyAlgorithm algorithm : values()) {
      if (algorithm.flag.equals(flag)) {
        return algorithm;
      }
    }
    throw new IllegalArgumentException(
        "keyAlgorithm: '"
            + flag
            + "' (expected: one of "
            + Arrays.stream(values()).map(KeyAlgorithm::flag).collect(Collectors.joining(", "))
            + ")");
  }

  /** Generates a fresh key pair of this type. */
  public KeyPair generate() {
    try {
      KeyPairGenerator generator;
      switch (this) {
        case EC_P256, EC_P384 -> {
          generator = KeyPairGenerator.getInstance("EC");
          generator.initialize(new ECGenParameterSpec(this == EC_P256 ? "secp256r1" : "secp384r1"));
        }
        default -> {
          generator = KeyPairGenerator.getInstance("RSA");
          generator.initialize(
              new RSAKeyGenParameterSpec(
                  this == RSA_2048 ? 2048 : 4096, RSAKeyGenParameterSpec.F4));
        }
      }
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate a " + flag + " key: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return flag;
  }
}
