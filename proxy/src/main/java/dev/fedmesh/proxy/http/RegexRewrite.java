package dev.fedmesh.proxy.http;

import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * An Envoy {@code RegexMatchAndSubstitute} compiled once: every match of the pattern is replaced by
 * the substitution, whose {@code \0}..{@code \9} name capture groups and {@code \\} is a backslash
 * (RE2's rewrite syntax). The pattern is RE2 syntax read by {@link java.util.regex}; a pattern Java
 * cannot compile is refused at config time.
 */
final class RegexRewrite {
  private final Pattern pattern;
  private final String[] literals;
  private final int[] groups;

  private RegexRewrite(Pattern pattern, String[] literals, int[] groups) {
    this.pattern = pattern;
    this.literals = literals;
    this.groups = groups;
  }

  /**
   * Compiles {@code rewrite}.
   *
   * @param field the config field, named in errors (e.g. {@code route.regex_rewrite})
   * @throws IllegalArgumentException naming the field and the expectation
   */
  static RegexRewrite of(RegexMatchAndSubstitute rewrite, String field) {
    String regex = rewrite.getPattern().getRegex();
    Pattern pattern;
    try {
      pattern = Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(
          field
              + ".pattern.regex: '"
              + regex
              + "' does not compile: "
              + e.getDescription()
              + " (expected: a regular expression in the RE2 syntax Java shares)");
    }
    String substitution = rewrite.getSubstitution();
    List<String> literals = new ArrayList<>();
    List<Integer> groups = new ArrayList<>();
    StringBuilder literal = new StringBuilder();
    for (int i = 0; i < substitution.length(); i++) {
      char c = substitution.charAt(i);
      if (c != '\\') {
        literal.append(c);
        continue;
      }
      char next = i + 1 < substitution.length() ? substitution.charAt(i + 1) : 0;
      if (next == '\\') {
        literal.append('\\');
        i++;
      } else if (next >= '0' && next <= '9') {
        int group = next - '0';
        if (group > pattern.matcher("").groupCount()) {
          throw new IllegalArgumentException(
              field
                  + ".substitution: '"
                  + substitution
                  + "' names group \\"
                  + group
                  + " (expected: at most \\"
                  + pattern.matcher("").groupCount()
                  + ", the pattern's groups)");
        }
        if (!literal.isEmpty()) {
          literals.add(literal.toString());
          groups.add(-1);
          literal.setLength(0);
        }
        literals.add(null);
        groups.add(group);
        i++;
      } else {
        throw new IllegalArgumentException(
            field
                + ".substitution: '"
                + substitution
                + "' has a backslash not followed by a digit or a backslash (expected: \\0..\\9"
                + " or \\\\)");
      }
    }
    if (!literal.isEmpty()) {
      literals.add(literal.toString());
      groups.add(-1);
    }
    int[] groupArray = new int[groups.size()];
    for (int i = 0; i < groupArray.length; i++) {
      groupArray[i] = groups.get(i);
    }
    return new RegexRewrite(pattern, literals.toArray(new String[0]), groupArray);
  }

  /** {@code input} with every match replaced; {@code input} itself when nothing matches. */
  String apply(String input) {
    Matcher matcher = pattern.matcher(input);
    if (!matcher.find()) {
      return input;
    }
    StringBuilder out = new StringBuilder(input.length() + 16);
    int last = 0;
    do {
      out.append(input, last, matcher.start());
      for (int i = 0; i < groups.length; i++) {
        if (groups[i] < 0) {
          out.append(literals[i]);
        } else {
          String group = matcher.group(groups[i]);
          if (group != null) {
            out.append(group);
          }
        }
      }
      last = matcher.end();
    } while (matcher.find());
    out.append(input, last, input.length());
    return out.toString();
  }

  /**
   * Rewrites the path part of {@code path} (up to any {@code ?}), keeping the query; as Envoy does,
   * a rewrite to an empty path leaves the path as it was.
   */
  String applyToPath(String path) {
    int query = path.indexOf('?');
    String pathOnly = query >= 0 ? path.substring(0, query) : path;
    String rewritten = apply(pathOnly);
    if (rewritten.isEmpty()) {
      return path;
    }
    return query >= 0 ? rewritten + path.substring(query) : rewritten;
  }
}
