package dev.fedmesh.deploy;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Kubernetes' RBAC authorizer, small: a request's method and path become the attributes the API
 * server derives (verb, API group, resource, subresource, namespace, name; see the apiserver's
 * RequestInfoFactory), and a request is allowed when a rule of a role bound to its user grants it:
 * ClusterRoleBindings everywhere, RoleBindings in their own namespace. Discovery paths (/api,
 * /apis, /version, /openapi) are open to every authenticated user, as the default system:discovery
 * role makes them; nothing else is.
 */
final class RbacAuthorizer {
  /** Namespace subresources that stay subresources ({@code namespaces/x/status}). */
  private static final Set<String> NAMESPACE_SUBRESOURCES = Set.of("status", "finalize");

  /**
   * What the API server authorizes a request by.
   *
   * @param verb get, list, watch, create, update, patch, delete, deletecollection; or the lowercase
   *     HTTP method of a non-resource request
   * @param apiGroup "" for the core group
   * @param resource empty for a non-resource request
   * @param namespace empty for cluster-scoped requests
   * @param path the request's path, as sent
   */
  record Request(
      String verb,
      String apiGroup,
      String resource,
      String subresource,
      String namespace,
      String name,
      String path) {
    boolean isResourceRequest() {
      return !resource.isEmpty();
    }

    /** As the API server words a denial: "create serviceimports.multicluster.x-k8s.io ...". */
    String describe() {
      if (!isResourceRequest()) {
        return verb + " " + path;
      }
      return verb
          + " "
          + resource
          + (subresource.isEmpty() ? "" : "/" + subresource)
          + (apiGroup.isEmpty() ? "" : "." + apiGroup)
          + (name.isEmpty() ? "" : " '" + name + "'")
          + (namespace.isEmpty() ? " (cluster-wide)" : " in namespace " + namespace);
    }
  }

  /** A rule in force for the user, and where it applies. */
  record GrantedRule(String role, int index, PolicyRule rule, Optional<String> namespace) {
    String describe() {
      return role
          + " rule "
          + index
          + " "
          + rule.getVerbs()
          + " "
          + rule.getApiGroups()
          + " "
          + rule.getResources()
          + (rule.getResourceNames() == null || rule.getResourceNames().isEmpty()
              ? ""
              : " names " + rule.getResourceNames())
          + namespace.map(ns -> " in " + ns).orElse("");
    }
  }

  private final String user;
  private final List<GrantedRule> rules;

  private RbacAuthorizer(String user, List<GrantedRule> rules) {
    this.user = user;
    this.rules = List.copyOf(rules);
  }

  /**
   * The rules the roles and bindings among {@code objects} grant the service account {@code
   * namespace/name}.
   */
  static RbacAuthorizer forServiceAccount(
      List<? extends HasMetadata> objects, String namespace, String name) {
    String user = "system:serviceaccount:" + namespace + ":" + name;
    List<GrantedRule> granted = new ArrayList<>();
    for (HasMetadata object : objects) {
      if (object instanceof ClusterRoleBinding binding
          && binds(binding.getSubjects(), namespace, name)) {
        granted.addAll(rulesOf(objects, binding.getRoleRef(), null, Optional.empty()));
      } else if (object instanceof RoleBinding binding
          && binds(binding.getSubjects(), namespace, name)) {
        String bindingNamespace = binding.getMetadata().getNamespace();
        granted.addAll(
            rulesOf(
                objects, binding.getRoleRef(), bindingNamespace, Optional.of(bindingNamespace)));
      }
    }
    return new RbacAuthorizer(user, granted);
  }

  String user() {
    return user;
  }

  List<GrantedRule> rules() {
    return rules;
  }

  /** Whether some rule grants {@code request}. */
  boolean allows(Request request) {
    if (!request.isResourceRequest()) {
      return isDiscovery(request);
    }
    return rules.stream().anyMatch(rule -> grants(rule, request));
  }

  /** Whether {@code rule} grants {@code request}. */
  static boolean grants(GrantedRule granted, Request request) {
    if (!request.isResourceRequest()) {
      return false;
    }
    if (granted.namespace().isPresent() && !granted.namespace().get().equals(request.namespace())) {
      return false;
    }
    PolicyRule rule = granted.rule();
    String resource =
        request.subresource().isEmpty()
            ? request.resource()
            : request.resource() + "/" + request.subresource();
    return matches(rule.getVerbs(), request.verb())
        && matches(rule.getApiGroups(), request.apiGroup())
        && (matches(rule.getResources(), resource)
            || (!request.subresource().isEmpty()
                && rule.getResources() != null
                && (rule.getResources().contains("*/" + request.subresource())
                    || rule.getResources().contains(request.resource() + "/*"))))
        && (rule.getResourceNames() == null
            || rule.getResourceNames().isEmpty()
            || (!request.name().isEmpty() && rule.getResourceNames().contains(request.name())));
  }

