package dev.fedmesh.trust.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fedmesh.testkit.FakeClock;
import dev.fedmesh.trust.CallerIdentity;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class WorkloadTokensTest {
  private final FakeClock time = new FakeClock();
  private final WorkloadTokens tokens = WorkloadTokens.of(WorkloadTokens.newKey(), time.clock());

  @Test
  void aTokenNamesItsWorkloadUntilItExpires() throws Exception {
    String token = tokens.issue(CallerIdentity.of("shop", "cart"), Duration.ofMinutes(10));

    assertThat(tokens.verify(token)).isEqualTo(CallerIdentity.of("shop", "cart"));
    time.forward(Duration.ofMinutes(10));
    assertThatThrownBy(() -> tokens.verify(token))
        .isInstanceOf(AuthenticationException.class)
        .hasMessageStartingWith("token: expired at ");
  }

  @Test
  void aTokenFromAnotherKeyIsRefused() {
    String foreign =
        WorkloadTokens.of(WorkloadTokens.newKey(), time.clock())
            .issue(CallerIdentity.of("shop", "cart"), Duration.ofMinutes(10));

    assertThatThrownBy(() -> tokens.verify(foreign))
        .hasMessage("token: bad signature (expected: a token issued with this CA's key)");
  }

  @Test
  void anEditedTokenIsRefused() {
    String token = tokens.issue(CallerIdentity.of("shop", "cart"), Duration.ofMinutes(10));
    String[] parts = token.split("\\.");
    String admin =
        java.util.Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString(
                ("shop/admin/" + (time.clock().instant().getEpochSecond() + 600)).getBytes());

    assertThatThrownBy(() -> tokens.verify(parts[0] + "." + admin + "." + parts[2]))
        .hasMessage("token: bad signature (expected: a token issued with this CA's key)");
    assertThatThrownBy(() -> tokens.verify("not-a-token"))
        .hasMessage("token: malformed (expected: fmwt1.<payload>.<signature>)");
  }

  @Test
  void keysMustBeLongEnough() {
    assertThatThrownBy(() -> WorkloadTokens.of(new byte[16], time.clock()))
        .hasMessage("key: 16 bytes (expected: >= 32)");
  }
}
