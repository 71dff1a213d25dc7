package dev.fedmesh.proxy.dns;

import io.netty.util.NetUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The pod's original resolvers, read from its {@code resolv.conf} as glibc reads it ({@code
 * resolv.conf(5)}): {@code nameserver} lines (at most three, glibc's {@code MAXNS}; port 53), and
 * the {@code timeout:n} (seconds per try, default 5) and {@code attempts:n} (rounds over the
 * nameservers, default 2) options. Everything else ({@code search}, {@code ndots}, ...) concerns
 * the application's resolver, not the resolvers the sidecar forwards to, and is skipped. Read when
 * the DNS listener's config changes, not per query.
 *
 * @param nameservers the resolvers, in the file's order
 * @param timeout how long one try waits
 * @param attempts how many rounds over the resolvers
 */
public record ResolvConf(List<InetSocketAddress> nameservers, Duration timeout, int attempts) {
  public static final Path DEFAULT_PATH = Path.of("/etc/resolv.conf");

  private static final int MAX_NAMESERVERS = 3;
  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
  private static final int DEFAULT_ATTEMPTS = 2;

  public ResolvConf {
    nameservers = List.copyOf(nameservers);
  }

  /** Reads {@code file}; a file that cannot be read is an error for the caller to report. */
  public static ResolvConf read(Path file) throws IOException {
    return parse(Files.readString(file));
  }

  /** Parses a resolv.conf's text; lines glibc would skip are skipped. */
  static ResolvConf parse(String text) {
    List<InetSocketAddress> nameservers = new ArrayList<>();
    Duration timeout = DEFAULT_TIMEOUT;
    int attempts = DEFAULT_ATTEMPTS;
    for (String line : text.split("\n")) {
      String trimmed = line.strip();
      if (trimmed.isEmpty() || trimmed.startsWith("#") || trimmed.startsWith(";")) {
        continue;
      }
      String[] words = trimmed.split("\\s+");
      switch (words[0]) {
        case "nameserver" -> {
          if (words.length >= 2 && nameservers.size() < MAX_NAMESERVERS) {
            String literal = words[1];
            // An IPv6 link-local nameserver may carry its zone (fe80::1%eth0).
            int zone = literal.indexOf('%');
            InetAddress address =
                NetUtil.createInetAddressFromIpAddressString(
                    zone < 0 ? literal : literal.substring(0, zone));
            if (address != null) {
              nameservers.add(new InetSocketAddress(address, 53));
            }
          }
        }
        case "options" -> {
          for (int i = 1; i < words.length; i++) {
            String option = words[i].toLowerCase(Locale.ROOT);
            if (option.startsWith("timeout:")) {
              int seconds = number(option.substring(8), 1, 30, (int) timeout.toSeconds());
              timeout = Duration.ofSeconds(seconds);
            } else if (option.startsWith("attempts:")) {
              attempts = number(option.substring(9), 1, 5, attempts);
            }
          }
        }
        default -> {}
      }
    }
    return new ResolvConf(nameservers, timeout, attempts);
  }

  /** glibc's bounds: timeout 1..30 s, attempts 1..5; a value it cannot read keeps the default. */
  private static int number(String text, int min, int max, int fallback) {
    try {
      return Math.max(min, Math.min(max, Integer.parseInt(text)));
    } catch (NumberFormatException e) {
      return fallback;
    }
  }
}
