package dev.fedmesh.proxy.telemetry;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who a proxy stands in front of, as Istio's telemetry labels name it: the workload (the
 * deployment: {@code app-version}, as Kiali shows it), its namespace, app and version labels and
 * cluster. Sidecars tell each other this in a header on every request and response (see {@link
 * #HEADER}), so that both ends of a call can label its metrics with both ends' names.
 */
public record Workload(String name, String namespace, String app, String version, String cluster) {
  /**
   * The metadata-exchange header: the caller's sidecar adds its workload to the request, the
   * callee's to the response; each removes the other's before the application or client sees it.
   * Istio's sidecars use {@code x-envoy-peer-metadata} with a protobuf Struct; ours carries the
   * same facts as {@code key=value} pairs separated by {@code ;}, base64url-encoded.
   */
  public static final String HEADER = "x-fedmesh-peer-metadata";

  /** What the labels say when the other end did not (or could not be trusted to) say. */
  public static final Workload UNKNOWN =
      new Workload("unknown", "unknown", "unknown", "unknown", "unknown");

  public Workload {
    requireNonNull(name, "name");
    requireNonNull(namespace, "namespace");
    requireNonNull(app, "app");
    requireNonNull(version, "version");
    requireNonNull(cluster, "cluster");
  }

  /**
   * A workload from a pod's labels: {@code app} (or {@code app.kubernetes.io/name}) and {@code
   * version} (or {@code app.kubernetes.io/version}); its name is {@code app-version}, or the
   * service account when the pod has no app label.
   */
  public static Workload of(
      Map<String, String> labels, String namespace, String serviceAccount, String cluster) {
    String app = labels.getOrDefault("app", labels.getOrDefault("app.kubernetes.io/name", ""));
    String version =
        labels.getOrDefault("version", labels.getOrDefault("app.kubernetes.io/version", ""));
    String name =
        labels.getOrDefault(
            "service.istio.io/canonical-name",
            app.isEmpty() ? serviceAccount : version.isEmpty() ? app : app + "-" + version);
    return new Workload(
        name,
        namespace,
        app.isEmpty() ? "unknown" : app,
        version.isEmpty() ? "unknown" : version,
        cluster);
  }

  /** This workload as the header's value. */
  public String toHeader() {
    String text =
        "name="
            + name
            + ";namespace="
            + namespace
            + ";app="
            + app
            + ";version="
            + version
            + ";cluster="
            + cluster;
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Header values already parsed. A proxy hears from few peer workloads, each sending the same
   * value on every request; the bound keeps a peer that varies its header from growing the map.
   */
  private static final int PARSED_LIMIT = 512;

  private static final Map<String, Workload> PARSED = new ConcurrentHashMap<>();

  /** The workload a header names; {@link #UNKNOWN} for anything malformed or absent. */
  public static Workload fromHeader(String value) {
    if (value == null || value.isEmpty() || value.length() > 1024) {
      return UNKNOWN;
    }
    Workload known = PARSED.get(value);
    if (known != null) {
      return known;
    }
    Workload parsed = parse(value);
    if (PARSED.size() < PARSED_LIMIT) {
      PARSED.put(value, parsed);
    }
    return parsed;
  }

  private static Workload parse(String value) {
    try {
      String text = new String(Base64.getUrlDecoder().decode(value), StandardCharsets.UTF_8);
      Map<String, String> fields = new LinkedHashMap<>();
      for (String pair : text.split(";")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          fields.put(pair.substring(0, eq), clean(pair.substring(eq + 1)));
        }
      }
      return new Workload(
          fields.getOrDefault("name", "unknown"),
          fields.getOrDefault("namespace", "unknown"),
          fields.getOrDefault("app", "unknown"),
          fields.getOrDefault("version", "unknown"),
          fields.getOrDefault("cluster", "unknown"));
    } catch (IllegalArgumentException e) {
      return UNKNOWN;
    }
  }

  /** Label values from a peer are kept short and printable. */
  private static String clean(String value) {
    StringBuilder out = new StringBuilder(Math.min(value.length(), 128));
    for (int i = 0; i < value.length() && out.length() < 128; i++) {
      char c = value.charAt(i);
      out.append(c >= 0x20 && c < 0x7f ? c : '_');
    }
    return out.length() == 0 ? "unknown" : out.toString();
  }
}
