package dev.fedmesh.proxy.dns;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.data.dns.v3.DnsTable.DnsVirtualDomain;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The names the sidecar answers itself, from Envoy's inline DNS table ({@code
 * envoy.data.dns.v3.DnsTable}): each virtual domain's IPv4 and IPv6 addresses and answer TTL, and
 * the known suffixes under which a name missing from the table does not exist. Names compare
 * without case and without a trailing dot. As in Envoy, a name whose first label is {@code *}
 * stands for every name below it at any depth, an exact name wins over a wildcard and a longer
 * wildcard over a shorter. Immutable; a new config builds a new table.
 */
public final class DnsTable {
  /** Envoy's default answer TTL is 300 s; fedmesh answers mesh names with 30 s. */
  static final int DEFAULT_TTL_SECONDS = 30;

  /** Envoy's lower bound on {@code answer_ttl}. */
  private static final int MIN_TTL_SECONDS = 30;

  private static final Pattern LABEL =
      Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?");

  public static final DnsTable EMPTY = new DnsTable(Map.of(), Map.of(), List.of());

  /**
   * One name the sidecar answers.
   *
   * @param name the name as the table keys it (lower case, no trailing dot)
   * @param ipv4 the A records' addresses, in the table's order
   * @param ipv6 the AAAA records' addresses, in the table's order
   * @param ttlSeconds the answers' TTL
   */
  public record Entry(
      String name, List<Inet4Address> ipv4, List<Inet6Address> ipv6, int ttlSeconds) {
    public Entry {
      ipv4 = List.copyOf(ipv4);
      ipv6 = List.copyOf(ipv6);
    }
  }

  private final Map<String, Entry> exact;

  /** Wildcard entries by the suffix their {@code *.} stands before. */
  private final Map<String, Entry> wildcards;

  private final List<StringMatcher> knownSuffixes;

  private DnsTable(
      Map<String, Entry> exact, Map<String, Entry> wildcards, List<StringMatcher> knownSuffixes) {
    this.exact = Map.copyOf(exact);
    this.wildcards = Map.copyOf(wildcards);
    this.knownSuffixes = List.copyOf(knownSuffixes);
  }

  /** The table of a config that {@link #problems} found nothing wrong with. */
  static DnsTable of(io.envoyproxy.envoy.data.dns.v3.DnsTable table) {
    Map<String, Entry> exact = new HashMap<>();
    Map<String, Entry> wildcards = new HashMap<>();
    for (DnsVirtualDomain domain : table.getVirtualDomainsList()) {
      String name = key(domain.getName());
      List<Inet4Address> ipv4 = new ArrayList<>();
      List<Inet6Address> ipv6 = new ArrayList<>();
      for (String literal : domain.getEndpoint().getAddressList().getAddressList()) {
        InetAddress address = NetUtil.createInetAddressFromIpAddressString(literal);
        if (address instanceof Inet4Address v4) {
          ipv4.add(v4);
        } else if (address instanceof Inet6Address v6) {
          ipv6.add(v6);
        }
      }
      int ttl =
          domain.hasAnswerTtl()
              ? (int) Math.min(Integer.MAX_VALUE, Durations.toSeconds(domain.getAnswerTtl()))
              : DEFAULT_TTL_SECONDS;
      Entry entry = new Entry(name, ipv4, ipv6, ttl);
      if (name.startsWith("*.")) {
        wildcards.put(name.substring(2), entry);
      } else {
        exact.put(name, entry);
      }
    }
    @SuppressWarnings("deprecation") // Envoy's semantics for it are the contract's
    List<StringMatcher> suffixes = table.getKnownSuffixesList();
    return new DnsTable(exact, wildcards, suffixes);
  }

