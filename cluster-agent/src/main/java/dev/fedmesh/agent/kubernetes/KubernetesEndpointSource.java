package dev.fedmesh.agent.kubernetes;

import static java.util.Objects.requireNonNull;

import dev.fedmesh.agent.source.EndpointSource;
import dev.fedmesh.agent.source.Finding;
import dev.fedmesh.model.ClusterName;
import dev.fedmesh.model.Debouncer;
import dev.fedmesh.model.Locality;
import dev.fedmesh.model.ServiceEndpoints;
import dev.fedmesh.model.ServiceKey;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's services as Kubernetes knows them: shared informers on Services, EndpointSlices
 * ({@code discovery.k8s.io/v1}), Pods, Nodes, Namespaces and ServiceExports ({@code
 * multicluster.x-k8s.io/v1alpha1}), translated into the mesh's endpoints. Every change, debounced,
 * rebuilds the complete state; the listener hears it when it differs from what it last heard.
 *
 * <p>The first state is delivered only once every informer has listed its objects, since the
 * controller withdraws whatever the agent's first state does not contain. A cluster without the
 * ServiceExport API (the MCS CRD is not installed) exports by annotation only, and picks up
 * ServiceExports once the API appears ({@link ServiceExportWatch}).
 *
 * <p>Rebuilds and the listener run on the agent's executor; informer callbacks only hop onto it.
 */
public final class KubernetesEndpointSource implements EndpointSource {
  private static final Logger log = LoggerFactory.getLogger(KubernetesEndpointSource.class);

  /** The MCS API's ServiceExport, which fabric8 reads as a generic resource. */
  public static final ResourceDefinitionContext SERVICE_EXPORT =
      new ResourceDefinitionContext.Builder()
          .withGroup("multicluster.x-k8s.io")
          .withVersion("v1alpha1")
          .withKind("ServiceExport")
          .withPlural("serviceexports")
          .withNamespaced(true)
          .build();

  private static final String BY_SERVICE = "by-service";

  /**
   * How quickly changes are reported.
   *
   * @param quiet how long the cluster must be quiet before a rebuild (a burst of events is one)
   * @param maxDelay the longest a change waits, however busy the cluster is
   * @param serviceExportProbe how often to look for the ServiceExport API while it is not served
   */
  public record Settings(Duration quiet, Duration maxDelay, Duration serviceExportProbe) {
    public Settings {
      requireNonNull(quiet, "quiet");
      requireNonNull(maxDelay, "maxDelay");
      requireNonNull(serviceExportProbe, "serviceExportProbe");
      if (quiet.isNegative()) {
        throw new IllegalArgumentException("quiet: " + quiet + " (expected: >= 0)");
      }
      if (maxDelay.compareTo(quiet) < 0) {
        throw new IllegalArgumentException(
            "maxDelay: " + maxDelay + " (expected: >= quiet " + quiet + ")");
      }
      if (serviceExportProbe.isNegative() || serviceExportProbe.isZero()) {
        throw new IllegalArgumentException(
            "serviceExportProbe: " + serviceExportProbe + " (expected: > 0)");
      }
    }

    /**
     * 100 ms of quiet, at most 1 s of delay; a missing ServiceExport API is looked for every
     * minute.
     */
    public static Settings defaults() {
      return new Settings(Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofMinutes(1));
    }
  }

  private final KubernetesClient client;
  private final ClusterName cluster;
  private final ScheduledExecutorService executor;
  private final KubernetesEvents events;
  private final ServiceTranslator translator;
  private final Debouncer debouncer;
  private final Set<String> loggedProblems = ConcurrentHashMap.newKeySet();

  // Set once by start(), then read on the executor and by close().
  private volatile SharedIndexInformer<Service> services;
  private volatile SharedIndexInformer<EndpointSlice> slices;
  private volatile SharedIndexInformer<Pod> pods;
  private volatile SharedIndexInformer<Node> nodes;
  private volatile SharedIndexInformer<Namespace> namespaces;
  private final ServiceExportWatch exports;

  // Confined to the executor.
  private Listener listener;
  private boolean synced;
  private volatile boolean closed;
  private Map<ServiceKey, ServiceEndpoints> delivered;
  private Set<Finding> reported = Set.of();
  private volatile List<Finding> findings = List.of();

  /**
   * @param client the cluster's API; the source does not close it
   * @param cluster this cluster's name
   * @param clusterLocality the locality of endpoints whose node has no topology labels
   * @param executor the agent's executor, where rebuilds and the listener run
   * @param nanoTime the clock of the debounce
   * @param events where findings are recorded as Kubernetes Events
   */
  public KubernetesEndpointSource(
      KubernetesClient client,
      ClusterName cluster,
      Locality clusterLocality,
      ScheduledExecutorService executor,
      LongSupplier nanoTime,
      Settings settings,
      KubernetesEvents events) {
    this.client = requireNonNull(client, "client");
    this.cluster = requireNonNull(cluster, "cluster");
    this.executor = requireNonNull(executor, "executor");
    this.events = requireNonNull(events, "events");
    requireNonNull(settings, "settings");
    this.exports =
        new ServiceExportWatch(
            client,
            cluster,
            executor,
            settings.serviceExportProbe(),
            new Changes<>(),
            this::checkSynced);
    this.translator =
        new ServiceTranslator(cluster, requireNonNull(clusterLocality, "clusterLocality"));
    this.debouncer =
        new Debouncer(
            executor,
            requireNonNull(nanoTime, "nanoTime"),
            settings.quiet(),
            settings.maxDelay(),
            this::rebuild);
  }

