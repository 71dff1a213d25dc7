package dev.fedmesh.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What an API server's structural-schema validation and pruning would say of an object written to a
 * CRD: wrong types, missing required fields, values outside an enum, too many items, and fields the
 * schema does not have (which the API server silently drops).
 */
final class CrdSchema {
  private CrdSchema() {}

  /** Every problem of {@code object} against the stored version of {@code crd}. */
  static List<String> problems(CustomResourceDefinition crd, GenericKubernetesResource object) {
    JSONSchemaProps schema =
        crd.getSpec().getVersions().stream()
            .filter(v -> Boolean.TRUE.equals(v.getStorage()))
            .findFirst()
            .orElseThrow()
            .getSchema()
            .getOpenAPIV3Schema();
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, Object> field : object.getAdditionalProperties().entrySet()) {
      JSONSchemaProps property =
          schema.getProperties() == null ? null : schema.getProperties().get(field.getKey());
      if (property == null) {
        problems.add(field.getKey() + ": not in the schema (pruned)");
      } else {
        check(property, field.getValue(), field.getKey(), problems);
      }
    }
    return problems;
  }

  private static void check(JSONSchemaProps schema, Object value, String path, List<String> out) {
    String type = schema.getType() == null ? "" : schema.getType();
    switch (type) {
      case "object" -> {
        if (!(value instanceof Map<?, ?> map)) {
          out.add(path + ": " + value + " (expected: an object)");
          return;
        }
        for (String required :
            schema.getRequired() == null ? List.<String>of() : schema.getRequired()) {
          if (!map.containsKey(required)) {
            out.add(path + "." + required + ": missing (required)");
          }
        }
        boolean open =
            Boolean.TRUE.equals(schema.getXKubernetesPreserveUnknownFields())
                || schema.getAdditionalProperties() != null;
        for (Map.Entry<?, ?> entry : map.entrySet()) {
          String key = String.valueOf(entry.getKey());
          JSONSchemaProps property =
              schema.getProperties() == null ? null : schema.getProperties().get(key);
          if (property != null) {
            check(property, entry.getValue(), path + "." + key, out);
          } else if (!open) {
            out.add(path + "." + key + ": not in the schema (pruned)");
          }
        }
      }
      case "array" -> {
        if (!(value instanceof List<?> list)) {
          out.add(path + ": " + value + " (expected: an array)");
          return;
        }
        if (schema.getMaxItems() != null && list.size() > schema.getMaxItems()) {
          out.add(
              path
                  + ": "
                  + list.size()
                  + " items (expected: at most "
                  + schema.getMaxItems()
                  + ")");
        }
        if (schema.getItems() != null && schema.getItems().getSchema() != null) {
          for (int i = 0; i < list.size(); i++) {
            check(schema.getItems().getSchema(), list.get(i), path + "[" + i + "]", out);
          }
        }
      }
      case "string" -> {
        if (!(value instanceof String text)) {
          out.add(path + ": " + value + " (expected: a string)");
          return;
        }
        if (schema.getEnum() != null
            && !schema.getEnum().isEmpty()
            && schema.getEnum().stream().map(JsonNode::asText).noneMatch(text::equals)) {
          out.add(path + ": '" + text + "' (expected: one of " + schema.getEnum() + ")");
        }
      }
      case "integer" -> {
        if (!(value instanceof Integer || value instanceof Long)) {
          out.add(path + ": " + value + " (expected: an integer)");
        } else if ("int32".equals(schema.getFormat())
            && (((Number) value).longValue() > Integer.MAX_VALUE
                || ((Number) value).longValue() < Integer.MIN_VALUE)) {
          out.add(path + ": " + value + " (expected: an int32)");
        }
      }
      case "boolean" -> {
        if (!(value instanceof Boolean)) {
          out.add(path + ": " + value + " (expected: a boolean)");
        }
      }
      default -> {}
    }
  }
}
