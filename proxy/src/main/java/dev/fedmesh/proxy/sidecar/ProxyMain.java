package dev.fedmesh.proxy.sidecar;

import dev.fedmesh.proxy.net.Transports;
import io.netty.channel.EventLoopGroup;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The standalone sidecar: {@code fedmesh-proxy --bootstrap sidecar.yaml}, or, in an injected pod,
 * {@code fedmesh sidecar} with no bootstrap file: the injector's {@code FEDMESH_*} environment is
 * the bootstrap ({@link SidecarBootstrap#fromEnvironment}).
 */
@Command(
    name = "fedmesh-proxy",
    mixinStandardHelpOptions = true,
    description =
        "Runs one fedmesh sidecar proxy from a bootstrap file, or from the FEDMESH_* environment"
            + " the sidecar injector sets when no file is given.")
public final class ProxyMain implements Callable<Integer> {
  @Option(
      names = "--bootstrap",
      description =
          "The sidecar's bootstrap YAML (node, controllers, ca, listeners); without it, the"
              + " FEDMESH_* environment of an injected pod.")
  Path bootstrap;

  @Option(
      names = "--threads",
      defaultValue = "1",
      description =
          "Event loop threads (0: one per core). One, by default, like Istio's sidecar"
              + " concurrency: a sidecar carries one pod's traffic, and each loop adds its buffers"
              + " and a thread; raise it for a pod that needs more than a core of proxying.")
  int threads;

  @Override
  public Integer call() throws Exception {
    SidecarBootstrap config;
    try {
      config =
          bootstrap == null
              ? SidecarBootstrap.fromEnvironment(System.getenv())
              : SidecarBootstrap.load(bootstrap);
    } catch (IllegalArgumentException e) {
      System.err.println("fedmesh-proxy: " + e.getMessage());
      return 2;
    }
    EventLoopGroup group = Transports.eventLoopGroup(threads);
    CountDownLatch stopped = new CountDownLatch(1);
    Sidecar sidecar = Sidecar.start(config, group);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  sidecar.close();
                  group.shutdownGracefully().syncUninterruptibly();
                  stopped.countDown();
                }));
    System.out.printf(
        "fedmesh-proxy %s: outbound %s, admin %s%n",
        config.node().id(),
        sidecar.proxy().outboundAddress().map(Object::toString).orElse("-"),
        sidecar.adminAddress().map(Object::toString).orElse("-"));
    stopped.await();
    return 0;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new ProxyMain()).execute(args));
  }
}
