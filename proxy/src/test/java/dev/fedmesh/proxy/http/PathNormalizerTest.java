package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.proxy.http.PathNormalizer.EscapedSlashes;
import dev.fedmesh.proxy.http.PathNormalizer.Options;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PathNormalizerTest {
  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
    "/admin, /admin",
    "//admin, /admin",
    "/a/../admin, /admin",
    "/a/./b/../../admin, /admin",
    "/../../admin, /admin",
    "/%2Fadmin, /admin",
    "/%2fadmin, /admin",
    "/%5Cadmin, /admin",
    "/\\admin, /admin",
    "/%61dmin, /admin",
    "/%2e%2e/admin, /admin",
    "/admin#fragment, /admin",
    "/admin/, /admin/",
    "/a/b/.., /a/",
    "/search?q=a/../b&x=%2F, /search?q=a/../b&x=%2F",
    "/caf%c3%a9, /caf%C3%A9",
    "/100%25, /100%25",
    "/%252Fadmin, /%252Fadmin",
    "*, *",
    "/, /",
    "/.well-known/a, /.well-known/a",
    "/a/.b/..c/d.., /a/.b/..c/d..",
    "/a/., /a/",
    "/., /",
    "/a/.., /",
    "/a?next=//b/../c, /a?next=//b/../c",
  })
  void theDefaultsMakeEveryEncodingOfAPathOnePath(String sent, String forwarded) {
    assertThat(PathNormalizer.normalize(sent, Options.DEFAULT))
        .isEqualTo(new PathNormalizer.Normalized(forwarded));
  }

  @Test
  void noPathComesOutWithADotOrEmptySegment() {
    // Every path of up to seven characters made of '/', '.' and 'a': the paths already canonical
    // are passed through untouched, and none of the others may be taken for one.
    List<String> paths = new ArrayList<>(List.of("/"));
    for (int length = 1; length < 7; length++) {
      for (String shorter : List.copyOf(paths)) {
        if (shorter.length() == length) {
          for (char c : new char[] {'/', '.', 'a'}) {
            paths.add(shorter + c);
          }
        }
      }
    }
    for (String sent : paths) {
      String path =
          ((PathNormalizer.Normalized) PathNormalizer.normalize(sent, Options.DEFAULT)).path();
      String[] segments = path.substring(1).split("/", -1);
      for (int i = 0; i < segments.length; i++) {
        assertThat(segments[i])
            .as("segment %d of %s, normalized from %s", i, path, sent)
            .isNotIn(".", "..");
        if (i < segments.length - 1) {
          assertThat(segments[i])
              .as("segment %d of %s, normalized from %s", i, path, sent)
              .isNotEmpty();
        }
      }
      assertThat(PathNormalizer.canonical(path)).as("%s, normalized from %s", path, sent).isTrue();
    }
  }

  @ParameterizedTest
  @CsvSource({"/%2Fadmin", "/a%5Cb", "/x/%2f"})
  void escapedSlashesAreRefusedWhenTheConfigSaysSo(String sent) {
    Options reject = new Options(true, true, EscapedSlashes.REJECT_REQUEST);

    assertThat(PathNormalizer.normalize(sent, reject)).isInstanceOf(PathNormalizer.Rejected.class);
  }

  @ParameterizedTest
  @CsvSource({"/%", "/%4", "/%zz/admin", "/a%G0"})
  void aMalformedEscapeIsRefused(String sent) {
    assertThat(PathNormalizer.normalize(sent, Options.DEFAULT))
        .isInstanceOf(PathNormalizer.Rejected.class);
  }

  @ParameterizedTest
  @CsvSource({
    "KEEP_UNCHANGED, /%2Fadmin, /%2Fadmin",
    "UNESCAPE_AND_FORWARD, /a%2F%2Fb, /a/b",
  })
  void escapedSlashesAreKeptOrDecodedAsConfigured(
      EscapedSlashes action, String sent, String forwarded) {
    assertThat(PathNormalizer.normalize(sent, new Options(true, true, action)))
        .isEqualTo(new PathNormalizer.Normalized(forwarded));
  }

  @ParameterizedTest
  @CsvSource({"/%2Fadmin, /admin", "/a%5Cb?x=1, /a/b?x=1"})
  void unescapeAndRedirectSendsTheClientToTheCanonicalPath(String sent, String location) {
    Options redirect = new Options(true, true, EscapedSlashes.UNESCAPE_AND_REDIRECT);

    assertThat(PathNormalizer.normalize(sent, redirect))
        .isEqualTo(new PathNormalizer.Redirect(location));
  }

  @ParameterizedTest
  @CsvSource({"//a/../b, //a/../b", "/a/%2e/b, /a/%2e/b"})
  void withNormalizationOffThePathIsForwardedAsSent(String sent, String forwarded) {
    Options off = new Options(false, false, EscapedSlashes.KEEP_UNCHANGED);

    assertThat(PathNormalizer.normalize(sent, off))
        .isEqualTo(new PathNormalizer.Normalized(forwarded));
  }

  @ParameterizedTest
  @CsvSource({"admin", "../admin"})
  void aPathThatDoesNotStartWithASlashIsRefused(String sent) {
    assertThat(PathNormalizer.normalize(sent, Options.DEFAULT))
        .isInstanceOf(PathNormalizer.Rejected.class);
  }
}
