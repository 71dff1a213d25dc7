package dev.fedmesh.cli;

import dev.fedmesh.model.ClusterName;
import dev.fedmesh.trust.CaFiles;
import dev.fedmesh.trust.CaMaterial;
import dev.fedmesh.trust.CaOnboarding;
import dev.fedmesh.trust.CallerIdentity;
import dev.fedmesh.trust.CertificateInspection;
import dev.fedmesh.trust.CertificateRequestException;
import dev.fedmesh.trust.ClusterCa;
import dev.fedmesh.trust.ControlPlaneTls;
import dev.fedmesh.trust.Durations;
import dev.fedmesh.trust.IntermediateSpec;
import dev.fedmesh.trust.InvalidCaException;
import dev.fedmesh.trust.KeyAlgorithm;
import dev.fedmesh.trust.OnboardingReport;
import dev.fedmesh.trust.Pem;
import dev.fedmesh.trust.RootCa;
import dev.fedmesh.trust.RootCaSpec;
import dev.fedmesh.trust.SvidCredential;
import dev.fedmesh.trust.SvidFiles;
import dev.fedmesh.trust.SvidIssuer;
import dev.fedmesh.trust.SvidPolicy;
import dev.fedmesh.trust.TrustDomain;
import dev.fedmesh.trust.X509Svid;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code fedmesh ca ...}: the mesh's certificate authorities, in Istio's cacerts file layout. */
@Command(
    name = "ca",
    mixinStandardHelpOptions = true,
    description = "Creates, onboards and uses the mesh's certificate authorities.",
    subcommands = {
      CaCommand.Init.class,
      CaCommand.Intermediate.class,
      CaCommand.Onboard.class,
      CaCommand.Sign.class,
      CaCommand.ControlPlaneCert.class,
      CaCommand.Inspect.class
    })
final class CaCommand {
  /** Turns "24h"-style text into a Duration for picocli. */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return Durations.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  /** Turns "ec-p256"-style text into a KeyAlgorithm for picocli. */
  static final class KeyAlgorithmConverter implements CommandLine.ITypeConverter<KeyAlgorithm> {
    @Override
    public KeyAlgorithm convert(String value) {
      try {
        return KeyAlgorithm.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  @Command(
      name = "init",
      mixinStandardHelpOptions = true,
      description = "Generates a root CA: root-cert.pem and root-key.pem (mode 0600) in --out.")
  static final class Init implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--trust-domain",
        defaultValue = "fedmesh.local",
        description = "The trust domain (default: ${DEFAULT-VALUE}).")
    String trustDomain;

    @Option(names = "--out", required = true, description = "The directory to write to.")
    Path out;

    @Option(
        names = "--key-algorithm",
        defaultValue = "ec-p256",
        converter = KeyAlgorithmConverter.class,
        description = "ec-p256, ec-p384, rsa-2048 or rsa-4096 (default: ${DEFAULT-VALUE}).")
    KeyAlgorithm keyAlgorithm;

    @Option(
        names = "--validity",
        defaultValue = "3650d",
        converter = DurationConverter.class,
        description = "Lifetime, e.g. 3650d (default: ${DEFAULT-VALUE}).")
    Duration validity;

    @Option(
        names = "--spiffe-id",
        negatable = true,
        defaultValue = "true",
        fallbackValue = "true",
        description = "Put spiffe://<trust-domain> in the root as a URI SAN (default: yes).")
    boolean spiffeId;

    @Option(names = "--force", description = "Replace an existing root in --out.")
    boolean force;

    @Override
    public Integer call() {
      RootCa root =
          RootCa.generate(
              RootCaSpec.builder(TrustDomain.of(trustDomain))
                  .keyAlgorithm(keyAlgorithm)
                  .validity(validity)
                  .spiffeId(spiffeId)
                  .build(),
              Clock.systemUTC());
      CaFiles.writeRoot(root, out, force);
      PrintWriter stdout = spec.commandLine().getOut();
      stdout.printf(
          "root CA for trust domain %s (%s), valid until %s%n",
          root.trustDomain(), keyAlgorithm, root.certificate().getNotAfter().toInstant());
      stdout.printf("  %s%n", out.resolve(CaMaterial.ROOT_CERT));
      stdout.printf("  %s (mode 0600: keep it offline)%n", out.resolve(CaFiles.ROOT_KEY));
      return 0;
    }
  }

  @Command(
      name = "intermediate",
      mixinStandardHelpOptions = true,
      description =
          "Issues a cluster's intermediate CA (pathLen 0) from a root made by `ca init`, in the"
              + " cacerts layout: ca-cert.pem, ca-key.pem (0600), cert-chain.pem, root-cert.pem.")
  static final class Intermediate implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--cluster", required = true, description = "The cluster's name.")
    String cluster;

