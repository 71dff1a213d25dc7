package dev.fedmesh.deploy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.deser.BeanDeserializerBuilder;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.deser.DeserializationProblemHandler;
import com.fasterxml.jackson.databind.module.SimpleModule;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/**
 * Kubernetes documents read into fabric8's typed model the way an API server reads them with strict
 * field validation: a field the model does not have is an error, not an extra property.
 *
 * <p>fabric8's classes take unknown fields into an "additional properties" map ({@code
 * JsonAnySetter}), so a typo would pass unnoticed; this reader removes that map from every bean and
 * records each unknown field with its path ({@code
 * spec.template.spec.containers[0].imagePullPolcy}) instead of stopping at the first. A kind the
 * model does not know (fabric8 falls back to a generic resource) is an error too.
 */
final class StrictModel {
  private static final ObjectMapper MAPPER = mapper();

  private StrictModel() {}

  /**
   * The typed object, or the problems that kept it from being one.
   *
   * @param object present when there is no problem
   * @param problems each as {@code SOURCE:INDEX: PATH: message}
   */
  record Parsed(Optional<HasMetadata> object, List<String> problems) {}

  /** Reads {@code document} strictly. */
  static Parsed parse(YamlDocument document) {
    List<String> problems = new ArrayList<>();
    ObjectReader reader =
        MAPPER
            .readerFor(KubernetesResource.class)
            .withHandler(
                new DeserializationProblemHandler() {
                  @Override
                  public boolean handleUnknownProperty(
                      DeserializationContext context,
                      JsonParser parser,
                      JsonDeserializer<?> deserializer,
                      Object beanOrClass,
                      String propertyName)
                      throws IOException {
                    Class<?> type = beanOrClass instanceof Class<?> c ? c : beanOrClass.getClass();
                    problems.add(
                        document.where()
                            + ": "
                            + path(parser, propertyName)
                            + ": unknown field (not in "
                            + type.getSimpleName()
                            + ")");
                    parser.skipChildren();
                    return true;
                  }
                });
    Object value;
    try {
      value = reader.readValue(document.node());
    } catch (JsonMappingException e) {
      problems.add(document.where() + ": " + path(e) + ": " + e.getOriginalMessage());
      return new Parsed(Optional.empty(), problems);
    } catch (IOException e) {
      problems.add(document.where() + ": " + e.getMessage());
      return new Parsed(Optional.empty(), problems);
    }
    if (value instanceof GenericKubernetesResource || !(value instanceof HasMetadata)) {
      problems.add(
          document.where()
              + ": apiVersion/kind: '"
              + document.node().path("apiVersion").asText()
              + "/"
              + document.kind()
              + "' (expected: a kind fabric8's model knows, at an apiVersion it serves)");
    }
    if (!problems.isEmpty()) {
      return new Parsed(Optional.empty(), problems);
    }
    return new Parsed(Optional.of((HasMetadata) value), List.of());
  }

  /** Reads {@code document} strictly, failing with every problem when there is one. */
  static HasMetadata typed(YamlDocument document) {
    Parsed parsed = parse(document);
    if (!parsed.problems().isEmpty()) {
      throw new AssertionError(String.join("\n", parsed.problems()));
    }
    return parsed.object().orElseThrow();
  }

  private static String path(JsonMappingException e) {
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference reference : e.getPath()) {
      if (reference.getFieldName() != null) {
        if (path.length() > 0) {
          path.append('.');
        }
        path.append(reference.getFieldName());
      } else if (reference.getIndex() >= 0) {
        path.append('[').append(reference.getIndex()).append(']');
      }
    }
    return path.length() == 0 ? "(document)" : path.toString();
  }

  /**
   * {@code a.b[2].c} for the field {@code name} of the object being read; {@code parser} points at
   * the field's value, which may already have opened a context of its own.
   */
  private static String path(JsonParser parser, String name) {
    JsonStreamContext containing = parser.getParsingContext();
    if (parser.currentToken() == JsonToken.START_OBJECT
        || parser.currentToken() == JsonToken.START_ARRAY) {
      containing = containing.getParent();
    }
    Deque<String> parts = new ArrayDeque<>();
    parts.push(name);
    for (JsonStreamContext at = containing.getParent();
        at != null && !at.inRoot();
        at = at.getParent()) {
      parts.push(at.inArray() ? "[" + at.getCurrentIndex() + "]" : at.getCurrentName());
    }
    StringBuilder path = new StringBuilder();
    for (String part : parts) {
      if (path.length() > 0 && !part.startsWith("[")) {
        path.append('.');
      }
      path.append(part);
    }
    return path.toString();
  }

  private static ObjectMapper mapper() {
    SimpleModule strict = new SimpleModule("strict-kubernetes");
    strict.setDeserializerModifier(
        new BeanDeserializerModifier() {
          @Override
          public BeanDeserializerBuilder updateBuilder(
              DeserializationConfig config,
              BeanDescription description,
              BeanDeserializerBuilder builder) {
            builder.setAnySetter(null);
            builder.setIgnoreUnknownProperties(false);
            return builder;
          }
        });
    return new ObjectMapper()
        .registerModule(strict)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);
  }
}
