package dev.fedmesh.agent.kubernetes;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records Kubernetes Events ({@code kubectl describe} shows them) on the objects a finding is
 * about. Events are written on a thread of their own so a slow API server never holds up the agent;
 * one that cannot be written is logged and dropped, as Kubernetes' own recorders do.
 */
public final class KubernetesEvents implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KubernetesEvents.class);
  private static final String COMPONENT = "fedmesh-agent";

  private final KubernetesClient client;
  private final String instance;
  private final Clock clock;
  private final ExecutorService writer;
  private final AtomicLong sequence = new AtomicLong();

  /**
   * @param instance who reports, shown as the event's reporting instance (the cluster's name)
   */
  public KubernetesEvents(KubernetesClient client, String instance, Clock clock) {
    this.client = requireNonNull(client, "client");
    this.instance = requireNonNull(instance, "instance");
    this.clock = requireNonNull(clock, "clock");
    this.writer =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "agent-events");
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Records a Warning event with {@code reason} and {@code message} on {@code object}. */
  public void warn(HasMetadata object, String reason, String message) {
    requireNonNull(object, "object");
    requireNonNull(reason, "reason");
    requireNonNull(message, "message");
    String namespace = object.getMetadata().getNamespace();
    String now =
        DateTimeFormatter.ISO_INSTANT.format(clock.instant().truncatedTo(ChronoUnit.SECONDS));
    Event event =
        new EventBuilder()
            .withNewMetadata()
            .withNamespace(namespace)
            // kubectl's convention: the object's name and a unique hexadecimal suffix.
            .withName(
                object.getMetadata().getName()
                    + "."
                    + Long.toHexString(clock.millis())
                    + Long.toHexString(sequence.incrementAndGet()))
            .endMetadata()
            .withNewInvolvedObject()
            .withApiVersion(object.getApiVersion())
            .withKind(object.getKind())
            .withNamespace(namespace)
            .withName(object.getMetadata().getName())
            .withUid(object.getMetadata().getUid())
            .withResourceVersion(object.getMetadata().getResourceVersion())
            .endInvolvedObject()
            .withType("Warning")
            .withReason(reason)
            .withMessage(message)
            .withCount(1)
            .withFirstTimestamp(now)
            .withLastTimestamp(now)
            .withNewSource()
            .withComponent(COMPONENT)
            .endSource()
            .withReportingComponent(COMPONENT)
            .withReportingInstance(instance)
            .build();
    try {
      writer.execute(() -> write(event));
    } catch (RejectedExecutionException closed) {
      log.debug("events closed; dropping {}", reason);
    }
  }

  private void write(Event event) {
    try {
      client.v1().events().inNamespace(event.getMetadata().getNamespace()).resource(event).create();
    } catch (KubernetesClientException e) {
      log.warn(
          "cannot record event {} on {}/{}: {}",
          event.getReason(),
          event.getInvolvedObject().getNamespace(),
          event.getInvolvedObject().getName(),
          e.getMessage());
    }
  }

  @Override
  public void close() {
    writer.shutdown();
    try {
      if (!writer.awaitTermination(5, TimeUnit.SECONDS)) {
        writer.shutdownNow();
      }
    } catch (InterruptedException e) {
      writer.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
