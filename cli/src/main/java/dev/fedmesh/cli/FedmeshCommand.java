package dev.fedmesh.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code fedmesh}: the command people use to run and inspect the mesh. */
@Command(
    name = "fedmesh",
    mixinStandardHelpOptions = true,
    versionProvider = FedmeshCommand.Version.class,
    description = "fedmesh: a multi-cluster federated service mesh.",
    subcommands = {
      LabCommand.class,
      StatusCommand.class,
      ProxyStatusCommand.class,
      CaCommand.class,
      AnalyzeCommand.class,
      DashboardCommand.class,
      ValidateCommand.class,
      ApplyCommand.class,
      GetCommand.class,
      DeleteCommand.class,
      DiffCommand.class,
      DemoCommand.App.class,
      DemoCommand.Load.class,
      CommandLine.HelpCommand.class
    })
public final class FedmeshCommand {
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /**
   * Runs one command without exiting the JVM, printing to {@code out} and {@code err}: for tests
   * and tools that drive the CLI as a user would.
   *
   * @return the command's exit code
   */
  public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
    CommandLine command = commandLine();
    command.setOut(out);
    command.setErr(err);
    return command.execute(args);
  }

  /**
   * The configured command line, for {@code main} and for tests. Besides the user's commands it
   * runs each component of the mesh, so that one image (and one jar) serves every container: {@code
   * fedmesh controller|agent|gateway|sidecar ...} take the options of the component's own main
   * class.
   */
  static CommandLine commandLine() {
    CommandLine fedmesh = new CommandLine(new FedmeshCommand());
    java.util.Map<String, Class<?>> components = new java.util.LinkedHashMap<>();
    components.put("controller", dev.fedmesh.controller.ControllerMain.class);
    components.put("agent", dev.fedmesh.agent.AgentMain.class);
    components.put("gateway", dev.fedmesh.gateway.GatewayMain.class);
    components.put("sidecar", dev.fedmesh.proxy.sidecar.ProxyMain.class);
    components.forEach(
        (name, main) -> {
          CommandLine component = new CommandLine(main);
          // Usage reads "fedmesh agent ...", as it is typed, not the main class's own name.
          component.getCommandSpec().name(name);
          fedmesh.addSubcommand(name, component);
        });
    return fedmesh.setExecutionExceptionHandler(
        (exception, commandLine, parseResult) -> {
          commandLine.getErr().println("fedmesh: " + exception.getMessage());
          return 1;
        });
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = FedmeshCommand.class.getPackage().getImplementationVersion();
      return new String[] {"fedmesh " + (version == null ? "(development build)" : version)};
    }
  }
}
