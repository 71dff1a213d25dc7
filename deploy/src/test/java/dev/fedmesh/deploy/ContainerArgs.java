package dev.fedmesh.deploy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A container's arguments as the kubelet hands them to the process: {@code $(NAME)} replaced by the
 * container's environment, whose values come from literals, ConfigMap keys and the downward API. A
 * reference the environment does not define stays as written, as the kubelet leaves it.
 */
final class ContainerArgs {
  private static final Pattern REFERENCE = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");

  /** What the downward API would give a pod of this name in this namespace. */
  record PodFacts(String name, String namespace) {}

  private ContainerArgs() {}

  /** The container's environment, resolved against {@code configMaps} (by name) and the pod. */
  static Map<String, String> environment(
      Container container, Map<String, ConfigMap> configMaps, PodFacts pod) {
    Map<String, String> environment = new LinkedHashMap<>();
    for (EnvVar variable : Optional.ofNullable(container.getEnv()).orElse(List.of())) {
      if (variable.getValueFrom() == null) {
        environment.put(variable.getName(), expand(variable.getValue(), environment));
      } else if (variable.getValueFrom().getConfigMapKeyRef() != null) {
        var reference = variable.getValueFrom().getConfigMapKeyRef();
        ConfigMap map = configMaps.get(reference.getName());
        if (map != null && map.getData() != null && map.getData().containsKey(reference.getKey())) {
          environment.put(variable.getName(), map.getData().get(reference.getKey()));
        }
      } else if (variable.getValueFrom().getFieldRef() != null) {
        String field = variable.getValueFrom().getFieldRef().getFieldPath();
        switch (field) {
          case "metadata.name" -> environment.put(variable.getName(), pod.name());
          case "metadata.namespace" -> environment.put(variable.getName(), pod.namespace());
          default -> environment.put(variable.getName(), "<" + field + ">");
        }
      }
    }
    return environment;
  }

  /** The container's arguments with every {@code $(NAME)} of its environment expanded. */
  static List<String> resolve(
      Container container, Map<String, ConfigMap> configMaps, PodFacts pod) {
    Map<String, String> environment = environment(container, configMaps, pod);
    List<String> args = new ArrayList<>();
    for (String arg : Optional.ofNullable(container.getArgs()).orElse(List.of())) {
      args.add(expand(arg, environment));
    }
    return args;
  }

  /** The value of {@code --name=value} or {@code --name value} among {@code args}. */
  static Optional<String> flag(List<String> args, String name) {
    List<String> values = flags(args, name);
    return values.isEmpty() ? Optional.empty() : Optional.of(values.get(values.size() - 1));
  }

  /** Every value given to a repeatable flag. */
  static List<String> flags(List<String> args, String name) {
    List<String> values = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.startsWith(name + "=")) {
        values.add(arg.substring(name.length() + 1));
      } else if (arg.equals(name) && i + 1 < args.size()) {
        values.add(args.get(++i));
      }
    }
    return values;
  }

  /** The port of a {@code host:port} address. */
  static int port(String hostPort) {
    return Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
  }

  static String host(String hostPort) {
    return hostPort.substring(0, hostPort.lastIndexOf(':'));
  }

  /** The mount holding {@code path} (the longest mount path that contains it). */
  static Optional<VolumeMount> mountOf(Container container, String path) {
    return Optional.ofNullable(container.getVolumeMounts()).orElse(List.of()).stream()
        .filter(
            mount ->
                path.equals(mount.getMountPath()) || path.startsWith(mount.getMountPath() + "/"))
        .max((a, b) -> Integer.compare(a.getMountPath().length(), b.getMountPath().length()));
  }

  private static String expand(String value, Map<String, String> environment) {
    if (value == null) {
      return "";
    }
    Matcher matcher = REFERENCE.matcher(value);
    StringBuilder out = new StringBuilder();
    while (matcher.find()) {
      String replacement = environment.get(matcher.group(1));
      matcher.appendReplacement(
          out, Matcher.quoteReplacement(replacement != null ? replacement : matcher.group()));
    }
    matcher.appendTail(out);
    return out.toString();
  }
}
