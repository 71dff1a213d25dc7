package dev.fedmesh.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.agent.ClusterAgent;
import dev.fedmesh.agent.source.FileEndpointSource;
import dev.fedmesh.controller.ControllerConfig;
import dev.fedmesh.controller.GlobalController;
import dev.fedmesh.model.ClusterInfo;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Locality;
import dev.fedmesh.testkit.EchoServer;
import dev.fedmesh.testkit.EtcdExtension;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SvidFiles;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.TrustBundle;
import dev.fedmesh.trust.TrustBundleSet;
import dev.fedmesh.trust.TrustDomain;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole first path: an agent announces a gRPC server, the controller stores it in real etcd,
 * builds xDS from its watch, and grpc-java's own xDS client, an implementation we did not write,
 * routes {@code xds:///echo.default.svc.cluster.local:7070} to it. Every control-plane connection
 * is mutual TLS under one root, as in production: the agent's to the controller, and grpc-java's
 * xDS client's, with fedmesh's {@code fedmesh_mtls} channel credentials and its own SVID.
 */
class FirstXdsPathIT {
  private static final String TARGET = "xds:///echo.default.svc.cluster.local:7070";
  private static final TrustDomain DOMAIN = TrustDomain.of("fedmesh.local");

  @RegisterExtension static final EtcdExtension etcd = EtcdExtension.singleNode();

  @TempDir Path temp;

  private GlobalController controller;
  private ClusterAgent agent;
  private ManagedChannel channel;
  private EchoServer first;
  private EchoServer second;

  @AfterEach
  void stopEverything() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (agent != null) {
      agent.close();
    }
    if (controller != null) {
      controller.close();
    }
    if (first != null) {
      first.close();
    }
    if (second != null) {
      second.close();
    }
  }

  @Test
  void grpcXdsClientFollowsWhatTheAgentAnnounces() throws Exception {
    Clock clock = Clock.systemUTC();
    RootCa root = RootCa.generate(RootCaSpec.of(DOMAIN), clock);
    TrustBundleSet roots = TrustBundleSet.of(TrustBundle.of(DOMAIN, root.certificate()));
    SvidIssuer controlPlane = issuer(root, "control-plane");
    SvidIssuer eastCa = issuer(root, "east");
    controller =
        GlobalController.start(
            ControllerConfig.builder(
                    List.of(etcd.endpoints()),
                    new InetSocketAddress("127.0.0.1", 0),
                    new InetSocketAddress("127.0.0.1", 0))
                .replicaId("replica-a")
                .tls(
                    new SvidFiles.Loaded(
                        ControlPlaneTls.issue(
                            controlPlane,
                            CallerIdentity.of(
                                ControlPlaneTls.SYSTEM_NAMESPACE, "fedmesh-controller"),
                            Duration.ZERO),
                        roots))
                .build());
    Path clientCredentials = temp.resolve("echo-client");
    SvidFiles.write(
        clientCredentials,
        ControlPlaneTls.issue(eastCa, CallerIdentity.of("default", "echo-client"), Duration.ZERO),
        List.of(root.certificate()));
    first = EchoServer.start("first", "127.0.0.1");
    second = EchoServer.start("second", "127.0.0.1");

    Path endpoints = temp.resolve("endpoints.yaml");
    Files.writeString(endpoints, echoService(first));
    ClusterInfo east =
        new ClusterInfo(
            ClusterName.of("east"),
            "east",
            Locality.of("us-east", "us-east-a"),
            List.of(),
            "fedmesh.local",
            "test");
    agent =
        ClusterAgent.builder(east, List.of("127.0.0.1:" + controller.xdsAddress().getPort()))
            .controllerRoots(roots)
            .source(
                executor ->
                    new FileEndpointSource(
                        endpoints, east.name(), east.locality(), executor, Duration.ofMillis(50)))
            .start();

    channel =
        XdsClients.channel(
            TARGET,
            controller.xdsAddress().getPort(),
            "echo-client",
            "us-east",
            "us-east-a",
            clientCredentials,
            "default",
            "echo-client");

    await("the first server answers through xDS")
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(() -> EchoServer.whoAnswers(channel, "hello"), "first"::equals);

    Files.writeString(endpoints, echoService(first, second));
    Set<String> answered = new HashSet<>();
    await("both servers answer once the second is announced")
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              answered.add(EchoServer.whoAnswers(channel, "hello"));
              assertThat(answered).containsExactlyInAnyOrder("first", "second");
            });

    Files.writeString(endpoints, echoService(second));
    await("only the second answers once the first is withdrawn")
        .atMost(Duration.ofSeconds(30))
        .until(() -> tenCallsAnsweredBy("second"));
    // The first server is still running: it is routing, not a dead server, that keeps it out.
    for (int i = 0; i < 20; i++) {
      assertThat(EchoServer.whoAnswers(channel, "call " + i)).isEqualTo("second");
    }
  }

  private boolean tenCallsAnsweredBy(String name) {
    for (int i = 0; i < 10; i++) {
      if (!EchoServer.whoAnswers(channel, "probe " + i).equals(name)) {
        return false;
      }
    }
    return true;
  }

  private static String echoService(EchoServer... servers) {
    StringBuilder yaml =
        new StringBuilder(
            """
            services:
              - name: echo
                namespace: default
                ports:
                  - {name: grpc, port: 7070, protocol: grpc}
                endpoints:
            """);
    for (EchoServer server : servers) {
      yaml.append("      - {address: 127.0.0.1, ports: {grpc: ")
          .append(server.port())
          .append("}, pod: ")
          .append(server.name())
          .append("}\n");
    }
    return yaml.toString();
  }

  private static SvidIssuer issuer(RootCa root, String name) {
    return SvidIssuer.of(
        root.issueIntermediate(IntermediateSpec.of(ClusterName.of(name)), Clock.systemUTC()),
        SvidPolicy.of(),
        Clock.systemUTC());
  }
}
