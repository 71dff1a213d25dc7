package dev.fedmesh.model.policy;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SMI's {@code TrafficSplit}: requests to a root Service shared among backend Services by relative
 * weight. It becomes one weighted VirtualService rule for the root Service's host, each backend its
 * own Service's cluster. A VirtualService, HTTPRoute or GRPCRoute for the same host takes
 * precedence ({@link PolicySet#virtualServiceFor}); {@link PolicySet#check} warns when one does. It
 * routes HTTP and gRPC ports; a TCP port's connections are not split.
 *
 * @param service the root Service's fully qualified host
 * @param backends the backends of weight above 0, weights reduced by their common divisor
 */
public record TrafficSplit(ObjectMeta metadata, String service, List<Backend> backends)
    implements Policy {

  /** The largest sum of weights, after reduction: Envoy adds weights as 32-bit numbers. */
  static final long MAX_TOTAL_WEIGHT = 1_000_000_000L;

  public TrafficSplit {
    requireNonNull(metadata, "metadata");
    requireNonNull(service, "service");
    backends = List.copyOf(backends);
  }

  /**
   * One backend.
   *
   * @param host the backend Service's fully qualified host
   * @param weight its relative weight, above 0
   */
  public record Backend(String host, int weight) {}

  @Override
  public PolicyKind kind() {
    return PolicyKind.TRAFFIC_SPLIT;
  }

  @Override
  public TrafficSplit withMetadata(ObjectMeta metadata) {
    return new TrafficSplit(metadata, service, backends);
  }

  /** The split as a VirtualService rule; a split whose backends all weigh 0 routes nowhere. */
  public VirtualService.HttpRoute route() {
    List<VirtualService.Destination> destinations = new ArrayList<>();
    for (Backend backend : backends) {
      destinations.add(
          new VirtualService.Destination(
              backend.host(),
              "",
              OptionalInt.empty(),
              backend.weight(),
              VirtualService.HeaderChanges.NONE));
    }
    return new VirtualService.HttpRoute(
        metadata.name(),
        List.of(),
        destinations,
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        VirtualService.HeaderChanges.NONE,
        Optional.empty());
  }

  // ---------------------------------------------------------------------------------------------

  /** A Kubernetes quantity as SMI v1alpha1 and v1alpha2 weights are written: 1, 500, 900m, 1.5. */
  private static final Pattern QUANTITY = Pattern.compile("([0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(m|k)?");

  static TrafficSplit parse(ObjectMeta metadata, Fields spec, String apiVersion) {
    String ns = metadata.namespace();
    boolean quantities = apiVersion.endsWith("/v1alpha2");
    Optional<String> root = serviceName(spec, "service");
    List<String> hosts = new ArrayList<>();
    List<BigInteger> milli = new ArrayList<>();
    List<Fields> written = spec.objects("backends");
    if (written.isEmpty()) {
      spec.error(
          "backends",
          (spec.has("backends") ? "empty" : "missing") + " (expected: at least one backend)");
    }
    boolean complete = true;
    for (Fields backend : written) {
      Optional<String> service = serviceName(backend, "service");
      Optional<BigInteger> weight = weight(backend, quantities);
      backend.end();
      if (service.isPresent() && hosts.contains(Hosts.qualify(service.get(), ns))) {
        backend.error(
            "service", "'" + service.get() + "' is a backend twice (expected: each once)");
        complete = false;
      } else if (service.isEmpty() || weight.isEmpty()) {
        complete = false;
      } else {
        hosts.add(Hosts.qualify(service.get(), ns));
        milli.add(weight.get());
      }
    }
    spec.unsupported(
        "matches", "HTTPRouteGroup and TCPRoute matches are not read; use an HTTPRoute instead");
    spec.end();
    List<Backend> backends = new ArrayList<>();
    if (complete) {
      BigInteger divisor = BigInteger.ZERO;
      BigInteger total = BigInteger.ZERO;
      for (BigInteger w : milli) {
        divisor = divisor.gcd(w);
      }
      for (BigInteger w : milli) {
        total = total.add(divisor.signum() == 0 ? w : w.divide(divisor));
      }
      if (total.compareTo(BigInteger.valueOf(MAX_TOTAL_WEIGHT)) > 0) {
        spec.error(
            "backends",
            "weights add up to "
                + total
                + " after dividing by their common divisor (expected: at most "
                + MAX_TOTAL_WEIGHT
                + ")");
      } else {
        for (int i = 0; i < hosts.size(); i++) {
          if (milli.get(i).signum() > 0) {
            backends.add(new Backend(hosts.get(i), milli.get(i).divide(divisor).intValueExact()));
          }
        }
      }
    }
    return new TrafficSplit(metadata, root.map(r -> Hosts.qualify(r, ns)).orElse(""), backends);
  }

  /** A Service of the TrafficSplit's own namespace, by name. */
  private static Optional<String> serviceName(Fields fields, String field) {
    Optional<String> name = fields.requiredString(field);
    if (name.isPresent() && !ObjectMeta.DNS_LABEL.matcher(name.get()).matches()) {
      fields.error(
          field,
          "'"
              + name.get()
              + "' (expected: the name of a Service in the TrafficSplit's namespace, a DNS label)");
      return Optional.empty();
    }
    return name;
  }

  /** A backend's weight in thousandths: a whole number, or in v1alpha2 a quantity. */
  private static Optional<BigInteger> weight(Fields backend, boolean quantities) {
    Optional<com.fasterxml.jackson.databind.JsonNode> raw = backend.raw("weight");
    if (raw.isEmpty()) {
      backend.error("weight", "missing (expected: a relative weight such as 50)");
      return Optional.empty();
    }
    com.fasterxml.jackson.databind.JsonNode value = raw.get();
    String expected =
        quantities
            ? "a relative weight: a whole number such as 50, or a quantity such as 500m or 1.5"
            : "a relative weight: a whole number such as 50; quantities such as 500m are read in"
                + " v1alpha2 only";
    if (value.isIntegralNumber() && value.canConvertToLong()) {
      if (value.longValue() < 0) {
        backend.error("weight", value.asText() + " (expected: " + expected + ", not negative)");
        return Optional.empty();
      }
      return Optional.of(BigInteger.valueOf(value.longValue()).multiply(BigInteger.valueOf(1000)));
    }
    BigDecimal amount;
    String suffix = "";
    Matcher quantity = QUANTITY.matcher(value.isTextual() ? value.asText() : "");
    if (quantities && value.isNumber() && value.decimalValue().signum() >= 0) {
      amount = value.decimalValue(); // YAML reads 1.5 as a number
    } else if (quantities && value.isTextual() && quantity.matches()) {
      String number = quantity.group(1);
      amount = new BigDecimal(number.endsWith(".") ? number + "0" : number);
      suffix = quantity.group(2) == null ? "" : quantity.group(2);
    } else {
      backend.error("weight", Fields.describe(value) + " (expected: " + expected + ")");
      return Optional.empty();
    }
    BigDecimal thousandths =
        switch (suffix) {
          case "m" -> amount;
          case "k" -> amount.scaleByPowerOfTen(6);
          default -> amount.scaleByPowerOfTen(3);
        };
    try {
      return Optional.of(thousandths.toBigIntegerExact());
    } catch (ArithmeticException e) {
      backend.error(
          "weight",
          Fields.describe(value) + " (expected: " + expected + "; at most three decimals: 1m)");
      return Optional.empty();
    }
  }
}
