package dev.fedmesh.cli;

import dev.fedmesh.controller.admin.AdminClient;
import dev.fedmesh.lab.LocalLab;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code fedmesh dashboard}: opens the controller's web UI through a loopback relay (see {@link
 * DashboardServer}) and prints its address; runs until interrupted.
 */
@Command(
    name = "dashboard",
    mixinStandardHelpOptions = true,
    description =
        "Serves the controller's web UI (topology, live traffic, proxies, policies) on a loopback"
            + " address, relaying to the controller's admin API with its token and CA, and prints"
            + " the page's URL (with --browser, opens it). In a lab, the page can also kill and"
            + " revive clusters. Runs until Ctrl-C.")
final class DashboardCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ControllerOptions controller = new ControllerOptions();

  @Option(
      names = "--address",
      defaultValue = "127.0.0.1",
      description = "Loopback address to serve the page on (default: ${DEFAULT-VALUE}).")
  String address;

  @Option(
      names = "--port",
      defaultValue = "0",
      description = "Port to serve the page on; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(
      names = "--dir",
      defaultValue = ".fedmesh-lab",
      description =
          "The lab's directory: when a lab runs from it, the page offers kill and revive buttons"
              + " (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Option(
      names = "--no-lab-controls",
      description = "Never offer kill and revive buttons, even in a lab.")
  boolean noLabControls;

  @Option(names = "--browser", description = "Open the page in the desktop's browser.")
  boolean browser;

  /** Counted down by Ctrl-C (the shutdown hook), which ends {@link #call()}. */
  private final CountDownLatch stop = new CountDownLatch(1);

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (port < 0 || port > 65535) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--port: " + port + " (expected: 0 to 65535)");
    }
    InetAddress bind = InetAddress.getByName(address);
    if (!bind.isLoopbackAddress()) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(),
          "--address: '"
              + address
              + "' (expected: a loopback address; the page carries the admin token's rights)");
    }
    AdminClient upstream = controller.client();
    Optional<DashboardServer.LabControl> lab =
        noLabControls ? Optional.empty() : labControl(dir, out);
    try (DashboardServer relay =
        new DashboardServer(new InetSocketAddress(bind, port), upstream, lab)) {
      out.printf("fedmesh dashboard for the controller at %s%n", upstream.base());
      out.printf("  open: %s%n", relay.url());
      out.printf(
          "  (the address holds this run's session key: keep it to yourself; lab controls: %s)%n",
          lab.isPresent() ? "on, for the lab in " + dir : "off");
      out.println("Ctrl-C stops it.");
      out.flush();
      if (browser) {
        open(relay.url(), out);
      }
      Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
      stop.await();
    }
    return 0;
  }

  private static Optional<DashboardServer.LabControl> labControl(Path dir, PrintWriter out) {
    if (LocalLab.controllerAdmin(dir).isEmpty()) {
      return Optional.empty();
    }
    // The lab's own commands print what they do; here that goes to the dashboard's output.
    PrintStream log =
        new PrintStream(
            new java.io.OutputStream() {
              @Override
              public void write(int b) {
                out.write(b);
              }

              @Override
              public void flush() {
                out.flush();
              }
            },
            true,
            java.nio.charset.StandardCharsets.UTF_8);
    LocalLab lab = new LocalLab(dir, log);
    try {
      // The buttons are the lab owner's: whoever can read its fault token (mode 0600).
      lab.controlToken();
    } catch (IOException | RuntimeException e) {
      out.println(
          "lab controls off: the lab's fault token is not readable (" + e.getMessage() + ")");
      return Optional.empty();
    }
    return Optional.of(DashboardServer.labControl(lab));
  }

  private static void open(java.net.URI url, PrintWriter out) {
    for (String opener : new String[] {"xdg-open", "open"}) {
      for (String dir :
          System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
        if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, opener))) {
          try {
            new ProcessBuilder(opener, url.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
            return;
          } catch (IOException e) {
            out.println("could not start " + opener + ": " + e.getMessage());
          }
        }
      }
    }
    out.println("no browser opener found (xdg-open, open): open the address above yourself");
  }
}