  @Override
  public void start(Listener listener) {
    requireNonNull(listener, "listener");
    onExecutor(() -> this.listener = listener);
    services = informer(client.services().inAnyNamespace().runnableInformer(0), "Services");
    slices =
        informer(
            client
                .discovery()
                .v1()
                .endpointSlices()
                .inAnyNamespace()
                .runnableInformer(0)
                .addIndexers(Map.of(BY_SERVICE, KubernetesEndpointSource::serviceOfSlice)),
            "EndpointSlices");
    pods = informer(client.pods().inAnyNamespace().runnableInformer(0), "Pods");
    nodes = informer(client.nodes().runnableInformer(0), "Nodes");
    namespaces = informer(client.namespaces().runnableInformer(0), "Namespaces");
    for (SharedIndexInformer<?> informer : List.of(services, slices, pods, nodes, namespaces)) {
      informer.start().whenComplete((ignored, error) -> onExecutor(this::checkSynced));
    }
    exports.start();
    log.info("cluster {}: watching Kubernetes", cluster);
  }

  private <T extends HasMetadata> SharedIndexInformer<T> informer(
      SharedIndexInformer<T> informer, String what) {
    return informer
        .exceptionHandler(
            (started, error) -> {
              logOnce(what, "cannot watch " + what + " (retrying): " + error.getMessage());
              return true;
            })
        .addEventHandler(new Changes<>());
  }

  private void logOnce(String key, String problem) {
    if (loggedProblems.add(key + ": " + problem)) {
      log.warn("cluster {}: {}", cluster, problem);
    }
  }

  private void checkSynced() {
    if (synced || closed) {
      return;
    }
    boolean coreSynced =
        services.hasSynced()
            && slices.hasSynced()
            && pods.hasSynced()
            && nodes.hasSynced()
            && namespaces.hasSynced();
    if (coreSynced && exports.isListed()) {
      synced = true;
      debouncer.signal();
    }
  }

  private void rebuild() {
    if (!synced || closed) {
      return;
    }
    ServiceTranslator.Translation translation = translator.translate(new InformerView());
    report(translation.findings());
    if (!translation.services().equals(delivered)) {
      delivered = translation.services();
      log.debug("cluster {}: {} services", cluster, delivered.size());
      listener.onServices(delivered);
    }
  }

  /** Logs and records each finding once, when it appears; a fixed one leaves the status. */
  private void report(List<Finding> current) {
    Set<Finding> now = Set.copyOf(current);
    for (Finding finding : current) {
      if (reported.contains(finding)) {
        continue;
      }
      log.warn(
          "{} {}/{} port {}: {}",
          finding.kind(),
          finding.namespace(),
          finding.name(),
          finding.port(),
          finding.message());
      Service service = services.getStore().getByKey(finding.namespace() + "/" + finding.name());
      if (service != null) {
        events.warn(service, finding.kind(), finding.message());
      }
    }
    reported = now;
    findings = List.copyOf(current);
  }

  @Override
  public List<Finding> findings() {
    return findings;
  }

  private void onExecutor(Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException stopped) {
      log.debug("agent stopped; dropping a Kubernetes event");
    }
  }

  private static List<String> serviceOfSlice(EndpointSlice slice) {
    Map<String, String> labels = slice.getMetadata().getLabels();
    String service = labels == null ? null : labels.get(ServiceTranslator.SERVICE_NAME_LABEL);
    return service == null
        ? List.of()
        : List.of(slice.getMetadata().getNamespace() + "/" + service);
  }

  @Override
  public void close() {
    closed = true;
    Stream.of(services, slices, pods, nodes, namespaces)
        .filter(Objects::nonNull)
        .forEach(SharedIndexInformer::close);
    try {
      // On the executor, after whatever is under way there: no watch outlives close().
      executor.execute(
          () -> {
            exports.close();
            debouncer.cancel();
          });
    } catch (RejectedExecutionException stopped) {
      exports.close();
    }
  }

  /** Any change to any watched object: rebuild, debounced. */
  private final class Changes<T> implements ResourceEventHandler<T> {
    @Override
    public void onAdd(T object) {
      changed();
    }

    @Override
    public void onUpdate(T before, T after) {
      changed();
    }

    @Override
    public void onDelete(T object, boolean finalStateUnknown) {
      changed();
    }

    private void changed() {
      onExecutor(
          () -> {
            if (synced && !closed) {
              debouncer.signal();
            }
          });
    }
  }

  private final class InformerView implements KubernetesView {
    @Override
    public List<Service> services() {
      return services.getStore().list();
    }

    @Override
    public List<EndpointSlice> slicesOf(String namespace, String service) {
      return slices.getIndexer().byIndex(BY_SERVICE, namespace + "/" + service);
    }

    @Override
    public Optional<Pod> pod(String namespace, String name) {
      return Optional.ofNullable(pods.getStore().getByKey(namespace + "/" + name));
    }

    @Override
    public Optional<Node> node(String name) {
      return Optional.ofNullable(nodes.getStore().getByKey(name));
    }

    @Override
    public Optional<Namespace> namespace(String name) {
      return Optional.ofNullable(namespaces.getStore().getByKey(name));
    }

    @Override
    public boolean hasServiceExport(String namespace, String name) {
      return exports.exists(namespace, name);
    }
  }
}