    @Option(names = "--root", required = true, description = "The directory of the root CA.")
    Path root;

    @Option(names = "--out", required = true, description = "The directory to write to.")
    Path out;

    @Option(
        names = "--trust-domain",
        description = "The trust domain, when the root does not name one (default: fedmesh.local).")
    String trustDomain;

    @Option(
        names = "--key-algorithm",
        defaultValue = "ec-p256",
        converter = KeyAlgorithmConverter.class,
        description = "ec-p256, ec-p384, rsa-2048 or rsa-4096 (default: ${DEFAULT-VALUE}).")
    KeyAlgorithm keyAlgorithm;

    @Option(
        names = "--validity",
        defaultValue = "365d",
        converter = DurationConverter.class,
        description = "Lifetime, e.g. 365d, at most the root's (default: ${DEFAULT-VALUE}).")
    Duration validity;

    @Option(
        names = "--name-constraints",
        description = "Constrain the intermediate to URIs of its trust domain.")
    boolean nameConstraints;

    @Option(
        names = "--also-trust",
        paramLabel = "FILE",
        description =
            "Roots (PEM) to add to root-cert.pem, e.g. the other root during a root rotation."
                + " Repeatable.")
    List<Path> alsoTrust = new ArrayList<>();

    @Option(names = "--force", description = "Replace existing files in --out.")
    boolean force;

    @Override
    public Integer call() throws IOException {
      RootCa rootCa = CaFiles.readRoot(root, Optional.ofNullable(trustDomain).map(TrustDomain::of));
      ClusterCa ca =
          rootCa.issueIntermediate(
              IntermediateSpec.builder(ClusterName.of(cluster))
                  .keyAlgorithm(keyAlgorithm)
                  .validity(validity)
                  .nameConstrained(nameConstraints)
                  .build(),
              Clock.systemUTC());
      List<X509Certificate> roots = new ArrayList<>(ca.roots());
      for (Path file : alsoTrust) {
        for (X509Certificate extra : Pem.certificates(read(file), file.toString())) {
          if (!roots.contains(extra)) {
            roots.add(extra);
          }
        }
      }
      ca = ca.withRoots(roots);
      CaFiles.writeClusterCa(ca, out, force);
      PrintWriter stdout = spec.commandLine().getOut();
      stdout.printf(
          "intermediate CA of cluster %s for trust domain %s, valid until %s%n",
          cluster, ca.trustDomain(), ca.certificate().getNotAfter().toInstant());
      for (String file :
          List.of(
              CaMaterial.CA_CERT, CaMaterial.CA_KEY, CaMaterial.CERT_CHAIN, CaMaterial.ROOT_CERT)) {
        stdout.printf(
            "  %s%s%n", out.resolve(file), file.equals(CaMaterial.CA_KEY) ? " (mode 0600)" : "");
      }
      stdout.printf("next: fedmesh ca onboard --cluster %s --from %s%n", cluster, out);
      return 0;
    }
  }

  @Command(
      name = "control-plane-cert",
      mixinStandardHelpOptions = true,
      description =
          "Issues the SVID of a control-plane component from a CA in the cacerts layout (made by"
              + " `ca intermediate`): cert-chain.pem, key.pem (0600) and root-cert.pem in --out,"
              + " what the controller's --tls-dir and the gateway's --tls-dir read.")
  static final class ControlPlaneCert implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--ca", required = true, description = "The issuing CA's directory.")
    Path ca;

    @Option(
        names = "--component",
        required = true,
        description =
            "controller, gateway or agent: the identity ns/fedmesh-system/sa/fedmesh-<...>.")
    String component;

    @Option(names = "--out", required = true, description = "The directory to write to.")
    Path out;

    @Option(
        names = "--validity",
        defaultValue = "30d",
        converter = DurationConverter.class,
        description =
            "Lifetime, at most the CA's (default: ${DEFAULT-VALUE}). Re-issue before it ends.")
    Duration validity;

    @Option(names = "--force", description = "Replace existing files in --out.")
    boolean force;

