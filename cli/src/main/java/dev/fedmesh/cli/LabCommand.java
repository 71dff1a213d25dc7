package dev.fedmesh.cli;

import dev.fedmesh.lab.LocalLab;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fedmesh lab ...}: the local lab. */
@Command(
    name = "lab",
    mixinStandardHelpOptions = true,
    description = "Runs a real mesh on this machine (no Docker needed).",
    subcommands = {LabCommand.Up.class, LabCommand.Down.class, LabCommand.Status.class})
final class LabCommand {
  @Option(
      names = "--dir",
      defaultValue = ".fedmesh-lab",
      scope = picocli.CommandLine.ScopeType.INHERIT,
      description = "The lab's state and logs directory (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Command(name = "up", description = "Starts etcd, the controller and a cluster, then returns.")
  static final class Up implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      new LocalLab(dir(spec), System.out).up();
      return 0;
    }
  }

  @Command(name = "down", description = "Stops every process the lab started.")
  static final class Down implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      new LocalLab(dir(spec), System.out).down();
      return 0;
    }
  }

  @Command(name = "status", description = "Shows the lab's processes.")
  static final class Status implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      new LocalLab(dir(spec), System.out).status();
      return 0;
    }
  }

  private static Path dir(CommandSpec spec) {
    return ((LabCommand) spec.parent().userObject()).dir;
  }
}
