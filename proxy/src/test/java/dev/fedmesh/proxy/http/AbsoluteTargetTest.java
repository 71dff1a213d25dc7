package dev.fedmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class AbsoluteTargetTest {

  @ParameterizedTest
  @CsvSource({
    "http://payments.default.svc:8080/charge?id=7, payments.default.svc:8080, /charge?id=7",
    "http://payments, payments, /",
    "HTTPS://Payments:443, Payments:443, /",
    "http://payments?x=1, payments, /?x=1",
    "http://[::1]:8080/a/%2e%2E/b, [::1]:8080, /a/%2e%2E/b",
    "http://10.0.0.7/a;b=c/d:e@f, 10.0.0.7, /a;b=c/d:e@f",
    "http://h/q?redirect=/x?y=%20, h, /q?redirect=/x?y=%20",
  })
  void splitsAuthorityFromPathAndQuery(String target, String authority, String path) {
    assertThat(AbsoluteTarget.isAbsolute(target)).isTrue();
    assertThat(AbsoluteTarget.parse(target)).isEqualTo(new AbsoluteTarget(authority, path));
  }

  @ParameterizedTest
  @ValueSource(strings = {"/charge", "payments:8080", "*", "ftp://files/x", "http:/payments"})
  void originAuthorityAndAsteriskFormsAreNotAbsolute(String target) {
    assertThat(AbsoluteTarget.isAbsolute(target)).isFalse();
  }

  @Test
  void refusesWhatAProxyMustNotForward() {
    assertThatThrownBy(() -> AbsoluteTarget.parse("/charge"))
        .hasMessage("not in absolute form (expected scheme://authority/path)");
    assertThatThrownBy(() -> AbsoluteTarget.parse("ftp://files/x"))
        .hasMessage("scheme 'ftp' (expected http or https)");
    assertThatThrownBy(() -> AbsoluteTarget.parse("http:///charge"))
        .hasMessage("the authority is empty");
    assertThatThrownBy(() -> AbsoluteTarget.parse("http://user:pw@payments/"))
        .hasMessage("userinfo in the authority is not allowed");
    assertThatThrownBy(() -> AbsoluteTarget.parse("http://payments/a#frag"))
        .hasMessage("a fragment is not allowed in a request target");
    assertThatThrownBy(() -> AbsoluteTarget.parse("http://pay ments/"))
        .hasMessage("character U+0020 is not allowed in the authority");
    assertThatThrownBy(() -> AbsoluteTarget.parse("http://payments/a<b"))
        .hasMessage("character '<' is not allowed in the path or query");
    assertThatThrownBy(() -> AbsoluteTarget.parse("http://payments/caf\u00e9"))
        .hasMessage("character U+00E9 is not allowed in the path or query");
    assertThatThrownBy(() -> AbsoluteTarget.parse("http://payments/a%zz"))
        .hasMessageContaining("'%' at index 17 does not start a percent-encoded octet");
    assertThatThrownBy(() -> AbsoluteTarget.parse("http://payments/a%4"))
        .hasMessageContaining("does not start a percent-encoded octet");
  }
}
