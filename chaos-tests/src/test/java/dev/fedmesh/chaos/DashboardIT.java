package dev.fedmesh.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fedmesh.cli.DashboardServer;
import dev.fedmesh.cli.FedmeshCommand;
import dev.fedmesh.lab.LocalLab;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * The web UI in a real browser (Debian's chromium, headless) against a running lab, through {@code
 * fedmesh dashboard}'s relay: the page shows the three clusters and their services; traffic from
 * east to payments shows as an edge east → west; the page's own kill button takes west down, which
 * the page shows within 3 s, and the edge moves to central; revive brings both back. Each step
 * saves a screenshot under {@code target/dashboard/}. The browser's console must stay free of
 * errors throughout.
 */
class DashboardIT {
  private static final Path SHOTS = Path.of("target", "dashboard");
  private static final String CHROMIUM = "/usr/bin/chromium";
  private static final String CHROMEDRIVER = "/usr/bin/chromedriver";

  @TempDir Path dir;

  @Test
  void theFailoverDemoCanBeWatchedAndRunFromThePage() throws Exception {
    WebDriver browser = browser(dir.resolve("browser"));
    long shownDownMs;
    try (ChaosLab lab = ChaosLab.up(dir, LocalLab.Options.DEFAULT);
        DashboardServer dashboard =
            new DashboardServer(
                new InetSocketAddress("127.0.0.1", 0),
                lab.lab.adminClient(lab.lab.replicaAdmin(0)),
                Optional.of(DashboardServer.labControl(lab.lab)))) {
      Files.createDirectories(SHOTS);
      browser.get(dashboard.url().toString());

      // The topology: three clusters, each with the services it runs.
      await("three clusters with their services")
          .atMost(Duration.ofSeconds(20))
          .until(() -> servicesByCluster(browser).size() == 3);
      Map<String, List<String>> services = servicesByCluster(browser);
      assertThat(services.get("east")).contains("frontend.shop", "checkout.shop");
      assertThat(services.get("west")).contains("checkout.shop", "payments.shop");
      assertThat(services.get("central")).contains("checkout.shop", "payments.shop");
      assertThat(clusterState(browser, "west")).isEqualTo("up");
      screenshot(browser, "1-topology");

      try (Load load = lab.load("east", "payments", 20)) {
        ChaosLab.awaitSteady(load, "west");
        await("the edge east -> west shows a rate")
            .atMost(Duration.ofSeconds(15))
            .until(() -> edgeRate(browser, "east", "west") > 0);
        assertThat(edgeLabel(browser, "east", "west")).contains("rps");
        screenshot(browser, "2-traffic-east-to-west");

        // Kill west from the page itself.
        click(browser, button("west", "kill"));
        long clicked = System.nanoTime();
        await("west shown down")
            .atMost(Duration.ofSeconds(10))
            .until(() -> clusterState(browser, "west").equals("down"));
        shownDownMs = (System.nanoTime() - clicked) / 1_000_000;
        assertThat(shownDownMs)
            .as("west is shown down within 3 s of the kill (took %d ms)", shownDownMs)
            .isLessThanOrEqualTo(3_000);
        await("the edge moves to central")
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    edgeRate(browser, "east", "central") > 0 && !hasEdge(browser, "east", "west"));
        screenshot(browser, "3-west-killed-traffic-to-central");

        // Revive it from the page: west comes back up and takes the traffic again.
        await("the revive button")
            .atMost(Duration.ofSeconds(10))
            .until(() -> !attributes(browser, button("west", "revive"), "data-action").isEmpty());
        click(browser, button("west", "revive"));
        await("west shown up again")
            .atMost(Duration.ofSeconds(120))
            .until(() -> clusterState(browser, "west").equals("up"));
        await("the edge returns to west")
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    edgeRate(browser, "east", "west") > 0 && !hasEdge(browser, "east", "central"));
        screenshot(browser, "4-west-revived");

        // The other views render what the controller knows.
        click(browser, "nav a[data-view=traffic]");
        await("the workload graph")
            .atMost(Duration.ofSeconds(5))
            .until(
                () ->
                    !attributes(
                            browser,
                            "#traffic-graph path.edge[data-source='east/loadgen-v1']",
                            "data-source")
                        .isEmpty());
        assertThat(rows(browser, "#cluster-traffic tr[data-cluster-edge='east->west']"))
            .singleElement()
            .satisfies(cells -> assertThat(String.join(" ", cells)).contains("via west gateway"));
        screenshot(browser, "5-traffic-view");
        click(browser, "nav a[data-view=proxies]");
        await("every proxy synced")
            .atMost(Duration.ofSeconds(30))
            .until(
                () -> {
                  List<String> states =
                      attributes(browser, "#proxy-table tr[data-proxy]", "data-state");
                  return states.size() >= 12 && states.stream().allMatch("SYNCED"::equals);
                });
        screenshot(browser, "6-proxies");

        // A policy applied with the CLI shows with how many proxies hold it, all of them in time.
        Path policy = dir.resolve("payments-dr.yaml");
        Files.writeString(
            policy,
            """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: payments, namespace: shop}
            spec:
              host: payments.shop.svc.cluster.local
              trafficPolicy:
                outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s}
            """);
        StringWriter out = new StringWriter();
        int exit =
            FedmeshCommand.run(
                new PrintWriter(out, true),
                new PrintWriter(out, true),
                "apply",
                "-f",
                policy.toString(),
                "--controller",
                lab.lab.replicaAdmin(0),
                "--admin-token-file",
                lab.lab.dir().resolve("admin-token").toString(),
                "--ca-file",
                LocalLab.adminRoots(lab.lab.dir()).orElseThrow().toString());
        assertThat(exit).as("fedmesh apply: " + out).isZero();
        click(browser, "nav a[data-view=policies]");
        await("the policy held by every proxy")
            .atMost(Duration.ofSeconds(30))
            .until(
                () -> {
                  List<List<String>> found =
                      rows(
                          browser, "#policy-table tr[data-policy='DestinationRule/shop/payments']");
                  if (found.size() != 1 || found.get(0).size() < 6) {
                    return false;
                  }
                  List<String> cells = found.get(0);
                  // "synced / proxies", then a line naming the proxies still waiting, if any.
                  String[] lines = cells.get(5).split("\n");
                  String[] held = lines[0].trim().split(" / ");
                  return cells.get(4).equals("yes")
                      && lines.length == 1
                      && held.length == 2
                      && Integer.parseInt(held[1]) >= 12
                      && held[0].equals(held[1]);
                });
        screenshot(browser, "7-policies");
      }
      List<LogEntry> errors =
          browser.manage().logs().get(LogType.BROWSER).getAll().stream()
              .filter(entry -> entry.getLevel().intValue() >= Level.SEVERE.intValue())
              .toList();
      assertThat(errors).as("errors in the browser's console").isEmpty();
    } finally {
      browser.quit();
    }
    System.out.printf(
        "DASHBOARD west shown down %d ms after the page's kill button%n", shownDownMs);
  }

  /**
   * Headless chromium under chromedriver, with its profile and its temporary files (the singleton
   * socket it leaves behind when chromedriver stops it) in {@code tmp}, which the test deletes.
   */
  private static WebDriver browser(Path tmp) throws Exception {
    for (String program : List.of(CHROMIUM, CHROMEDRIVER)) {
      if (!new File(program).canExecute()) {
        throw new IllegalStateException(
            program
                + " is missing: this test drives Debian's chromium through chromedriver; install"
                + " them with scripts/install-deps.sh (packages chromium and chromium-driver)");
      }
    }
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--user-data-dir=" + tmp.resolve("profile"));
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File(CHROMEDRIVER))
            .usingAnyFreePort()
            .withEnvironment(Map.of("TMPDIR", Files.createDirectories(tmp).toString()))
            .build();
    return new ChromeDriver(service, options);
  }

  /**
   * Reads the page with one script: the page redraws every second, and a script runs between two
   * redraws, so what it returns is one consistent view (an element found by one driver call can be
   * gone by the next).
   */
  @SuppressWarnings("unchecked")
  private static <T> T read(WebDriver browser, String script, Object... args) {
    return (T) ((JavascriptExecutor) browser).executeScript(script, args);
  }

  /** The services each cluster card lists, by cluster. */
  private static Map<String, List<String>> servicesByCluster(WebDriver browser) {
    return read(
        browser,
        """
        const byCluster = {};
        for (const card of document.querySelectorAll('.cluster[data-cluster]')) {
          const names = [...card.querySelectorAll('.chip[data-service]')]
              .map(chip => chip.getAttribute('data-service'));
          byCluster[card.getAttribute('data-cluster')] = [...new Set(names)];
        }
        return byCluster;
        """);
  }

  private static String clusterState(WebDriver browser, String cluster) {
    return read(
        browser,
        """
        const card = document.querySelector(`.cluster[data-cluster='${arguments[0]}']`);
        return card ? card.getAttribute('data-state') : 'absent';
        """,
        cluster);
  }

  /** The cluster edge's rate and label, or null when the page draws no such edge. */
  private static Map<String, Object> edge(WebDriver browser, String from, String to) {
    return read(
        browser,
        """
        const edge = document.querySelector(
            `g.cluster-edge[data-from='${arguments[0]}'][data-to='${arguments[1]}']`);
        if (!edge) return null;
        const label = edge.querySelector('text');
        return {rps: Number(edge.getAttribute('data-rps')),
                label: label ? label.textContent : ''};
        """,
        from,
        to);
  }

  private static boolean hasEdge(WebDriver browser, String from, String to) {
    return edge(browser, from, to) != null;
  }

  private static double edgeRate(WebDriver browser, String from, String to) {
    Map<String, Object> edge = edge(browser, from, to);
    return edge == null ? 0 : ((Number) edge.get("rps")).doubleValue();
  }

  private static String edgeLabel(WebDriver browser, String from, String to) {
    Map<String, Object> edge = edge(browser, from, to);
    return edge == null ? "" : (String) edge.get("label");
  }

  /** The text of each cell of the rows {@code rowSelector} finds, row by row. */
  private static List<List<String>> rows(WebDriver browser, String rowSelector) {
    return read(
        browser,
        """
        return [...document.querySelectorAll(arguments[0])]
            .map(row => [...row.querySelectorAll('td')].map(cell => cell.innerText.trim()));
        """,
        rowSelector);
  }

  /** The value of {@code attribute} on every element {@code selector} finds. */
  private static List<String> attributes(WebDriver browser, String selector, String attribute) {
    return read(
        browser,
        "return [...document.querySelectorAll(arguments[0])].map(e => e.getAttribute(arguments[1]));",
        selector,
        attribute);
  }

  /** A wait that looks again when the page redrew an element while it was being read. */
  private static ConditionFactory await(String alias) {
    return Awaitility.await(alias)
        .pollInterval(Duration.ofMillis(100))
        .ignoreException(org.openqa.selenium.StaleElementReferenceException.class);
  }

  private static String button(String cluster, String action) {
    return ".cluster[data-cluster='" + cluster + "'] button[data-action=" + action + "]";
  }

  /** Clicks what the CSS selector {@code target} finds, again if the page redrew it in between. */
  private static void click(WebDriver browser, String target) {
    await("click " + target)
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> {
              try {
                browser.findElement(By.cssSelector(target)).click();
                return true;
              } catch (org.openqa.selenium.StaleElementReferenceException e) {
                return false;
              }
            });
  }

  private static void screenshot(WebDriver browser, String name) throws Exception {
    byte[] png = ((org.openqa.selenium.TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
    Files.write(SHOTS.resolve(name + ".png"), png);
  }
}
