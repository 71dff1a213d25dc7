package dev.fedmesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code fedmesh analyze} against an agent's status port (a stand-in serving real JSON). */
class AnalyzeCommandTest {
  private HttpServer agent;

  private String serve(String status) throws Exception {
    agent = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    agent.createContext(
        "/status",
        exchange -> {
          byte[] body = status.getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    agent.start();
    return "127.0.0.1:" + agent.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    if (agent != null) {
      agent.stop(0);
    }
  }

  @Test
  void listsEachFindingWithItsFixAndExitsTwo() throws Exception {
    String address =
        serve(
            """
            {"cluster":"east","connected":true,"inSync":true,"controllerReplica":"a",
             "services":3,"endpoints":7,
             "findings":[{"kind":"PortProtocolUnknown","namespace":"shop","name":"cart",
               "port":9000,"message":"no appProtocol and no known name prefix: treated as TCP"}]}
            """);

    CliRun run = CliRun.of("analyze", "--agent", address);

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.out())
        .contains("east")
        .contains("PortProtocolUnknown")
        .contains("shop/cart")
        .contains("9000")
        .contains("treated as TCP");
  }

  @Test
  void aCleanClusterHasNoFindings() throws Exception {
    String address = serve("{\"cluster\":\"west\",\"findings\":[]}");

    CliRun run = CliRun.of("analyze", "--agent", address, "-o", "json");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).contains("\"cluster\" : \"west\"").contains("\"findings\" : [ ]");
  }

  @Test
  void anUnreachableAgentIsNamed() {
    CliRun run = CliRun.of("analyze", "--agent", "127.0.0.1:1");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains("cannot reach the agent's status port at 127.0.0.1:1");
  }
}