    @Override
    public Integer call() {
      String account =
          switch (component) {
            case "controller" -> "fedmesh-controller";
            case "gateway" -> "fedmesh-eastwestgateway";
            case "agent" -> "fedmesh-agent";
            default ->
                throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--component: '" + component + "' (expected: controller, gateway or agent)");
          };
      if (!force && java.nio.file.Files.exists(out.resolve(SvidFiles.KEY))) {
        throw new CommandLine.ParameterException(
            spec.commandLine(),
            "--out: "
                + out
                + " already holds "
                + SvidFiles.KEY
                + " (expected: --force to replace)");
      }
      ClusterCa issuer = CaFiles.readClusterCa(ca, Optional.empty(), Clock.systemUTC());
      SvidCredential credential =
          ControlPlaneTls.issue(
              SvidIssuer.of(issuer, SvidPolicy.of(validity, validity), Clock.systemUTC()),
              CallerIdentity.of(ControlPlaneTls.SYSTEM_NAMESPACE, account),
              validity);
      SvidFiles.write(out, credential, issuer.roots());
      PrintWriter stdout = spec.commandLine().getOut();
      stdout.printf(
          "%s, valid until %s%n  %s%n  %s (mode 0600)%n  %s%n",
          credential.svid().id(),
          credential.svid().notAfter(),
          out.resolve(SvidFiles.CERT_CHAIN),
          out.resolve(SvidFiles.KEY),
          out.resolve(SvidFiles.ROOTS));
      return 0;
    }
  }

  @Command(
      name = "onboard",
      mixinStandardHelpOptions = true,
      description =
          "Validates a cluster CA in the cacerts layout (made by `ca intermediate` or by your own"
              + " PKI) and installs it as that cluster's CA in <ca-dir>/<cluster>/.")
  static final class Onboard implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--cluster", required = true, description = "The cluster's name.")
    String cluster;

    @Option(
        names = "--from",
        required = true,
        description = "A directory with root-cert.pem, ca-cert.pem, ca-key.pem, cert-chain.pem.")
    Path from;

    @Option(names = "--dry-run", description = "Validate only; install nothing.")
    boolean dryRun;

    @Option(
        names = "--ca-dir",
        description =
            "Where cluster CAs are installed (default: $XDG_STATE_HOME/fedmesh/ca, else"
                + " ~/.local/state/fedmesh/ca).")
    Path caDir;

    @Option(
        names = "--trust-domain",
        description =
            "The trust domain the CA must serve (default: the one its certificates name, else"
                + " fedmesh.local).")
    String trustDomain;

    @Override
    public Integer call() {
      ClusterName name = ClusterName.of(cluster);
      if (!Files.isDirectory(from)) {
        throw new IllegalArgumentException("from: " + from + " (expected: a directory)");
      }
      OnboardingReport report =
          CaOnboarding.validate(
              from, Optional.ofNullable(trustDomain).map(TrustDomain::of), Clock.systemUTC());
      PrintWriter stdout = spec.commandLine().getOut();
      PrintWriter stderr = spec.commandLine().getErr();
      for (String warning : report.warnings()) {
        stderr.println("warning: " + warning);
      }
      if (!report.accepted()) {
        stderr.printf(
            "fedmesh: refused %s as the CA of cluster %s (%d problem%s):%n",
            from, name, report.problems().size(), report.problems().size() == 1 ? "" : "s");
        for (String problem : report.problems()) {
          stderr.println("  - " + problem);
        }
        stderr.flush();
        return 1;
      }
      ClusterCa ca = report.orElseThrow();
      String summary =
          String.format(
              "the CA of cluster %s for trust domain %s: '%s', valid until %s",
              name,
              ca.trustDomain(),
              ca.certificate().getSubjectX500Principal().getName(),
              ca.certificate().getNotAfter().toInstant());
      if (dryRun) {
        stdout.println("valid: " + summary + " (dry run: nothing installed)");
        return 0;
      }
      Path installed = CaOnboarding.install(ca, name, caDir());
      stdout.println("installed " + summary);
      stdout.println("  in " + installed + " (ca-key.pem mode 0600)");
      return 0;
    }

    private Path caDir() {
      if (caDir != null) {
        return caDir;
      }
      return defaultCaDir();
    }
  }

  @Command(
      name = "sign",
      mixinStandardHelpOptions = true,
      description =
          "Issues a workload's X.509-SVID from a PEM CSR: the SPIFFE ID comes from --namespace"
              + " and --service-account, never from the CSR.")
  static final class Sign implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--cluster-ca",
        required = true,
        description = "The cluster CA's directory (cacerts layout).")
    Path clusterCa;

    @Option(names = "--csr", required = true, description = "The PEM certificate request.")
    Path csr;

    @Option(names = "--namespace", required = true, description = "The workload's namespace.")
    String namespace;

    @Option(
        names = "--service-account",
        required = true,
        description = "The workload's service account.")
    String serviceAccount;

    @Option(
        names = "--out",
        required = true,
        description = "Where to write the certificate chain (PEM, workload first).")
    Path out;

    @Option(
        names = "--ttl",
        converter = DurationConverter.class,
        description = "Lifetime, e.g. 12h (default: 24h, or --max-ttl if shorter).")
    Duration ttl;

    @Option(
        names = "--max-ttl",
        defaultValue = "24h",
        converter = DurationConverter.class,
        description = "The longest lifetime to allow (default: ${DEFAULT-VALUE}).")
    Duration maxTtl;

    @Option(
        names = "--trust-domain",
        description = "The trust domain, when the CA's files do not say it.")
    String trustDomain;

    @Override
    public Integer call() throws IOException {
      PrintWriter stderr = spec.commandLine().getErr();
      CallerIdentity caller = CallerIdentity.of(namespace, serviceAccount);
      byte[] request = Pem.csr(read(csr), csr.toString());
      ClusterCa ca;
      try {
        ca =
            CaFiles.readClusterCa(
                clusterCa,
                Optional.ofNullable(trustDomain).map(TrustDomain::of),
                Clock.systemUTC());
      } catch (InvalidCaException e) {
        stderr.printf("fedmesh: the CA in %s is not usable:%n", clusterCa);
        e.problems().forEach(problem -> stderr.println("  - " + problem));
        stderr.flush();
        return 1;
      }
      Duration defaultTtl =
          SvidPolicy.DEFAULT_TTL.compareTo(maxTtl) <= 0 ? SvidPolicy.DEFAULT_TTL : maxTtl;
      SvidIssuer issuer = SvidIssuer.of(ca, SvidPolicy.of(defaultTtl, maxTtl), Clock.systemUTC());
      X509Svid svid;
      try {
        svid = issuer.issue(request, caller, ttl == null ? Duration.ZERO : ttl);
      } catch (CertificateRequestException e) {
        stderr.printf("fedmesh: refused the request in %s:%n", csr);
        e.problems().forEach(problem -> stderr.println("  - " + problem));
        stderr.flush();
        return 1;
      }
      Files.writeString(out, svid.pem(), StandardCharsets.US_ASCII);
      spec.commandLine()
          .getOut()
          .printf("issued %s, valid until %s%n  %s%n", svid.id(), svid.notAfter(), out);
      return 0;
    }
  }

  @Command(
      name = "inspect",
      mixinStandardHelpOptions = true,
      description =
          "Shows a PEM file's certificates (roles, SPIFFE IDs, expiry) and every problem with"
              + " them as an SVID or CA chain; exits 1 when there are problems.")
  static final class Inspect implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "Certificates, PEM, the subject first.")
    Path file;

    @Option(
        names = "--roots",
        paramLabel = "FILE",
        description = "Trusted roots (PEM) to verify the chain against.")
    Path roots;

    @Override
    public Integer call() throws IOException {
      if (Files.isDirectory(file)) {
        throw new IllegalArgumentException(
            file
                + ": a directory (expected: a PEM file; check a CA directory with `fedmesh ca"
                + " onboard --dry-run --from "
                + file
                + "`)");
      }
      List<X509Certificate> anchors =
          roots == null ? List.of() : Pem.certificates(read(roots), roots.toString());
      CertificateInspection.Report report =
          CertificateInspection.inspect(read(file), file.toString(), anchors, Clock.systemUTC());
      PrintWriter stdout = spec.commandLine().getOut();
      Instant now = Instant.now();
      for (CertificateInspection.Summary certificate : report.certificates()) {
        stdout.printf("[%d] %s%n", certificate.index(), certificate.role());
        stdout.printf("    subject:   %s%n", certificate.subject());
        stdout.printf("    issuer:    %s%n", certificate.issuer());
        for (String uri : certificate.uris()) {
          stdout.printf("    URI SAN:   %s%n", uri);
        }
        stdout.printf(
            "    valid:     %s to %s (%s)%n",
            certificate.notBefore(),
            certificate.notAfter(),
            now.isAfter(certificate.notAfter())
                ? "expired"
                : "expires in "
                    + Durations.approximate(Duration.between(now, certificate.notAfter())));
        stdout.printf("    key:       %s%n", certificate.key());
        stdout.printf("    serial:    %s%n", certificate.serial());
      }
      report.notes().forEach(note -> stdout.println("note: " + note));
      if (report.problems().isEmpty()) {
        stdout.println("problems: none");
        return 0;
      }
      stdout.println("problems:");
      report.problems().forEach(problem -> stdout.println("  - " + problem));
      return 1;
    }
  }

  /** {@code $XDG_STATE_HOME/fedmesh/ca}, else {@code ~/.local/state/fedmesh/ca}. */
  static Path defaultCaDir() {
    String state = System.getenv("XDG_STATE_HOME");
    Path base =
        state != null && !state.isBlank()
            ? Path.of(state)
            : Path.of(System.getProperty("user.home"), ".local", "state");
    return base.resolve("fedmesh").resolve("ca");
  }

  private static String read(Path file) throws IOException {
    try {
      return Files.readString(file, StandardCharsets.ISO_8859_1);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such file", e);
    }
  }
}
