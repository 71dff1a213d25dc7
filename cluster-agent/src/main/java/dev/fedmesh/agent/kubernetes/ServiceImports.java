package dev.fedmesh.agent.kubernetes;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.agent.federation.FederationClient;
import dev.fedmesh.agent.federation.ImportedService;
import dev.fedmesh.agent.federation.ServiceImportSet;
import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.model.Backoff;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Debouncer;
import dev.fedmesh.model.ServiceKey;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the cluster's MCS ServiceImports ({@code multicluster.x-k8s.io/v1alpha1}) in step with what
 * the controller says the cluster imports: one per imported service, in the service's namespace and
 * of its name, shaped by {@link ServiceImportObjects} and labelled {@value
 * #MANAGED_BY_LABEL}={@value #MANAGED_BY}. Missing ones are created, changed ones (by the
 * controller, or by a user editing ours) set back, and ours that the set no longer lists deleted. A
 * ServiceImport of an imported name that fedmesh did not make is never touched: it is reported as a
 * finding ({@link Finding#SERVICE_IMPORT_NOT_OWNED}), as is an import whose namespace does not
 * exist ({@link Finding#IMPORT_NAMESPACE_MISSING}).
 *
 * <p>Nothing happens before the first import set arrives: an agent that has not heard from a
 * controller does not know what its cluster imports, and must not delete what an earlier run made.
 * An arriving set, a change to a ServiceImport that is ours or of an imported name (a watch, from
 * the first successful pass on), and a periodic resync each ask for a pass, debounced, so a burst
 * is one pass with the latest set. A pass lists the ServiceImports and Namespaces and writes only
 * what differs, so passes are idempotent. A failed call is retried with exponential backoff; a
 * refused write (the API server says the object is invalid) is reported and tried again at the next
 * resync. A cluster without the ServiceImport API (the MCS CRDs are not installed) is a finding,
 * and is listed again at every retry until it has the API.
 *
 * <p>Writes go through the status subresource where the API server keeps status apart (the MCS CRD
 * declares it): after writing the object, the status is written on its own only if it did not
 * stick.
 *
 * <p>Passes run on {@code executor}, where all state is confined; give it a thread of its own, so a
 * slow API server never holds up the agent's stream to the controller.
 */
public final class ServiceImports implements FederationClient.ImportsListener, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServiceImports.class);

  /** The MCS API's ServiceImport, which fabric8 reads as a generic resource. */
  public static final ResourceDefinitionContext SERVICE_IMPORT =
      new ResourceDefinitionContext.Builder()
          .withGroup("multicluster.x-k8s.io")
          .withVersion("v1alpha1")
          .withKind(ServiceImportObjects.KIND)
          .withPlural("serviceimports")
          .withNamespaced(true)
          .build();

  /** The label on every object fedmesh manages; with {@link #MANAGED_BY}, what makes it ours. */
  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";

  /** The value of {@link #MANAGED_BY_LABEL} on objects fedmesh manages. */
  public static final String MANAGED_BY = "fedmesh";

  /**
   * How quickly and how often the ServiceImports are brought in step.
   *
   * @param quiet how long import sets and watch events must stop before a pass (a burst is one)
   * @param maxDelay the longest a change waits, however busy
   * @param resync how often a pass runs anyway (it also notices namespaces that appeared)
   * @param retryBase the first wait after a failed write; doubled up to {@code retryMax}
   * @param retryMax the longest wait between retries
   */
  public record Settings(
      Duration quiet, Duration maxDelay, Duration resync, Duration retryBase, Duration retryMax) {
    public Settings {
      requireNonNull(quiet, "quiet");
      requireNonNull(maxDelay, "maxDelay");
      requireNonNull(resync, "resync");
      requireNonNull(retryBase, "retryBase");
      requireNonNull(retryMax, "retryMax");
      if (resync.isNegative() || resync.isZero()) {
        throw new IllegalArgumentException("resync: " + resync + " (expected: > 0)");
      }
    }

    /** 100 ms of quiet, at most 1 s of delay, a resync a minute, retries from 200 ms to 30 s. */
    public static Settings defaults() {
      return new Settings(
          Duration.ofMillis(100),
          Duration.ofSeconds(1),
          Duration.ofMinutes(1),
          Duration.ofMillis(200),
          Duration.ofSeconds(30));
    }
  }

  private final KubernetesClient client;
  private final ClusterName cluster;
  private final ScheduledExecutorService executor;
  private final Settings settings;
  private final Debouncer debouncer;
  private final Backoff backoff;

  // Confined to the executor.
  private ServiceImportSet desired;
  private Set<String> desiredNames = Set.of();
  private ScheduledFuture<?> resync;
  private ScheduledFuture<?> retry;
  private Set<Finding> logged = Set.of();

  // Set on the executor, read by close() and status.
  private volatile SharedIndexInformer<GenericKubernetesResource> watch;
  private volatile boolean closed;
  private volatile List<Finding> findings = List.of();
  private volatile int imported;
  private volatile String lastWatchProblem;

  /**
   * @param client the cluster's API; not closed here
   * @param cluster this cluster's name, for logs
   * @param executor where passes run; a thread of the reconciler's own
   * @param nanoTime the clock of the debounce
   * @param random the jitter of retries
   */
  public ServiceImports(
      KubernetesClient client,
      ClusterName cluster,
      ScheduledExecutorService executor,
      LongSupplier nanoTime,
      RandomGenerator random,
      Settings settings) {
    this.client = requireNonNull(client, "client");
    this.cluster = requireNonNull(cluster, "cluster");
    this.executor = requireNonNull(executor, "executor");
    this.settings = requireNonNull(settings, "settings");
    this.debouncer =
        new Debouncer(
            executor,
            requireNonNull(nanoTime, "nanoTime"),
            settings.quiet(),
            settings.maxDelay(),
            this::reconcile);
    this.backoff =
        new Backoff(settings.retryBase(), settings.retryMax(), requireNonNull(random, "random"));
  }

  /**
   * The controller's latest import set: the cluster's ServiceImports follow it (the latest wins).
   */
  @Override
  public void onImports(ServiceImportSet imports) {
    requireNonNull(imports, "imports");
    onExecutor(
        () -> {
          if (closed) {
            return;
          }
          desired = imports;
          desiredNames =
              imports.services().stream()
                  .map(service -> service.service().toString())
                  .collect(Collectors.toUnmodifiableSet());
          imported = imports.services().size();
          if (resync == null) {
            long every = settings.resync().toMillis();
            resync =
                executor.scheduleWithFixedDelay(
                    () -> {
                      if (!closed) {
                        debouncer.signal();
                      }
                    },
                    every,
                    every,
                    TimeUnit.MILLISECONDS);
          }
          debouncer.signal();
        });
  }

  /** What kept an imported service from its ServiceImport, as of the latest pass. */
  public List<Finding> findings() {
    return findings;
  }

  /** How many services the latest import set lists (valid entries). */
  public int imported() {
    return imported;
  }

  /** Whether the watch on ServiceImports has listed them (tests wait for it). */
  boolean isWatching() {
    SharedIndexInformer<GenericKubernetesResource> informer = watch;
    return informer != null && informer.hasSynced();
  }

  /**
   * Once the API has listed: a pass whenever a ServiceImport that is ours, or of an imported name,
   * changes (so a user's deletion or edit is undone at once rather than at the next resync).
   */
  private void watch() {
    if (watch != null || closed) {
      return;
    }
    SharedIndexInformer<GenericKubernetesResource> informer =
        client
            .genericKubernetesResources(SERVICE_IMPORT)
            .inAnyNamespace()
            .runnableInformer(0)
            .addEventHandler(new Changes());
    informer.exceptionHandler((started, error) -> watchProblem(informer, error));
    watch = informer;
    informer.start();
  }

  /** One pass: the cluster's ServiceImports brought in step with {@link #desired}. */
  private void reconcile() {
    if (closed || desired == null) {
      return;
    }
    if (retry != null) {
      retry.cancel(false);
      retry = null;
    }
    ServiceImportSet set = desired;
    List<Finding> found = new ArrayList<>(set.findings());
    Map<String, GenericKubernetesResource> current = new LinkedHashMap<>();
    Set<String> namespaces;
    try {
      GenericKubernetesResourceList listed = serviceImports().inAnyNamespace().list();
      for (GenericKubernetesResource item : listed.getItems()) {
        current.put(key(item), item);
      }
      // A namespace being deleted takes no new objects either.
      namespaces =
          client.namespaces().list().getItems().stream()
              .filter(
                  (Namespace namespace) ->
                      namespace.getStatus() == null
                          || !"Terminating".equals(namespace.getStatus().getPhase()))
              .map(namespace -> namespace.getMetadata().getName())
              .collect(Collectors.toSet());
      watch();
    } catch (KubernetesClientException e) {
      found.add(new Finding(Finding.SERVICE_IMPORT_NOT_WRITTEN, "", "", 0, listProblem(e)));
      publish(found);
      retryLater();
      return;
    }
    boolean again = false;
    Set<String> wanted = new HashSet<>();
    for (ImportedService service : set.services()) {
      if (closed) {
        return;
      }
      String namespace = service.service().namespace();
      String name = service.service().name();
      String key = namespace + "/" + name;
      wanted.add(key);
      GenericKubernetesResource existing = current.get(key);
      if (existing != null && !ServiceImportObjects.isOurs(existing)) {
        found.add(
            new Finding(
                Finding.SERVICE_IMPORT_NOT_OWNED,
                namespace,
                name,
                0,
                "ServiceImport "
                    + key
                    + " exists and fedmesh did not make it (it has no label "
                    + MANAGED_BY_LABEL
                    + "="
                    + MANAGED_BY
                    + "): it is left as it is, so it does not show the service as the mesh"
                    + " imports it (from "
                    + service.clusters()
                    + "); delete it to let fedmesh keep it"));
        continue;
      }
      if (!namespaces.contains(namespace)) {
        found.add(
            new Finding(
                Finding.IMPORT_NAMESPACE_MISSING,
                namespace,
                name,
                0,
                "namespace '"
                    + namespace
                    + "' does not exist in this cluster (or is being deleted), so the imported"
                    + " service has no ServiceImport here; it gets one once the namespace exists"));
        continue;
      }
      try {
        write(existing, service);
      } catch (KubernetesClientException e) {
        Failure failure = Failure.of(e);
        found.add(
            new Finding(
                Finding.SERVICE_IMPORT_NOT_WRITTEN,
                namespace,
                name,
                0,
                "cannot write ServiceImport " + key + ": " + failure.reason()));
        again |= failure.retry();
      }
    }
    Set<String> kept = set.invalid().stream().map(ServiceKey::toString).collect(Collectors.toSet());
    for (GenericKubernetesResource stale : current.values()) {
      String key = key(stale);
      if (closed) {
        return;
      }
      if (!ServiceImportObjects.isOurs(stale) || wanted.contains(key) || kept.contains(key)) {
        continue;
      }
      try {
        delete(stale);
      } catch (KubernetesClientException e) {
        Failure failure = Failure.of(e);
        found.add(
            new Finding(
                Finding.SERVICE_IMPORT_NOT_WRITTEN,
                stale.getMetadata().getNamespace(),
                stale.getMetadata().getName(),
                0,
                "cannot delete ServiceImport " + key + ": " + failure.reason()));
        again |= failure.retry();
      }
    }
    publish(found);
    if (again) {
      retryLater();
    } else {
      backoff.reset();
    }
  }

  /**
   * Creates or updates one ServiceImport; then writes its status on its own if the API server kept
   * it apart (the status subresource ignores status in writes of the object).
   */
  private void write(GenericKubernetesResource existing, ImportedService service) {
    NonNamespaceOperation<
            GenericKubernetesResource,
            GenericKubernetesResourceList,
            Resource<GenericKubernetesResource>>
        api = serviceImports().inNamespace(service.service().namespace());
    GenericKubernetesResource written = existing;
    if (existing == null) {
      written = api.resource(ServiceImportObjects.of(service)).create();
      log.info("cluster {}: ServiceImport {} created", cluster, service.service());
    } else if (!ServiceImportObjects.specMatches(existing, service)) {
      written = api.resource(ServiceImportObjects.updated(existing, service)).update();
      log.info("cluster {}: ServiceImport {} updated", cluster, service.service());
    }
    if (!ServiceImportObjects.statusMatches(written, service)) {
      api.resource(ServiceImportObjects.withStatus(written, service)).updateStatus();
      log.debug("cluster {}: ServiceImport {} status written", cluster, service.service());
    }
  }

  private void delete(GenericKubernetesResource stale) {
    String namespace = stale.getMetadata().getNamespace();
    String name = stale.getMetadata().getName();
    try {
      // Only the version listed: one a user changed meanwhile is looked at again first.
      serviceImports()
          .inNamespace(namespace)
          .withName(name)
          .lockResourceVersion(stale.getMetadata().getResourceVersion())
          .delete();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw e;
      }
    }
    log.info(
        "cluster {}: ServiceImport {}/{} deleted (no longer imported)", cluster, namespace, name);
  }

  /** Logs each finding once, when it appears, and publishes the pass's findings. */
  private void publish(List<Finding> found) {
    for (Finding finding : found) {
      if (!logged.contains(finding)) {
        log.warn(
            "cluster {}: {}{}: {}",
            cluster,
            finding.kind(),
            finding.name().isEmpty() ? "" : " " + finding.namespace() + "/" + finding.name(),
            finding.message());
      }
    }
    logged = Set.copyOf(found);
    findings = List.copyOf(found);
  }

  private void retryLater() {
    if (closed || retry != null) {
      return;
    }
    retry =
        executor.schedule(
            () -> {
              retry = null;
              reconcile();
            },
            backoff.next().toMillis(),
            TimeUnit.MILLISECONDS);
  }

  private static String listProblem(KubernetesClientException e) {
    if (e.getCode() == 404) {
      return "the ServiceImport API ("
          + SERVICE_IMPORT.getGroup()
          + "/"
          + SERVICE_IMPORT.getVersion()
          + ") is not served, so imported services have no ServiceImports: install the MCS"
          + " CRDs (retrying)";
    }
    return "cannot list ServiceImports or Namespaces: " + Failure.of(e).reason();
  }

  /** What a failed call means for the next try, decided in one place. */
  private record Failure(boolean retry, String reason) {
    static Failure of(KubernetesClientException e) {
      String message = firstLine(e.getMessage());
      return switch (e.getCode()) {
        case 400, 422 ->
            new Failure(
                false,
                "refused by the API server ("
                    + message
                    + "); tried again at the next resync, or when the import changes");
        case 401, 403 ->
            new Failure(
                true,
                "not allowed ("
                    + message
                    + "); the agent needs get, list, watch, create, update, patch and delete on"
                    + " serviceimports and serviceimports/status of multicluster.x-k8s.io"
                    + " (retrying)");
        case 409 -> new Failure(true, "changed meanwhile (retrying)");
        default -> new Failure(true, message + " (retrying)");
      };
    }
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "no reason given";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  private MixedOperation<
          GenericKubernetesResource,
          GenericKubernetesResourceList,
          Resource<GenericKubernetesResource>>
      serviceImports() {
    return client.genericKubernetesResources(SERVICE_IMPORT);
  }

  private static String key(GenericKubernetesResource object) {
    return object.getMetadata().getNamespace() + "/" + object.getMetadata().getName();
  }

  /**
   * On a fabric8 thread. The API going away (the CRD deleted) stops the watch, which the next pass
   * that lists starts again; anything else is retried by the informer, the resync covering the gap.
   */
  private boolean watchProblem(
      SharedIndexInformer<GenericKubernetesResource> informer, Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof KubernetesClientException e && e.getCode() == 404) {
        onExecutor(
            () -> {
              if (watch == informer) {
                watch = null;
                informer.close();
              }
            });
        return false;
      }
    }
    String problem = "cannot watch ServiceImports (retrying): " + error.getMessage();
    if (!problem.equals(lastWatchProblem)) {
      lastWatchProblem = problem;
      log.warn("cluster {}: {}", cluster, problem);
    }
    return true;
  }

  private void onExecutor(Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException stopped) {
      log.debug("agent stopped; dropping a ServiceImport task");
    }
  }

  @Override
  public void close() {
    closed = true;
    SharedIndexInformer<GenericKubernetesResource> informer = watch;
    if (informer != null) {
      informer.close();
    }
    onExecutor(
        () -> {
          if (watch != null) {
            watch.close();
          }
          if (resync != null) {
            resync.cancel(false);
          }
          if (retry != null) {
            retry.cancel(false);
          }
          debouncer.cancel();
        });
  }

  /** A ServiceImport changed: a pass if it is ours, or has the name of an imported service. */
  private final class Changes implements ResourceEventHandler<GenericKubernetesResource> {
    @Override
    public void onAdd(GenericKubernetesResource object) {
      changed(object);
    }

    @Override
    public void onUpdate(GenericKubernetesResource before, GenericKubernetesResource after) {
      changed(before);
      changed(after);
    }

    @Override
    public void onDelete(GenericKubernetesResource object, boolean finalStateUnknown) {
      changed(object);
    }

    private void changed(GenericKubernetesResource object) {
      onExecutor(
          () -> {
            if (closed || desired == null) {
              return;
            }
            if (ServiceImportObjects.isOurs(object) || desiredNames.contains(key(object))) {
              debouncer.signal();
            }
          });
    }
  }
}
