package dev.fedmesh.proxy.tls;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.internal.tcnative.SSL;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * TLS the proxy originates to a server outside the mesh (a ServiceEntry host under DestinationRule
 * {@code tls.mode: SIMPLE}): an {@code UpstreamTlsContext} that names no certificate of the proxy's
 * and checks the server with a plain {@code validation_context}. The server's chain must lead to
 * the roots of {@code trusted_ca} (a PEM file, or inline PEM) or, with {@code system_root_certs},
 * to the JDK's default roots; its certificate must carry a name one of {@code
 * match_typed_subject_alt_names} accepts (DNS, URI or IP; an exact DNS name also matches a
 * certificate's {@code *.example.com} one label deep, as Envoy matches). The SNI is the context's.
 * Needs no identity of the proxy's own. A CA file is read when its first connection needs it;
 * replacing the file takes effect with a changed cluster.
 */
public final class TlsOrigination {
  private record Key(CertificateValidationContext validation, TlsContexts.Alpn alpn) {}

  private final Map<Key, SslContext> contexts = new ConcurrentHashMap<>();

  /**
   * Whether {@code upstream} asks for origination rather than the mesh's mutual TLS: it presents no
   * certificate and validates with a plain validation context (mesh mTLS names SDS secrets and a
   * combined validation context).
   */
  public static boolean applies(UpstreamTlsContext upstream) {
    CommonTlsContext common = upstream.getCommonTlsContext();
    return common.getTlsCertificateSdsSecretConfigsCount() == 0
        && common.getTlsCertificatesCount() == 0
        && !common.hasCombinedValidationContext()
        && !common.hasValidationContextSdsSecretConfig();
  }

  /**
   * What this proxy cannot enforce of an originating context, each naming the field; empty when it
   * can. A {@code trusted_ca} file must be readable now, as Envoy requires.
   */
  public static List<String> problems(UpstreamTlsContext upstream) {
    List<String> problems = new ArrayList<>();
    CertificateValidationContext validation = upstream.getCommonTlsContext().getValidationContext();
    if (!validation.hasTrustedCa() && !validation.hasSystemRootCerts()) {
      problems.add(
          "common_tls_context.validation_context: neither trusted_ca nor system_root_certs"
              + " (expected: one; fedmesh does not originate TLS it cannot verify)");
    } else if (validation.hasTrustedCa()) {
      try {
        roots(validation.getTrustedCa());
      } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
        problems.add("common_tls_context.validation_context.trusted_ca: " + e.getMessage());
      }
    }
    for (SubjectAltNameMatcher matcher : validation.getMatchTypedSubjectAltNamesList()) {
      switch (matcher.getSanType()) {
        case DNS, URI, IP_ADDRESS -> {}
        default ->
            problems.add(
                "common_tls_context.validation_context.match_typed_subject_alt_names: san_type "
                    + matcher.getSanType()
                    + " (expected: DNS, URI or IP_ADDRESS)");
      }
    }
    if (validation.getTrustChainVerification()
        != CertificateValidationContext.TrustChainVerification.VERIFY_TRUST_CHAIN) {
      problems.add(
          "common_tls_context.validation_context.trust_chain_verification: "
              + validation.getTrustChainVerification()
              + " (expected: VERIFY_TRUST_CHAIN)");
    }
    return problems;
  }

  /** A client-side handler for a connection to {@code peer}, with the context's SNI. */
  public SslHandler clientHandler(
      UpstreamTlsContext upstream,
      TlsContexts.Alpn alpn,
      ByteBufAllocator alloc,
      InetSocketAddress peer) {
    CertificateValidationContext validation = upstream.getCommonTlsContext().getValidationContext();
    SslContext context = contexts.computeIfAbsent(new Key(validation, alpn), TlsOrigination::build);
    SslHandler handler = context.newHandler(alloc, peer.getHostString(), peer.getPort());
    String sni = upstream.getSni();
    if (!sni.isEmpty() && handler.engine() instanceof ReferenceCountedOpenSslEngine engine) {
      synchronized (engine) {
        SSL.setTlsExtHostName(engine.sslPointer(), sni);
      }
    }
    return handler;
  }

  private static SslContext build(Key key) {
    CertificateValidationContext validation = key.validation();
    X509ExtendedTrustManager chain;
    try {
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(validation.hasTrustedCa() ? roots(validation.getTrustedCa()) : null);
      chain = x509(factory.getTrustManagers());
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("upstream TLS roots: " + e.getMessage(), e);
    }
    SslContextBuilder builder =
        SslContextBuilder.forClient()
            .sslProvider(SslProvider.OPENSSL)
            .trustManager(
                new NamedServerTrustManager(
                    chain, names(validation.getMatchTypedSubjectAltNamesList())))
            .protocols("TLSv1.3", "TLSv1.2")
            .endpointIdentificationAlgorithm(null);
    if (key.alpn() != TlsContexts.Alpn.NONE) {
      builder.applicationProtocolConfig(
          new ApplicationProtocolConfig(
              ApplicationProtocolConfig.Protocol.ALPN,
              ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
              ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
              key.alpn() == TlsContexts.Alpn.HTTP2
                  ? ApplicationProtocolNames.HTTP_2
                  : ApplicationProtocolNames.HTTP_1_1));
    }
    try {
      return builder.build();
    } catch (SSLException e) {
      throw new IllegalStateException("upstream TLS: " + e.getMessage(), e);
    }
  }

  /** A key store of the PEM certificates {@code source} holds. */
  private static KeyStore roots(DataSource source) throws IOException, GeneralSecurityException {
    byte[] pem =
        switch (source.getSpecifierCase()) {
          case FILENAME -> Files.readAllBytes(Path.of(source.getFilename()));
          case INLINE_STRING -> source.getInlineString().getBytes(StandardCharsets.UTF_8);
          case INLINE_BYTES -> source.getInlineBytes().toByteArray();
          default ->
              throw new IllegalArgumentException(
                  source.getSpecifierCase()
                      + " (expected: filename, inline_string or inline_bytes)");
        };
    Collection<? extends java.security.cert.Certificate> certificates =
        CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
    if (certificates.isEmpty()) {
      throw new IllegalArgumentException(
          (source.hasFilename() ? source.getFilename() : "inline data")
              + " holds no certificate (expected: PEM certificates)");
    }
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    int i = 0;
    for (java.security.cert.Certificate certificate : certificates) {
      store.setCertificateEntry("root-" + i++, certificate);
    }
    return store;
  }

  private static X509ExtendedTrustManager x509(TrustManager[] managers) {
    for (TrustManager manager : managers) {
      if (manager instanceof X509ExtendedTrustManager x509) {
        return x509;
      }
    }
    throw new IllegalStateException("no X.509 trust manager");
  }

  /** One SAN matcher: the certificate's SAN type (RFC 5280 GeneralName tag) and a test. */
  private record NameMatcher(int type, Predicate<String> matches) {}

  private static List<NameMatcher> names(List<SubjectAltNameMatcher> matchers) {
    List<NameMatcher> names = new ArrayList<>();
    for (SubjectAltNameMatcher matcher : matchers) {
      StringMatcher string = matcher.getMatcher();
      switch (matcher.getSanType()) {
        case DNS ->
            names.add(
                new NameMatcher(
                    2,
                    string.hasExact()
                        ? san -> dnsMatch(string.getExact(), san)
                        : san -> matches(string, san)));
        case URI -> names.add(new NameMatcher(6, san -> matches(string, san)));
        case IP_ADDRESS -> names.add(new NameMatcher(7, san -> matches(string, san)));
        default -> names.add(new NameMatcher(-1, san -> false));
      }
    }
    return names;
  }

  /** Envoy's DNS name match: equal, or the certificate's {@code *.suffix} covers one label. */
  static boolean dnsMatch(String expected, String san) {
    if (san.equalsIgnoreCase(expected)) {
      return true;
    }
    if (san.startsWith("*.")) {
      int dot = expected.indexOf('.');
      return dot > 0 && expected.substring(dot).equalsIgnoreCase(san.substring(1));
    }
    return false;
  }

  private static boolean matches(StringMatcher matcher, String value) {
    String v = matcher.getIgnoreCase() ? value.toLowerCase(Locale.ROOT) : value;
    java.util.function.UnaryOperator<String> c =
        s -> matcher.getIgnoreCase() ? s.toLowerCase(Locale.ROOT) : s;
    return switch (matcher.getMatchPatternCase()) {
      case EXACT -> v.equals(c.apply(matcher.getExact()));
      case PREFIX -> v.startsWith(c.apply(matcher.getPrefix()));
      case SUFFIX -> v.endsWith(c.apply(matcher.getSuffix()));
      case CONTAINS -> v.contains(c.apply(matcher.getContains()));
      case SAFE_REGEX ->
          Pattern.compile(matcher.getSafeRegex().getRegex()).matcher(value).matches();
      default -> false;
    };
  }

  /**
   * The chain is checked by the roots' trust manager, then the server's certificate against the
   * expected names (any name, when none are given).
   */
  private static final class NamedServerTrustManager extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager chain;
    private final List<NameMatcher> names;

    NamedServerTrustManager(X509ExtendedTrustManager chain, List<NameMatcher> names) {
      this.chain = chain;
      this.names = List.copyOf(names);
    }

    @Override
    public void checkServerTrusted(
        X509Certificate[] certificates, String authType, SSLEngine engine)
        throws CertificateException {
      chain.checkServerTrusted(certificates, authType, engine);
      checkNames(certificates[0]);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] certificates, String authType, Socket socket)
        throws CertificateException {
      chain.checkServerTrusted(certificates, authType, socket);
      checkNames(certificates[0]);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] certificates, String authType)
        throws CertificateException {
      chain.checkServerTrusted(certificates, authType);
      checkNames(certificates[0]);
    }

    private void checkNames(X509Certificate server) throws CertificateException {
      if (names.isEmpty()) {
        return;
      }
      List<String> presented = new ArrayList<>();
      try {
        Collection<List<?>> sans = server.getSubjectAlternativeNames();
        for (List<?> san : sans == null ? List.<List<?>>of() : sans) {
          int type = (Integer) san.get(0);
          String value = String.valueOf(san.get(1));
          presented.add(value);
          for (NameMatcher name : names) {
            if (name.type() == type && name.matches().test(value)) {
              return;
            }
          }
        }
      } catch (CertificateParsingException e) {
        throw new CertificateException("server certificate names: " + e.getMessage(), e);
      }
      throw new CertificateException(
          "server certificate names " + presented + " match none of the names expected");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] certificates, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("an originating context checks servers only");
    }

    @Override
    public void checkClientTrusted(
        X509Certificate[] certificates, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("an originating context checks servers only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] certificates, String authType)
        throws CertificateException {
      throw new CertificateException("an originating context checks servers only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return ((X509TrustManager) chain).getAcceptedIssuers();
    }
  }
}
