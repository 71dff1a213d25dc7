package dev.fedmesh.agent.kubernetes;

import dev.fedmesh.model.ClusterName;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MCS API's ServiceExports: watched by an informer while the API is served, and looked for
 * every {@code probeInterval} while it is not (the CRD is optional). A missing API counts as
 * "listed, none": it must not hold back the agent's first state. Any other failure does, since
 * announcing services without their exports would withdraw them from the other clusters.
 *
 * <p>State is confined to {@code executor}; the look-up request runs on a thread of its own.
 */
final class ServiceExportWatch {
  private static final Logger log = LoggerFactory.getLogger(ServiceExportWatch.class);

  private final KubernetesClient client;
  private final ClusterName cluster;
  private final ScheduledExecutorService executor;
  private final Duration probeInterval;
  private final ResourceEventHandler<GenericKubernetesResource> changes;
  private final Runnable stateChanged;
  private final ExecutorService prober;

  private SharedIndexInformer<GenericKubernetesResource> informer;
  private boolean absent;
  private ScheduledFuture<?> nextProbe;
  private volatile boolean closed;
  private volatile String lastProblem;

  /**
   * @param changes hears every ServiceExport added, changed or deleted
   * @param stateChanged runs on the executor when {@link #isListed()} may have changed
   */
  ServiceExportWatch(
      KubernetesClient client,
      ClusterName cluster,
      ScheduledExecutorService executor,
      Duration probeInterval,
      ResourceEventHandler<GenericKubernetesResource> changes,
      Runnable stateChanged) {
    this.client = client;
    this.cluster = cluster;
    this.executor = executor;
    this.probeInterval = probeInterval;
    this.changes = changes;
    this.stateChanged = stateChanged;
    this.prober =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "agent-serviceexport-probe");
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Looks for the API, then watches it. */
  void start() {
    probe();
  }

  /** Whether the exports are known: listed by the informer, or the API is not served. */
  boolean isListed() {
    return absent || (informer != null && informer.hasSynced());
  }

  boolean exists(String namespace, String name) {
    return informer != null && informer.getStore().getByKey(namespace + "/" + name) != null;
  }

  private void probe() {
    try {
      prober.execute(
          () -> {
            if (closed) {
              return;
            }
            boolean served;
            try {
              client
                  .genericKubernetesResources(KubernetesEndpointSource.SERVICE_EXPORT)
                  .inAnyNamespace()
                  .list(new ListOptionsBuilder().withLimit(1L).build());
              served = true;
            } catch (KubernetesClientException e) {
              // Anything but "not served" is the informer's to retry.
              served = e.getCode() != 404;
            }
            boolean found = served;
            onExecutor(() -> probed(found));
          });
    } catch (RejectedExecutionException stopped) {
      log.debug("agent stopped; not looking for the ServiceExport API");
    }
  }

  private void probed(boolean served) {
    if (closed) {
      return;
    }
    if (served) {
      watch();
    } else {
      notServed();
    }
  }

  private void watch() {
    SharedIndexInformer<GenericKubernetesResource> started =
        client
            .genericKubernetesResources(KubernetesEndpointSource.SERVICE_EXPORT)
            .inAnyNamespace()
            .runnableInformer(0)
            .exceptionHandler(this::problem)
            .addEventHandler(changes);
    informer = started;
    started
        .start()
        .whenComplete(
            (ignored, error) ->
                onExecutor(
                    () -> {
                      if (error == null && absent && informer == started) {
                        absent = false;
                        log.info("cluster {}: the ServiceExport API is served now", cluster);
                      }
                      stateChanged.run();
                    }));
  }

  private void notServed() {
    if (!absent) {
      absent = true;
      log.warn(
          "cluster {}: the ServiceExport API (multicluster.x-k8s.io/v1alpha1) is not served;"
              + " services are exported by the {} annotation only until it is",
          cluster,
          ServiceTranslator.EXPORT_ANNOTATION);
    }
    if (informer != null) {
      informer.close();
      informer = null;
    }
    stateChanged.run();
    nextProbe = executor.schedule(this::probe, probeInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** On a fabric8 thread: the API vanishing (the CRD deleted) stops the watch; the rest retries. */
  private boolean problem(boolean started, Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof KubernetesClientException e && e.getCode() == 404) {
        onExecutor(
            () -> {
              if (!closed) {
                notServed();
              }
            });
        return false;
      }
    }
    String problem = "cannot watch ServiceExports (retrying): " + error.getMessage();
    if (!problem.equals(lastProblem)) {
      lastProblem = problem;
      log.warn("cluster {}: {}", cluster, problem);
    }
    return true;
  }

  private void onExecutor(Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException stopped) {
      log.debug("agent stopped; dropping a ServiceExport event");
    }
  }

  /** Stops watching and looking; call on the executor (or once it is gone). */
  void close() {
    closed = true;
    if (nextProbe != null) {
      nextProbe.cancel(false);
    }
    if (informer != null) {
      informer.close();
    }
    prober.shutdownNow();
  }
}