  /**
   * What is wrong with a table, each problem naming its field under {@code where} (such as {@code
   * server_config.inline_dns_table.}).
   */
  @SuppressWarnings("deprecation")
  static List<String> problems(io.envoyproxy.envoy.data.dns.v3.DnsTable table, String where) {
    List<String> problems = new ArrayList<>();
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < table.getVirtualDomainsCount(); i++) {
      DnsVirtualDomain domain = table.getVirtualDomains(i);
      String at = where + "virtual_domains[" + i + "].";
      String name = domain.getName();
      if (name.isEmpty()) {
        problems.add(at + "name: empty (expected: a DNS name)");
      } else if (!validName(name)) {
        problems.add(
            at
                + "name: '"
                + name
                + "' (expected: a DNS name: labels of letters, digits, '-' and '_' up to 63"
                + " characters, 253 in all, the first label may be '*')");
      } else {
        Integer earlier = seen.putIfAbsent(key(name), i);
        if (earlier != null) {
          problems.add(
              at
                  + "name: '"
                  + name
                  + "' (expected: each name once; virtual_domains["
                  + earlier
                  + "] has it)");
        }
      }
      if (!domain.hasEndpoint()) {
        problems.add(at + "endpoint: missing (expected: an address_list)");
      } else if (!domain.getEndpoint().hasAddressList()) {
        problems.add(
            at
                + "endpoint: "
                + domain.getEndpoint().getEndpointConfigCase()
                + " (expected: address_list; cluster_name and service_list are not supported)");
      } else {
        List<String> addresses = domain.getEndpoint().getAddressList().getAddressList();
        if (addresses.isEmpty()) {
          problems.add(at + "endpoint.address_list.address: empty (expected: at least one)");
        }
        for (int a = 0; a < addresses.size(); a++) {
          if (NetUtil.createInetAddressFromIpAddressString(addresses.get(a)) == null
              || addresses.get(a).contains("%")) {
            problems.add(
                at
                    + "endpoint.address_list.address["
                    + a
                    + "]: '"
                    + addresses.get(a)
                    + "' (expected: an IPv4 or IPv6 address)");
          }
        }
      }
      if (domain.hasAnswerTtl() && Durations.toSeconds(domain.getAnswerTtl()) < MIN_TTL_SECONDS) {
        problems.add(
            at
                + "answer_ttl: "
                + Durations.toString(domain.getAnswerTtl())
                + " (expected: at least "
                + MIN_TTL_SECONDS
                + "s, Envoy's bound)");
      }
    }
    for (int i = 0; i < table.getKnownSuffixesCount(); i++) {
      StringMatcher matcher = table.getKnownSuffixes(i);
      String at = where + "known_suffixes[" + i + "]: ";
      switch (matcher.getMatchPatternCase()) {
        case EXACT, PREFIX, SUFFIX, CONTAINS -> {
          if (pattern(matcher).isEmpty()) {
            problems.add(at + "empty " + matcher.getMatchPatternCase() + " (expected: a name)");
          }
        }
        default ->
            problems.add(
                at
                    + matcher.getMatchPatternCase()
                    + " (expected: exact, prefix, suffix or contains)");
      }
    }
    if (table.getExternalRetryCount() > 3) {
      problems.add(
          where
              + "external_retry_count: "
              + table.getExternalRetryCount()
              + " (expected: 0..3, Envoy's bound)");
    }
    return problems;
  }

  /** The entry answering {@code key} (lower case, no trailing dot), if any. */
  Optional<Entry> lookup(String key) {
    Entry entry = exact.get(key);
    if (entry != null) {
      return Optional.of(entry);
    }
    if (!wildcards.isEmpty()) {
      // Suffixes from the longest: the first wildcard found is the most specific.
      for (int dot = key.indexOf('.'); dot >= 0; dot = key.indexOf('.', dot + 1)) {
        entry = wildcards.get(key.substring(dot + 1));
        if (entry != null) {
          return Optional.of(entry);
        }
      }
    }
    return Optional.empty();
  }

  /**
   * Whether {@code key} falls under a known suffix, so that, missing from the table, it does not
   * exist (NXDOMAIN) rather than being asked upstream. Patterns compare without case.
   */
  boolean underKnownSuffix(String key) {
    for (StringMatcher matcher : knownSuffixes) {
      String pattern = pattern(matcher);
      boolean matches =
          switch (matcher.getMatchPatternCase()) {
            case EXACT -> key.equals(pattern);
            case PREFIX -> key.startsWith(pattern);
            case SUFFIX -> key.endsWith(pattern);
            case CONTAINS -> key.contains(pattern);
            default -> false;
          };
      if (matches) {
        return true;
      }
    }
    return false;
  }

  /** Every entry, by name (wildcards as {@code *.suffix}). */
  public List<Entry> entries() {
    TreeMap<String, Entry> all = new TreeMap<>(exact);
    wildcards.values().forEach(entry -> all.put(entry.name(), entry));
    return List.copyOf(all.values());
  }

  /** The known suffixes as written, for status pages. */
  public List<String> knownSuffixes() {
    return knownSuffixes.stream()
        .map(m -> m.getMatchPatternCase().name().toLowerCase(Locale.ROOT) + ":" + pattern(m))
        .toList();
  }

  public boolean isEmpty() {
    return exact.isEmpty() && wildcards.isEmpty() && knownSuffixes.isEmpty();
  }

  /** A name as the table keys it: lower case (RFC 4343), without a trailing dot. */
  static String key(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
  }

  private static String pattern(StringMatcher matcher) {
    String pattern =
        switch (matcher.getMatchPatternCase()) {
          case EXACT -> matcher.getExact();
          case PREFIX -> matcher.getPrefix();
          case SUFFIX -> matcher.getSuffix();
          case CONTAINS -> matcher.getContains();
          default -> "";
        };
    return matcher.getMatchPatternCase() == StringMatcher.MatchPatternCase.PREFIX
            || matcher.getMatchPatternCase() == StringMatcher.MatchPatternCase.CONTAINS
        ? pattern.toLowerCase(Locale.ROOT)
        : key(pattern);
  }

  private static boolean validName(String name) {
    String bare = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    if (bare.isEmpty() || bare.length() > 253) {
      return false;
    }
    String[] labels = bare.split("\\.", -1);
    for (int i = 0; i < labels.length; i++) {
      if (!(LABEL.matcher(labels[i]).matches()
          || (i == 0 && labels[i].equals("*") && labels.length > 1))) {
        return false;
      }
    }
    return true;
  }
}
