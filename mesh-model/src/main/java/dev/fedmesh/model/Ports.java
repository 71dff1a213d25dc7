package dev.fedmesh.model;

final class Ports {
  private Ports() {}

  static void check(String field, int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(field + ": " + port + " (expected: 1..65535)");
    }
  }
}
