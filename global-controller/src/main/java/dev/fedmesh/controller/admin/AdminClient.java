package dev.fedmesh.controller.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fedmesh.trust.SpiffeTls;
import dev.fedmesh.trust.SvidVerifier;
import dev.fedmesh.trust.TrustBundleSet;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/** A client of a controller replica's admin API, for the CLI and the lab. */
public final class AdminClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final String token;
  private final HttpClient http;

  /**
   * @param address {@code host:port} of the admin API
   */
  public AdminClient(String address) {
    this(address, "");
  }

  /**
   * @param address {@code host:port} of the admin API
   * @param token the admin token sent as {@code Authorization: Bearer}; empty sends none
   */
  public AdminClient(String address, String token) {
    this(address, token, Optional.empty());
  }

  /**
   * @param address {@code host:port} of the admin API
   * @param token the admin token sent as {@code Authorization: Bearer}; empty sends none
   * @param roots when present, the API is reached over TLS and the controller must present an SVID
   *     under these roots (a controller that runs the control plane with TLS serves its admin API
   *     so)
   */
  public AdminClient(String address, String token, Optional<TrustBundleSet> roots) {
    this.base = URI.create((roots.isPresent() ? "https://" : "http://") + address);
    this.token = token.strip();
    HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2));
    if (roots.isPresent()) {
      try {
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(
            null,
            new TrustManager[] {
              SpiffeTls.trustManager(
                  SvidVerifier.of(roots.get(), java.time.Clock.systemUTC()), id -> true)
            },
            null);
        builder.sslContext(context);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("TLS 1.3 is not available: " + e.getMessage(), e);
      }
    }
    this.http = builder.build();
  }

  /** The roots in a PEM file, for {@link #AdminClient(String, String, Optional)}. */
  public static TrustBundleSet roots(java.nio.file.Path pem) throws IOException {
    return TrustBundleSet.ofRootsPem(java.nio.file.Files.readString(pem), pem.toString());
  }

  /** Whether the replica is up and following etcd. */
  public boolean ready() {
    try {
      return get("/ready").statusCode() == 200;
    } catch (IOException e) {
      return false;
    }
  }

  /** The replica's {@code /status} document. */
  public JsonNode status() throws IOException {
    return json("/status");
  }

  /** The replica's {@code /analyze} document: coded findings about the mesh. */
  public JsonNode analyze() throws IOException {
    return json("/analyze");
  }

  /** The replica's {@code /proxies} document: every connected proxy's stream status. */
  public JsonNode proxies() throws IOException {
    return json("/proxies");
  }

  /** The xDS resources a proxy with the given context is served; see {@link AdminServer}. */
  public JsonNode resources(String query) throws IOException {
    return json("/debug/resources?" + query);
  }

  /**
   * Sends {@code method path} with the admin token and returns the answer as it arrives, for {@code
   * fedmesh dashboard}, which relays the web UI: its files and its event stream, whose body never
   * ends. Only the wait for the answer's head is bounded.
   */
  public HttpResponse<java.io.InputStream> open(String method, String path, byte[] body)
      throws IOException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(base.resolve(path))
            .timeout(Duration.ofSeconds(10))
            .method(
                method,
                body.length == 0
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (!token.isEmpty()) {
      request.header("Authorization", "Bearer " + token);
    }
    return send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
  }

  /** The admin API's base URL ({@code https://host:port} when over TLS). */
  public URI base() {
    return base;
  }

  /** An answer of a policy endpoint: its HTTP status and JSON body. */
  public record PolicyAnswer(int status, JsonNode body) {
    public boolean ok() {
      return status == 200;
    }
  }

  /** {@code POST /policies}: applies (or with dryRun checks) documents; see the admin server. */
  public PolicyAnswer applyPolicies(JsonNode request) throws IOException {
    return post("/policies", request);
  }

  /** {@code POST /policies/delete}. */
  public PolicyAnswer deletePolicies(JsonNode request) throws IOException {
    return post("/policies/delete", request);
  }

  /** {@code GET /policies?kind=&namespace=&name=} (empty values: all). */
  public PolicyAnswer policies(String kind, String namespace, String name) throws IOException {
    String query =
        "kind="
            + java.net.URLEncoder.encode(kind, java.nio.charset.StandardCharsets.UTF_8)
            + "&namespace="
            + java.net.URLEncoder.encode(namespace, java.nio.charset.StandardCharsets.UTF_8)
            + "&name="
            + java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8);
    HttpResponse<String> response = get("/policies?" + query);
    return answer(response);
  }

  private PolicyAnswer post(String path, JsonNode body) throws IOException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(base.resolve(path))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
    if (!token.isEmpty()) {
      request.header("Authorization", "Bearer " + token);
    }
    return answer(send(request.build()));
  }

  private PolicyAnswer answer(HttpResponse<String> response) throws IOException {
    JsonNode body;
    try {
      body = JSON.readTree(response.body());
    } catch (IOException e) {
      body =
          JSON.createObjectNode()
              .set("errors", JSON.createArrayNode().add(response.body().strip()));
    }
    return new PolicyAnswer(response.statusCode(), body);
  }

  private JsonNode json(String path) throws IOException {
    HttpResponse<String> response = get(path);
    if (response.statusCode() != 200) {
      throw new IOException(
          base + path + ": HTTP " + response.statusCode() + ": " + response.body().strip());
    }
    return JSON.readTree(response.body());
  }

  private HttpRequest request(String path) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(5));
    if (!token.isEmpty()) {
      request.header("Authorization", "Bearer " + token);
    }
    return request.build();
  }

  private HttpResponse<String> get(String path) throws IOException {
    return send(request(path));
  }

  private HttpResponse<String> send(HttpRequest request) throws IOException {
    return send(request, HttpResponse.BodyHandlers.ofString());
  }

  private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> body)
      throws IOException {
    try {
      return http.send(request, body);
    } catch (IOException e) {
      throw new IOException(
          "cannot reach the controller's admin API at "
              + base.getAuthority()
              + " ("
              + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
              + "); is the controller running? (--controller host:port)",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