  /** The attributes of a request with this HTTP method and path (query included). */
  static Request parse(String method, String pathAndQuery) {
    requireNonNull(method, "method");
    String path = pathAndQuery;
    String query = "";
    int question = path.indexOf('?');
    if (question >= 0) {
      query = path.substring(question + 1);
      path = path.substring(0, question);
    }
    List<String> parts =
        new ArrayList<>(Arrays.stream(path.split("/")).filter(p -> !p.isEmpty()).toList());
    String lower = method.toLowerCase(java.util.Locale.ROOT);
    Request nonResource = new Request(lower, "", "", "", "", "", pathAndQuery);
    String group;
    int first;
    if (!parts.isEmpty() && parts.get(0).equals("api") && parts.size() >= 2) {
      group = "";
      first = 2;
    } else if (!parts.isEmpty() && parts.get(0).equals("apis") && parts.size() >= 3) {
      group = parts.get(1);
      first = 3;
    } else {
      return nonResource;
    }
    List<String> rest = new ArrayList<>(parts.subList(first, parts.size()));
    if (rest.isEmpty()) {
      return nonResource;
    }
    boolean watchPrefix = false;
    if (rest.get(0).equals("watch")) {
      watchPrefix = true;
      rest.remove(0);
    }
    String namespace = "";
    if (rest.size() > 1 && rest.get(0).equals("namespaces")) {
      namespace = rest.get(1);
      if (rest.size() > 2 && !NAMESPACE_SUBRESOURCES.contains(rest.get(2))) {
        rest = new ArrayList<>(rest.subList(2, rest.size()));
      }
    }
    String resource = rest.get(0);
    String name = rest.size() > 1 ? rest.get(1) : "";
    String subresource = rest.size() > 2 ? rest.get(2) : "";
    String verb =
        switch (method.toUpperCase(java.util.Locale.ROOT)) {
          case "GET", "HEAD" ->
              watchPrefix || isWatch(query) ? "watch" : name.isEmpty() ? "list" : "get";
          case "POST" -> "create";
          case "PUT" -> "update";
          case "PATCH" -> "patch";
          case "DELETE" -> name.isEmpty() ? "deletecollection" : "delete";
          default -> lower;
        };
    return new Request(verb, group, resource, subresource, namespace, name, pathAndQuery);
  }

  private static boolean isWatch(String query) {
    for (String pair : query.split("&")) {
      int equals = pair.indexOf('=');
      String key = equals < 0 ? pair : pair.substring(0, equals);
      String value =
          equals < 0 ? "" : URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
      if (key.equals("watch") && (value.equals("true") || value.equals("1"))) {
        return true;
      }
    }
    return false;
  }

  private static boolean isDiscovery(Request request) {
    if (!request.verb().equals("get")) {
      return false;
    }
    String path = request.path().replaceFirst("\\?.*$", "");
    return path.equals("/api")
        || path.equals("/apis")
        || path.equals("/version")
        || path.startsWith("/openapi/")
        || path.matches("/api/v1/?")
        || path.matches("/apis/[^/]+(/[^/]+)?/?");
  }

  private static boolean matches(List<String> allowed, String value) {
    return allowed != null && (allowed.contains("*") || allowed.contains(value));
  }

  private static boolean binds(List<Subject> subjects, String namespace, String name) {
    if (subjects == null) {
      return false;
    }
    for (Subject subject : subjects) {
      switch (subject.getKind()) {
        case "ServiceAccount" -> {
          if (name.equals(subject.getName()) && namespace.equals(subject.getNamespace())) {
            return true;
          }
        }
        case "User" -> {
          if (("system:serviceaccount:" + namespace + ":" + name).equals(subject.getName())) {
            return true;
          }
        }
        case "Group" -> {
          if (Set.of(
                  "system:serviceaccounts",
                  "system:serviceaccounts:" + namespace,
                  "system:authenticated")
              .contains(subject.getName())) {
            return true;
          }
        }
        default -> {}
      }
    }
    return false;
  }

  private static List<GrantedRule> rulesOf(
      List<? extends HasMetadata> objects,
      RoleRef reference,
      String bindingNamespace,
      Optional<String> scope) {
    List<GrantedRule> granted = new ArrayList<>();
    for (HasMetadata object : objects) {
      List<PolicyRule> rules = null;
      if (reference.getKind().equals("ClusterRole")
          && object instanceof ClusterRole role
          && role.getMetadata().getName().equals(reference.getName())) {
        rules = role.getRules();
      } else if (reference.getKind().equals("Role")
          && object instanceof Role role
          && role.getMetadata().getName().equals(reference.getName())
          && role.getMetadata().getNamespace().equals(bindingNamespace)) {
        rules = role.getRules();
      }
      if (rules != null) {
        for (int i = 0; i < rules.size(); i++) {
          granted.add(
              new GrantedRule(
                  object.getKind() + "/" + object.getMetadata().getName(), i, rules.get(i), scope));
        }
      }
    }
    return granted;
  }
}
