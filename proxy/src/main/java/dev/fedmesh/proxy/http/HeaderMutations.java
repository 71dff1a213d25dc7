package dev.fedmesh.proxy.http;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The {@code *_headers_to_add} / {@code *_headers_to_remove} of one or more config levels (cluster
 * weight, route, virtual host, route configuration), compiled once per config and applied in order.
 * Each level is applied as Envoy's {@code HeaderParser} applies it: its removals first, then its
 * additions, whose conditions ({@code ADD_IF_ABSENT}, {@code OVERWRITE_IF_EXISTS}) are judged on
 * the headers as they were before any of the level's additions; overwrites are made before appends.
 * Values are literals: Envoy's substitution commands are refused at config time.
 */
final class HeaderMutations {
  static final HeaderMutations NONE = new HeaderMutations(new Level[0]);

  private final Level[] levels;

  private HeaderMutations(Level[] levels) {
    this.levels = levels;
  }

  /** One config level's removals and additions. */
  record Level(String[] remove, Entry[] add) {
    static final Level EMPTY = new Level(new String[0], new Entry[0]);

    boolean isEmpty() {
      return remove.length == 0 && add.length == 0;
    }
  }

  /** One header to add, with Envoy's append action already resolved from {@code append}. */
  record Entry(String name, String value, HeaderAppendAction action) {}

  /**
   * Compiles one level.
   *
   * @param field the config field the additions come from, e.g. {@code
   *     virtual_hosts[0].routes[2].request_headers_to_add}; removals are named after it
   * @throws IllegalArgumentException naming the field and the expectation
   */
  static Level level(
      List<HeaderValueOption> add, String addField, List<String> remove, String removeField) {
    if (add.isEmpty() && remove.isEmpty()) {
      return Level.EMPTY;
    }
    String[] removals = new String[remove.size()];
    for (int i = 0; i < remove.size(); i++) {
      String name = remove.get(i).toLowerCase(Locale.ROOT);
      String at = removeField + "[" + i + "]";
      checkName(name, at);
      if (name.startsWith(":") || name.equals("host")) {
        // Envoy's HeaderParser refuses the same: request finalization needs these headers.
        throw new IllegalArgumentException(
            at + ": '" + name + "' (expected: not a pseudo-header or host; Envoy refuses too)");
      }
      removals[i] = name;
    }
    Entry[] entries = new Entry[add.size()];
    for (int i = 0; i < add.size(); i++) {
      HeaderValueOption option = add.get(i);
      String at = addField + "[" + i + "]";
      String name = option.getHeader().getKey().toLowerCase(Locale.ROOT);
      checkName(name, at + ".header.key");
      if (name.startsWith(":") || name.equals("host")) {
        throw new IllegalArgumentException(
            at
                + ".header.key: '"
                + name
                + "' (expected: not a pseudo-header or host; use the route's prefix_rewrite,"
                + " regex_rewrite or host_rewrite_literal)");
      }
      if (!option.getHeader().getRawValue().isEmpty()) {
        throw new IllegalArgumentException(
            at + ".header.raw_value: set (expected: header.value; raw_value is not supported)");
      }
      HeaderAppendAction action = option.getAppendAction();
      if (option.hasAppend()) {
        if (action != HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD) {
          throw new IllegalArgumentException(
              at + ": append and append_action both set (expected: only append_action)");
        }
        action =
            option.getAppend().getValue()
                ? HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD
                : HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD;
      }
      if (action == HeaderAppendAction.UNRECOGNIZED) {
        throw new IllegalArgumentException(
            at
                + ".append_action: "
                + option.getAppendActionValue()
                + " (expected: APPEND_IF_EXISTS_OR_ADD, ADD_IF_ABSENT, OVERWRITE_IF_EXISTS_OR_ADD"
                + " or OVERWRITE_IF_EXISTS)");
      }
      String value = literal(option.getHeader().getValue(), at + ".header.value");
      if (value.isEmpty() && !option.getKeepEmptyValue()) {
        continue; // Envoy adds nothing for an empty value unless keep_empty_value is set
      }
      entries[i] = new Entry(name, value, action);
    }
    List<Entry> kept = new ArrayList<>();
    for (Entry entry : entries) {
      if (entry != null) {
        kept.add(entry);
      }
    }
    return new Level(removals, kept.toArray(new Entry[0]));
  }

