using System.Globalization;
using System.Net;
using System.Text.Json;
using Chat4All.Bench;

// Bench scenario 1: token issuance and an authenticated no-op against a running Chat4All host, each
// next to the same load on a bare in-process Kestrel server (the ceiling). Scenario 2 (messages) is
// in MessagesScenario, scenario 3 (deliveries, end to end) in DeliveriesScenario, the realtime ones in
// ConnectionsScenario and RealtimeLatencyScenario, uploads in UploadsScenario. Results go to stdout, progress to stderr, so `> results.md` captures only
// what belongs in the README.
var options = BenchOptions.Parse(args, out var parseError);
if (options is null)
{
    if (string.IsNullOrEmpty(parseError))
    {
        Console.WriteLine(BenchOptions.Usage);
        return 0;
    }

    await Console.Error.WriteLineAsync(parseError);
    await Console.Error.WriteLineAsync();
    await Console.Error.WriteLineAsync(BenchOptions.Usage);
    return 2;
}

using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Stop the workers and still print what finished, instead of dying mid-table.
    e.Cancel = true;
    interrupt.Cancel();
};
var cancellationToken = interrupt.Token;

var usersPath = DemoUserFile.Resolve(options.UsersPath ?? BenchOptions.DefaultUsersPath, out var tried);
if (usersPath is null)
{
    await Console.Error.WriteLineAsync("Demo users file not found; tried:");
    foreach (var path in tried)
    {
        await Console.Error.WriteLineAsync("  " + path);
    }

    await Console.Error.WriteLineAsync("Start the platform with scripts/run.sh (it writes .chat4all/demo-users.json) or pass --users <path>.");
    return 1;
}

IReadOnlyList<DemoUser> users;
try
{
    users = await DemoUserFile.ReadAsync(usersPath, cancellationToken);
}
catch (Exception ex) when (ex is JsonException or InvalidDataException or IOException)
{
    await Console.Error.WriteLineAsync("Cannot read demo users from " + usersPath + ": " + ex.Message);
    return 1;
}

var runMessages = options.Scenario is ScenarioSelection.Messages;
var runDeliveries = options.Scenario is ScenarioSelection.Deliveries;
var runConnections = options.Scenario is ScenarioSelection.Connections;
var runRealtimeLatency = options.Scenario is ScenarioSelection.RealtimeLatency;
var runUploads = options.Scenario is ScenarioSelection.Uploads;
var runPipeline = options.Scenario is ScenarioSelection.Pipeline;
var maxConcurrency = options.Scenario switch
{
    ScenarioSelection.Messages => Math.Max(options.PeakConcurrencies.Max(), options.MaxInFlight),
    // The sends, or the read-back GETs, plus the /metrics scrape.
    ScenarioSelection.Deliveries => Math.Max(options.SendConcurrency, DeliveriesScenario.PollConcurrency) + 1,
    // Token fetches and user provisioning during setup, plus the /metrics scrape; the sockets have their own handlers.
    ScenarioSelection.Connections => 16,
    // The open-loop sends plus the /metrics scrape.
    ScenarioSelection.RealtimeLatency or ScenarioSelection.Pipeline or ScenarioSelection.Isolation => options.MaxInFlight + 1,
    // The chunk requests in flight plus setup and status polls.
    ScenarioSelection.Uploads => options.UploadParallelism.Max() + 2,
    _ => Math.Max(options.Concurrency, options.TokenConcurrency),
};
using var client = new HttpClient(new SocketsHttpHandler
{
    // One connection per closed-loop worker (or open-loop request in flight), never queued behind the pool limit.
    MaxConnectionsPerServer = maxConcurrency,
    // Longer than any run, so no connection is recycled (and re-handshaken) inside a measured window.
    PooledConnectionLifetime = TimeSpan.FromMinutes(30),
    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
    ConnectTimeout = TimeSpan.FromSeconds(5),
    // Loopback only: an http_proxy in the environment must not route the load elsewhere.
    UseProxy = false,
    UseCookies = false,
    AllowAutoRedirect = false,
    AutomaticDecompression = DecompressionMethods.None,
})
{
    // Bounds every request, so a stalled server cannot stretch a run past its duration by more than this.
    Timeout = TimeSpan.FromSeconds(10),
};

Progress("demo users: " + users.Count.ToString(CultureInfo.InvariantCulture) + " from " + usersPath);

var runToken = options.Scenario is ScenarioSelection.All or ScenarioSelection.Token;
var runNoop = options.Scenario is ScenarioSelection.All or ScenarioSelection.Noop;

// Fetching every user's token up front doubles as the preflight: it proves the host is up and the
// credentials are current before any measurement starts.
var accessTokens = new List<string>();
try
{
    Progress("fetching one access token per demo user from " + options.Url);
    foreach (var user in users)
    {
        accessTokens.Add(await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, user, cancellationToken));
    }

    if (runNoop)
    {
        await Chat4AllApi.CheckMeAsync(client, options.Url, accessTokens[0], cancellationToken);
    }
}
catch (HttpRequestException ex)
{
    await Console.Error.WriteLineAsync("Cannot reach Chat4All at " + options.Url + ": " + ex.Message);
    await Console.Error.WriteLineAsync("Start it with scripts/run.sh in another terminal, or pass --url.");
    return 1;
}
catch (InvalidOperationException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    await Console.Error.WriteLineAsync("Is --users the file written by the host serving --url? scripts/run.sh reseeds it on every start.");
    return 1;
}
catch (OperationCanceledException)
{
    return 130;
}

