package dev.fedmesh.model;

import static java.util.Objects.requireNonNull;

/**
 * Where a workload runs, as Kubernetes' {@code topology.kubernetes.io/region} and {@code /zone}
 * labels say. Empty strings mean "unknown"; routing treats an unknown part as matching nothing.
 */
public record Locality(String region, String zone, String subzone) {
  public static final Locality UNKNOWN = new Locality("", "", "");

  public Locality {
    requireNonNull(region, "region");
    requireNonNull(zone, "zone");
    requireNonNull(subzone, "subzone");
    if (region.isEmpty() && !zone.isEmpty()) {
      throw new IllegalArgumentException(
          "locality.zone: '" + zone + "' (expected: a region when a zone is given)");
    }
  }

  public static Locality of(String region, String zone) {
    return new Locality(region, zone, "");
  }

  public static Locality ofRegion(String region) {
    return new Locality(region, "", "");
  }

  public boolean sameRegion(Locality other) {
    return !region.isEmpty() && region.equals(other.region);
  }

  public boolean sameZone(Locality other) {
    return sameRegion(other) && !zone.isEmpty() && zone.equals(other.zone);
  }

  /** {@code region/zone/subzone}, the form Envoy and Istio print. */
  @Override
  public String toString() {
    return region + "/" + zone + "/" + subzone;
  }
}