  /** The levels applied one after the other, empty ones left out. */
  static HeaderMutations of(Level... levels) {
    List<Level> kept = new ArrayList<>();
    for (Level level : levels) {
      if (!level.isEmpty()) {
        kept.add(level);
      }
    }
    return kept.isEmpty() ? NONE : new HeaderMutations(kept.toArray(new Level[0]));
  }

  boolean isEmpty() {
    return levels.length == 0;
  }

  /** Applies every level to {@code headers}, in order. */
  void apply(HttpHeaders headers) {
    for (Level level : levels) {
      apply(level, headers);
    }
  }

  private static void apply(Level level, HttpHeaders headers) {
    for (String name : level.remove()) {
      headers.remove(name);
    }
    Entry[] add = level.add();
    // Which additions take effect is decided before any is made (Envoy evaluates them all first).
    long chosen = 0;
    boolean[] many = add.length > 64 ? new boolean[add.length] : null;
    for (int i = 0; i < add.length; i++) {
      Entry entry = add[i];
      boolean take =
          switch (entry.action()) {
            case ADD_IF_ABSENT -> !headers.contains(entry.name());
            case OVERWRITE_IF_EXISTS -> headers.contains(entry.name());
            default -> true;
          };
      if (take) {
        if (many != null) {
          many[i] = true;
        } else {
          chosen |= 1L << i;
        }
      }
    }
    for (int i = 0; i < add.length; i++) {
      if (isChosen(chosen, many, i) && overwrites(add[i].action())) {
        headers.set(add[i].name(), add[i].value());
      }
    }
    for (int i = 0; i < add.length; i++) {
      if (isChosen(chosen, many, i) && !overwrites(add[i].action())) {
        headers.add(add[i].name(), add[i].value());
      }
    }
  }

  private static boolean isChosen(long chosen, boolean[] many, int i) {
    return many != null ? many[i] : (chosen & (1L << i)) != 0;
  }

  private static boolean overwrites(HeaderAppendAction action) {
    return action == HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD
        || action == HeaderAppendAction.OVERWRITE_IF_EXISTS;
  }

  /** An RFC 9110 field name: a token. */
  private static void checkName(String name, String at) {
    if (name.isEmpty()) {
      throw new IllegalArgumentException(at + ": empty (expected: a header name)");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean token =
          (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9')
              || "!#$%&'*+-.^_`|~".indexOf(c) >= 0
              || (i == 0 && c == ':');
      if (!token) {
        throw new IllegalArgumentException(
            at + ": '" + name + "' (expected: a header name, RFC 9110 token characters)");
      }
    }
  }

  /**
   * The value as sent: Envoy reads {@code %%} as a percent sign and {@code %COMMAND%} as a
   * substitution, which this proxy does not evaluate.
   */
  private static String literal(String value, String at) {
    StringBuilder out = null;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '\r' || c == '\n' || c == 0) {
        throw new IllegalArgumentException(
            at + ": contains CR, LF or NUL (expected: a header value)");
      }
      if (c != '%') {
        if (out != null) {
          out.append(c);
        }
        continue;
      }
      if (i + 1 < value.length() && value.charAt(i + 1) == '%') {
        if (out == null) {
          out = new StringBuilder(value.length()).append(value, 0, i);
        }
        out.append('%');
        i++;
        continue;
      }
      throw new IllegalArgumentException(
          at
              + ": '"
              + value
              + "' (expected: a literal value, %% for a percent sign; substitution commands"
              + " such as %REQ(...)% are not supported)");
    }
    return out == null ? value : out.toString();
  }
}
