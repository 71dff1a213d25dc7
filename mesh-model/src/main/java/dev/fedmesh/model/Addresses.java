package dev.fedmesh.model;

import java.util.regex.Pattern;

/** Checks on network addresses that never resolve names (the model does no I/O). */
public final class Addresses {
  private static final Pattern IPV4 =
      Pattern.compile(
          "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
  private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:.]+");

  private Addresses() {}

  /** True for an IPv4 dotted quad or an IPv6 literal (without brackets). */
  public static boolean isIpLiteral(String address) {
    if (IPV4.matcher(address).matches()) {
      return true;
    }
    return address.contains(":") && IPV6.matcher(address).matches();
  }
}
