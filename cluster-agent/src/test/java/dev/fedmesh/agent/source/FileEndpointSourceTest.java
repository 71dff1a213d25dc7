package dev.fedmesh.agent.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Endpoint;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.Protocol;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import dev.fedmesh.model.ServicePort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileEndpointSourceTest {
  private static final ClusterName EAST = ClusterName.of("east");
  private static final Locality AGENT_LOCALITY = Locality.of("us-east", "us-east-a");
  private static final ServiceKey ECHO = ServiceKey.of("default", "echo");

  private static final String ONE_ENDPOINT =
      """
      services:
        - name: echo
          ports:
            - {name: grpc, port: 7070, protocol: grpc}
          endpoints:
            - address: 10.0.0.1
      """;
  private static final String TWO_ENDPOINTS =
      """
      services:
        - name: echo
          ports:
            - {name: grpc, port: 7070, protocol: grpc}
          endpoints:
            - address: 10.0.0.1
            - address: 10.0.0.2
      """;
  private static final String PORT_OUT_OF_RANGE =
      """
      services:
        - name: echo
          ports:
            - {name: grpc, port: 70000, protocol: grpc}
          endpoints: []
      """;

  @TempDir Path dir;

  private Path file;
  private PollCountingScheduler scheduler;
  private FileEndpointSource source;
  private final List<Map<ServiceKey, ServiceEndpoints>> deliveries = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    file = dir.resolve("endpoints.yaml");
    scheduler = new PollCountingScheduler();
    source = new FileEndpointSource(file, EAST, AGENT_LOCALITY, scheduler, Duration.ofMillis(10));
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    source.close();
    scheduler.shutdownNow();
    assertThat(scheduler.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void listenerGetsTheInitialStateOnce() throws IOException {
    write(ONE_ENDPOINT);

    source.start(deliveries::add);

    eventually().until(() -> deliveries.size() == 1);
    assertThat(deliveries.get(0)).isEqualTo(echoWith("10.0.0.1"));
    awaitTwoMorePolls();
    assertThat(deliveries).as("an unchanged file is not announced again").hasSize(1);
  }

  @Test
  void editDeliversTheNewState() throws IOException {
    write(ONE_ENDPOINT);
    source.start(deliveries::add);
    eventually().until(() -> deliveries.size() == 1);

    write(TWO_ENDPOINTS);

    eventually().until(() -> deliveries.size() == 2);
    assertThat(deliveries.get(1)).isEqualTo(echoWith("10.0.0.1", "10.0.0.2"));
  }

  @Test
  void invalidEditDeliversNothingAndTheNextValidEditIsDelivered() throws IOException {
    write(ONE_ENDPOINT);
    source.start(deliveries::add);
    eventually().until(() -> deliveries.size() == 1);

    write(PORT_OUT_OF_RANGE);
    awaitTwoMorePolls();

    assertThat(deliveries).containsExactly(echoWith("10.0.0.1"));

    write(TWO_ENDPOINTS);

    eventually().until(() -> deliveries.size() == 2);
    assertThat(deliveries.get(1)).isEqualTo(echoWith("10.0.0.1", "10.0.0.2"));
  }

  @Test
  void editWithAnEmptyListItemDoesNotStopTheWatching() throws IOException {
    write(ONE_ENDPOINT);
    source.start(deliveries::add);
    eventually().until(() -> deliveries.size() == 1);

    write(
        """
        services:
          -
        """);
    awaitTwoMorePolls();
    write(TWO_ENDPOINTS);

    eventually().until(() -> deliveries.size() == 2);
    assertThat(deliveries).containsExactly(echoWith("10.0.0.1"), echoWith("10.0.0.1", "10.0.0.2"));
  }

  @Test
  void fileThatAppearsLaterIsDelivered() throws IOException {
    source.start(deliveries::add);
    awaitTwoMorePolls();
    assertThat(deliveries).isEmpty();

    write(ONE_ENDPOINT);

    eventually().until(() -> deliveries.size() == 1);
    assertThat(deliveries.get(0)).isEqualTo(echoWith("10.0.0.1"));
  }

  /** Replaces the file in one step, as editors and ConfigMap mounts do, so no poll sees half. */
  private void write(String content) throws IOException {
    Path next = Files.createTempFile(dir, "endpoints", ".tmp");
    Files.writeString(next, content);
    Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** Waits until a poll has started and finished after this call, so it saw the file as it is. */
  private void awaitTwoMorePolls() {
    int seen = scheduler.polls.get();
    eventually().until(() -> scheduler.polls.get() >= seen + 2);
  }

  private static ConditionFactory eventually() {
    return await().atMost(Duration.ofSeconds(10));
  }

  private static Map<ServiceKey, ServiceEndpoints> echoWith(String... addresses) {
    List<Endpoint> endpoints =
        List.of(addresses).stream()
            .map(address -> Endpoint.of(address, Map.of(), AGENT_LOCALITY))
            .toList();
    return Map.of(
        ECHO,
        new ServiceEndpoints(
            EAST, ECHO, List.of(new ServicePort("grpc", 7070, Protocol.GRPC)), false, endpoints));
  }

  /** A real single-thread scheduler that counts finished runs of the source's poll. */
  private static final class PollCountingScheduler extends ScheduledThreadPoolExecutor {
    final AtomicInteger polls = new AtomicInteger();

    PollCountingScheduler() {
      super(1);
    }

    @Override
    protected void afterExecute(Runnable task, Throwable failure) {
      super.afterExecute(task, failure);
      polls.incrementAndGet();
    }
  }
}