if (runMessages)
{
    // Its own setup (conversations, PostgreSQL), runs and table; see MessagesScenario.
    return await new MessagesScenario(options, client, users).RunAsync(cancellationToken);
}

if (runDeliveries)
{
    // Its own setup (groups, probe), send phase, wait and table; see DeliveriesScenario.
    return await new DeliveriesScenario(options, client, users).RunAsync(cancellationToken);
}

if (runConnections)
{
    // Its own users, sockets, idle window and table; see ConnectionsScenario.
    return await new ConnectionsScenario(options, client, users, usersPath).RunAsync(cancellationToken);
}

if (runRealtimeLatency)
{
    // Its own conversation, socket, open-loop runs and table; see RealtimeLatencyScenario.
    return await new RealtimeLatencyScenario(options, client, users).RunAsync(cancellationToken);
}

if (runPipeline)
{
    // Its own groups, three sockets per rate, backlogs and CPU; see PipelineScenario.
    return await new PipelineScenario(options, client, users).RunAsync(cancellationToken);
}

if (options.Scenario is ScenarioSelection.Isolation)
{
    // A delivery backlog, then open-loop sends with sockets open; see IsolationScenario.
    return await new IsolationScenario(options, client, users).RunAsync(cancellationToken);
}

if (options.Scenario is ScenarioSelection.Chaos)
{
    // Faults injected into a scripts/ha.sh cluster under steady load; see ChaosScenario.
    return await new ChaosScenario(options, users).RunAsync(cancellationToken);
}

if (runUploads)
{
    // Its own conversation, dd baseline, uploads and table; see UploadsScenario.
    return await new UploadsScenario(options, client, users, usersPath).RunAsync(cancellationToken);
}

// Printed only once the setup works, so a failed preflight leaves stdout empty.
Console.WriteLine(MachineInfo.Describe());

await using var ceiling = await CeilingServer.StartAsync(cancellationToken);
Progress("bare Kestrel ceiling listening on " + ceiling.BaseAddress);

var workloads = new List<Workload>();
if (runToken)
{
    workloads.Add(Workload.TokenIssuance(Workload.Chat4AllTarget, options.Url, Chat4AllApi.TokenPath, options.TokenConcurrency, users));
    workloads.Add(Workload.TokenIssuance(Workload.CeilingTarget, ceiling.BaseAddress, CeilingServer.TokenPath, options.TokenConcurrency, users));
}

if (runNoop)
{
    workloads.Add(Workload.AuthenticatedNoop(Workload.Chat4AllTarget, options.Url, Chat4AllApi.MePath, options.Concurrency, accessTokens));
    workloads.Add(Workload.AuthenticatedNoop(Workload.CeilingTarget, ceiling.BaseAddress, CeilingServer.MePath, options.Concurrency, accessTokens));
}

var generator = new LoadGenerator(client, options.Warmup, options.Duration, LoadGenerator.DefaultRequestCap);
var results = new List<RunResult>();
foreach (var workload in workloads)
{
    Progress(workload.Scenario + " -> " + workload.Target + ": " + workload.Concurrency.ToString(CultureInfo.InvariantCulture) +
        " workers, " + Seconds(options.Warmup) + " warm-up + " + Seconds(options.Duration) + " measured");

    // Start each target from a clean heap so garbage left by the previous run is not collected on its clock.
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();

    var result = await generator.RunAsync(workload, cancellationToken);
    if (cancellationToken.IsCancellationRequested)
    {
        Progress("interrupted; the unfinished run is not reported");
        break;
    }

    results.Add(result);
    Progress("  " + result.RequestsPerSecond.ToString("N0", CultureInfo.InvariantCulture) + " req/s, " +
        result.Errors.ToString(CultureInfo.InvariantCulture) + " errors");
}

if (results.Count > 0)
{
    Console.WriteLine();
    Console.Write(ResultTable.Render(results, options.Markdown));
    Console.WriteLine();
    Console.WriteLine(
        "Warm-up " + Seconds(options.Warmup) + " (not recorded), measured " + Seconds(options.Duration) +
        " per target; closed loop, one shared HttpClient, HTTP/1.1 over loopback.");
    Console.WriteLine(
        "req/s counts successful responses only; errors (non-2xx, timeouts, connection failures) are excluded from the percentiles.");
    Console.WriteLine(
        "The load generator runs on the same machine and shares its " + Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) +
        " cores with the server under test (Chat4All in its own process, the bare Kestrel ceiling inside this one).");
    if (MachineInfo.DescribeLoadAtEnd() is { } load)
    {
        Console.WriteLine(load);
    }
    foreach (var result in results.Where(r => r.FirstError is not null))
    {
        Console.WriteLine("Errors in " + result.Scenario + " / " + result.Target + ", first: " + result.FirstError);
    }

    foreach (var result in results.Where(r => r.CapReached))
    {
        Console.WriteLine(
            result.Scenario + " / " + result.Target + " hit the cap of " +
            LoadGenerator.DefaultRequestCap.ToString("N0", CultureInfo.InvariantCulture) + " requests; its window was shortened.");
    }
}

return cancellationToken.IsCancellationRequested ? 130 : 0;

static void Progress(string message) => Console.Error.WriteLine("[bench] " + message);

static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
