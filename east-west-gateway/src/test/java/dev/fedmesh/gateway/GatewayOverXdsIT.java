package dev.fedmesh.gateway;

import static dev.fedmesh.gateway.GatewayConfigs.PAYMENTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import dev.fedmesh.model.Backoff;
import dev.fedmesh.proxy.xds.ProxyConfig;
import dev.fedmesh.trust.SvidCredential;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway configured over ADS by a scripted server (in process): it announces itself as a
 * gateway of its cluster, becomes ready once its listener arrives, and routes what it was sent.
 */
class GatewayOverXdsIT {
  private static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  private static final String EDS =
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  private static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final ScriptedAds ads = new ScriptedAds();
  private final String name = InProcessServerBuilder.generateName();
  private Server server;
  private ManagedChannel channel;
  private EastWestGateway gateway;
  private TlsBackend backend;

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.drain(Duration.ZERO).join();
    }
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.shutdownNow();
    }
    if (backend != null) {
      backend.close();
    }
  }

  @Test
  void announcesItselfAsTheClustersGatewayAndRoutesWhatTheControllerSends() throws Exception {
    MeshPki pki = new MeshPki();
    SvidCredential payments = pki.eastWorkload("default", "payments");
    backend = new TlsBackend("payments-1", pki.tls(payments), payments);
    server = InProcessServerBuilder.forName(name).addService(ads).build().start();
    channel = InProcessChannelBuilder.forName(name).build();
    Node node =
        XdsConfigSource.gatewayNode("gw-east-1", "east", "net-east", "us-east", "us-east-1a");
    gateway =
        EastWestGateway.builder(
                XdsConfigSource.of(
                    List.of(channel),
                    node,
                    new Backoff(Duration.ofMillis(10), Duration.ofMillis(100), new Random(1))))
            .listen(new InetSocketAddress("127.0.0.1", 0))
            .workerThreads(1)
            .start();

    await().atMost(WAIT).until(() -> !ads.received.isEmpty());
    Node sent = ads.received.get(0).getNode();
    assertThat(sent.getId()).isEqualTo("gw-east-1");
    assertThat(sent.getMetadata().getFieldsMap())
        .containsEntry("FEDMESH_ROLE", value("gateway"))
        .containsEntry("FEDMESH_CLUSTER", value("east"))
        .containsEntry("NETWORK", value("net-east"));
    assertThat(sent.getLocality().getRegion()).isEqualTo("us-east");
    assertThat(sent.getLocality().getZone()).isEqualTo("us-east-1a");
    assertThat(gateway.isReady()).isFalse();

    ProxyConfig config = GatewayConfigs.of(PAYMENTS, backend.address());
    ads.send(CDS, "1", config.clusters().values().toArray(Message[]::new));
    ads.send(LDS, "1", config.listeners().values().toArray(Message[]::new));
    ads.send(EDS, "1", config.endpoints().values().toArray(Message[]::new));

    await().atMost(WAIT).until(gateway::isReady);
    await().atMost(WAIT).until(() -> gateway.routedServerNames().contains(PAYMENTS));
    try (SSLSocket socket =
        (SSLSocket)
            pki.tls(pki.westWorkload("shop", "cart"))
                .getSocketFactory()
                .createSocket("127.0.0.1", gateway.address().getPort())) {
      socket.setSoTimeout((int) WAIT.toMillis());
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setServerNames(List.of(TlsHellos.hostName(PAYMENTS)));
      socket.setSSLParameters(parameters);
      socket.getOutputStream().write("hello over xds\n".getBytes(StandardCharsets.UTF_8));
      socket.getOutputStream().flush();
      assertThat(TlsBackend.readLine(socket.getInputStream())).endsWith(": over xds");
    }
  }

  private static com.google.protobuf.Value value(String value) {
    return com.google.protobuf.Value.newBuilder().setStringValue(value).build();
  }

  /** An ADS server that answers nothing by itself: the test sends each response. */
  private static final class ScriptedAds
      extends AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase {
    private final List<DiscoveryRequest> received = new CopyOnWriteArrayList<>();
    private volatile StreamObserver<DiscoveryResponse> responses;
    private int nonce;

    @Override
    public StreamObserver<DiscoveryRequest> streamAggregatedResources(
        StreamObserver<DiscoveryResponse> responses) {
      this.responses = responses;
      return new StreamObserver<>() {
        @Override
        public void onNext(DiscoveryRequest request) {
          received.add(request);
        }

        @Override
        public void onError(Throwable error) {}

        @Override
        public void onCompleted() {}
      };
    }

    synchronized void send(String typeUrl, String version, Message... resources) {
      DiscoveryResponse.Builder response =
          DiscoveryResponse.newBuilder()
              .setTypeUrl(typeUrl)
              .setVersionInfo(version)
              .setNonce(Integer.toString(++nonce));
      for (Message resource : resources) {
        response.addResources(Any.pack(resource));
      }
      responses.onNext(response.build());
    }
  }
}
