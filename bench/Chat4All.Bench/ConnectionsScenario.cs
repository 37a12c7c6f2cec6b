using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Chat4All.Bench;

/// <summary>
/// Many idle WebSockets on one host: opens <see cref="Settings.Connections"/> sockets to
/// <c>GET /ws</c> at a bounded rate, from several loopback source addresses, answers every ping, and
/// reads the host's resident memory (before, with everything open) and CPU time (over an idle window
/// with every socket open and the heartbeat running) from <c>/proc</c>. Then closes everything.
/// </summary>
internal sealed class ConnectionsScenario : IBenchScenario
{
    private static readonly Option<int> Connections = BenchOption.Int("--connections", "sockets to open", 10_000, 1, 100_000);

    private static readonly Option<int> ConnectRate = BenchOption.Int("--connect-rate", "new sockets per second at most", 500, 1, 10_000);

    // At most the host's own upper bound for Chat4All:Realtime:MaxConnectionsPerUser.
    private static readonly Option<int> ConnectionsPerUser = BenchOption.Int("--connections-per-user",
        "sockets per user (the host's default MaxConnectionsPerUser); the bench provisions ceil(connections / n) users", 10, 1, 1000);

    private static readonly Option<int> SourceAddressesOption = BenchOption.Int("--source-addresses",
        "client source addresses 127.0.0.2 .. 127.0.0.(n+1), one ephemeral port range each (0 = let the kernel pick)", 8, 0, 250);

    private static readonly Option<TimeSpan> Idle = BenchOption.Seconds("--idle", "idle window with every socket open, over which the host's CPU is measured", 30);

    private static readonly Option<string?> RealtimeUsers = BenchOption.Text("--realtime-users",
        $"where the provisioned users' credentials are kept (default: {DefaultRealtimeUsersFile} next to the demo users file; mode 600)");

    // Set by RunAsync: a scenario runs once per process.
    private Settings options = null!;
    private ScenarioReport report = null!;
    private HttpClient client = null!;
    private IReadOnlyList<DemoUser> demoUsers = [];
    private string demoUsersPath = "";

    public string Name => "connections";

    public string Description =>
        "many idle WebSockets on one host (GET /ws, answering the server's pings): memory and CPU per connection.\n" +
        "Needs the admin demo user (it provisions users), raised fd limits (ulimit -n 65536) and a short heartbeat:\n" +
        "Chat4All__Realtime__HeartbeatInterval=00:00:05 Chat4All__Realtime__PongTimeout=00:00:04";

    public IReadOnlyList<Option> Options => [Connections, ConnectRate, ConnectionsPerUser, SourceAddressesOption, Idle, CommonOptions.HostPid, RealtimeUsers];

    // Token fetches and user provisioning during setup, plus the /metrics scrape; the sockets have their own handlers.
    public int HttpConcurrency(ParseResult parsed) => 16;

    public Task<int> RunAsync(BenchRun run, ParseResult parsed, CancellationToken cancellationToken)
    {
        report = run.Report;
        options = new Settings(run.Url, parsed.GetValue(Connections), parsed.GetValue(ConnectRate), parsed.GetValue(ConnectionsPerUser),
            parsed.GetValue(SourceAddressesOption), parsed.GetValue(Idle), parsed.GetValue(CommonOptions.HostPid), parsed.GetValue(RealtimeUsers));
        client = run.Client;
        demoUsers = run.Users;
        demoUsersPath = run.UsersPath;
        return RunScenarioAsync(cancellationToken);
    }

    internal sealed record Settings(Uri Url, int Connections, int ConnectRate, int ConnectionsPerUser, int SourceAddresses, TimeSpan Idle,
        int? HostPid, string? RealtimeUsersPath);

    /// <summary>Where provisioned users are kept, next to the demo users file unless <c>--realtime-users</c> says otherwise.</summary>
    public const string DefaultRealtimeUsersFile = "bench-realtime-users.json";

    private const string UserNamePrefix = "bench-rt-";

    // Handshakes in flight at once; the rate limit is --connect-rate, this only bounds a slow host.
    private const int MaxHandshakesInFlight = 256;

    // Connect failures tolerated before the bench stops opening more: the ceiling has been found.
    private const int MaxConnectFailures = 10;

    // Each token costs the host a PBKDF2 check; a handful at a time keeps its cores busy.
    private const int TokenConcurrency = 8;
    private const int ProvisionConcurrency = 4;
    private const int CloseConcurrency = 512;

    // File descriptors besides the sockets: assemblies, the HTTP client, pipes, epoll.
    private const int FdHeadroom = 200;

    private const string ConnectionsMetric = "chat4all_realtime_connections";
    private const string FramesOutMetric = "chat4all_realtime_frames_out_total";
    private const string FramesInMetric = "chat4all_realtime_frames_in_total";
    private const string ClosedMetric = "chat4all_realtime_closed_total";
    private const string OverflowsMetric = "chat4all_realtime_send_queue_overflows_total";
    private const string WorkingSetMetric = "dotnet_process_memory_working_set_bytes";
    private const string CpuTimeMetric = "dotnet_process_cpu_time_seconds_total";

    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(15);

    // After the last connect, before the idle window: presence announcements and subscriptions finish.
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);

    // The baseline window (no sockets) is as long as the idle window, up to this.
    private static readonly TimeSpan MaxBaseline = TimeSpan.FromSeconds(30);

    // Access tokens live 15 minutes, and the host closes a socket (4001) when its token expires.
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(15);

    private static readonly string[] Headers = ["Measure", "Value"];
    private static readonly bool[] RightAligned = [false, false];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly List<string> notes = [];

    private async Task<int> RunScenarioAsync(CancellationToken cancellationToken)
    {
        var total = options.Connections;
        var usersNeeded = (total + options.ConnectionsPerUser - 1) / options.ConnectionsPerUser;
        List<DemoUser> users = [];
        List<string> tokens = [];
        if (await ScenarioSetup.RunAsync(options.Url, async () =>
            {
                users = await UsersAsync(usersNeeded, cancellationToken);
                tokens = await TokensAsync(users, cancellationToken);
            }, cancellationToken) is { } setupFailed)
        {
            return setupFailed;
        }

        var expectedSeconds = total / (double)options.ConnectRate + Settle.TotalSeconds + options.Idle.TotalSeconds;
        if (expectedSeconds > TokenLifetime.TotalSeconds - 60)
        {
            await Console.Error.WriteLineAsync(
                "Connecting " + ResultTable.Format(total) + " sockets at " + ResultTable.Format(options.ConnectRate) + "/s plus the idle window takes about " +
                expectedSeconds.ToString("0", CultureInfo.InvariantCulture) + " s, but access tokens expire after 15 minutes and the host then closes " +
                "their sockets (4001). Raise --connect-rate or shorten --idle.");
            return 2;
        }

        // Every socket is a file descriptor on both ends; a limit below that fails half way with EMFILE.
        if (HostProcess.Self.OpenFilesLimit() is { } ownLimit && ownLimit < total + FdHeadroom)
        {
            await Console.Error.WriteLineAsync(
                "This process may open " + ResultTable.Format(ownLimit) + " files (ulimit -n), fewer than " + ResultTable.Format(total) + " sockets + " +
                ResultTable.Format(FdHeadroom) + " spare. Raise it in the shell that runs the bench (ulimit -n 65536; ulimit -Hn shows the most you may ask for) " +
                "or lower --connections.");
            return 2;
        }

        var host = HostProcess.Find(options.HostPid, options.Url, out var hostError);
        if (host is null)
        {
            Progress("host process not found (" + hostError + "); host memory and CPU come from its /metrics instead");
            notes.Add("The host process was not found (" + hostError + "), so host memory and CPU come from its own /metrics " +
                "(" + WorkingSetMetric + ", " + CpuTimeMetric + "), scraped just outside the idle window. Pass --host-pid to read /proc instead.");
        }
        else
        {
            Progress("host process " + host.Pid.ToString(CultureInfo.InvariantCulture) + " (" + host.How + "): " + HostProcess.DescribeCommandLine(host.Pid));
            if (host.OpenFilesLimit() is { } hostLimit)
            {
                notes.Add("Open-file limits: host " + ResultTable.Format(hostLimit) + ", bench " + (HostProcess.Self.OpenFilesLimit() is { } own
                    ? ResultTable.Format(own) : "unknown") + " (ulimit -n).");
                if (hostLimit < total + FdHeadroom)
                {
                    Progress("warning: the host may open only " + ResultTable.Format(hostLimit) + " files; expect failures near that many sockets");
                    notes.Add("The host's open-file limit (" + ResultTable.Format(hostLimit) + ") is below the sockets asked for plus " +
                        ResultTable.Format(FdHeadroom) + ": start it from a shell with ulimit -n 65536.");
                }
            }
        }

        var sources = SourceAddresses();
        var invokers = (sources.Count == 0 ? [null] : sources.Select(s => (IPAddress?)s))
            .Select(s => new HttpMessageInvoker(RealtimeSocket.CreateHandler(s, TimeSpan.FromSeconds(5)), disposeHandler: true))
            .ToArray();
        try
        {
            // Printed only once the setup works, so a failed preflight leaves stdout empty.
            report.Line(MachineInfo.Describe());
            return await MeasureAsync(host, users, tokens, sources, invokers, cancellationToken);
        }
        finally
        {
            foreach (var invoker in invokers)
            {
                invoker.Dispose();
            }
        }
    }

    private async Task<int> MeasureAsync(
        HostProcess? host, List<DemoUser> users, List<string> tokens, IReadOnlyList<IPAddress> sources, HttpMessageInvoker[] invokers,
        CancellationToken cancellationToken)
    {
        var total = options.Connections;
        var stats = new SocketStats();
        var sockets = new RealtimeSocket?[total];
        var handshakeMilliseconds = new double[total];
        Array.Fill(handshakeMilliseconds, double.NaN);

        // The host's own idle cost first (no sockets of ours), so the window with every socket open can be compared with it.
        var baselineSeconds = Math.Min(options.Idle.TotalSeconds, MaxBaseline.TotalSeconds);
        Progress("baseline: host idle for " + Seconds(baselineSeconds) + " before any socket is opened");
        var baselineStart = host is null ? FromMetrics(await PrometheusText.TryScrapeAsync(client, options.Url, cancellationToken)) : host.Sample();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(baselineSeconds), cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return 130;
        }

        var metricsBefore = await PrometheusText.TryScrapeAsync(client, options.Url, cancellationToken);
        var hostBefore = await HostSampleAsync(host, metricsBefore, cancellationToken);
        var baselineCpu = baselineStart is { } bs && hostBefore is { } hb ? HostProcess.CpuPercent(bs, hb) : double.NaN;
        var selfBefore = HostProcess.Self.Sample();

        // Connect: socket i belongs to user i % users (so no user goes over its share) and source i % sources.
        Progress("opening " + ResultTable.Format(total) + " WebSockets at up to " + ResultTable.Format(options.ConnectRate) + "/s (" +
            ResultTable.Format(MaxHandshakesInFlight) + " handshakes in flight at most) from " +
            (sources.Count == 0 ? "the kernel's default source address" : ResultTable.Format(sources.Count) + " source addresses") + ", " +
            ResultTable.Format(users.Count) + " users");
        var failures = 0;
        string? firstFailure = null;
        var openAtFirstFailure = -1;
        var opened = 0;
        var attempted = 0;
        using var stopConnecting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var gate = new SemaphoreSlim(MaxHandshakesInFlight);
        var connecting = new List<Task>(total);
        var connectStart = Stopwatch.GetTimestamp();
        var lastProgress = connectStart;
        int heartbeatSeconds = -1;
        try
        {
            for (var i = 0; i < total && !stopConnecting.IsCancellationRequested; i++)
            {
                var due = connectStart + (long)(i * (double)Stopwatch.Frequency / options.ConnectRate);
                var wait = due - Stopwatch.GetTimestamp();
                if (wait * 1000 >= Stopwatch.Frequency)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), stopConnecting.Token);
                }

                await gate.WaitAsync(stopConnecting.Token);
                attempted++;
                var index = i;
                connecting.Add(Task.Run(async () =>
                {
                    var started = Stopwatch.GetTimestamp();
                    try
                    {
                        var socket = await RealtimeSocket.OpenAsync(
                            invokers[index % invokers.Length], options.Url, tokens[index % users.Count], stats, null, HandshakeTimeout, stopConnecting.Token);
                        sockets[index] = socket;
                        handshakeMilliseconds[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                        Interlocked.CompareExchange(ref heartbeatSeconds, socket.HeartbeatIntervalSeconds ?? -1, -1);
                        Interlocked.Increment(ref opened);
                    }
                    catch (OperationCanceledException) when (stopConnecting.IsCancellationRequested)
                    {
                        // stopped: not a failure of this socket
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        var open = Volatile.Read(ref opened);
                        if (Interlocked.CompareExchange(ref firstFailure, "socket #" + (index + 1).ToString(CultureInfo.InvariantCulture) + ": " + Describe(ex), null) is null)
                        {
                            openAtFirstFailure = open;
                        }

                        if (Interlocked.Increment(ref failures) >= MaxConnectFailures)
                        {
                            await stopConnecting.CancelAsync();
                        }
                    }
                    finally
                    {
                        gate.Release();
                    }
                }, CancellationToken.None));

                if (Stopwatch.GetElapsedTime(lastProgress) >= ProgressInterval)
                {
                    lastProgress = Stopwatch.GetTimestamp();
                    Progress("  " + ResultTable.Format(Volatile.Read(ref opened)) + " open, " + ResultTable.Format(Volatile.Read(ref failures)) + " failed");
                }
            }
        }
        catch (OperationCanceledException) when (stopConnecting.IsCancellationRequested)
        {
            // too many failures, or interrupted: measure what is open
        }

        await Task.WhenAll(connecting);
        var connectSeconds = Stopwatch.GetElapsedTime(connectStart).TotalSeconds;
        var hostConnected = host?.Sample();
        Progress("  " + ResultTable.Format(opened) + " open after " + connectSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s, " +
            ResultTable.Format(failures) + " failed" + (firstFailure is null ? string.Empty : "; first failure: " + firstFailure));

        IdleResult? idle = null;
        if (!cancellationToken.IsCancellationRequested && opened > 0)
        {
            idle = await IdleAsync(host, sockets, stats, cancellationToken);
        }

        // Close everything, whatever happened above.
        Progress("closing " + ResultTable.Format(sockets.Count(s => s is not null)) + " sockets (" + ResultTable.Format(CloseConcurrency) + " at a time)");
        var stillOpenAtClose = sockets.Count(s => s is not null && !s.Completion.IsCompleted);
        var closeStart = Stopwatch.GetTimestamp();
        var clean = 0;
        var forced = 0;
        await Parallel.ForEachAsync(sockets.Where(s => s is not null), new ParallelOptions { MaxDegreeOfParallelism = CloseConcurrency },
            async (socket, _) =>
            {
                if (socket!.Completion.IsCompleted)
                {
                    await socket.DisposeAsync();
                    return;
                }

                if (await socket.CloseAsync(CloseTimeout))
                {
                    Interlocked.Increment(ref clean);
                }
                else
                {
                    Interlocked.Increment(ref forced);
                }

                await socket.DisposeAsync();
            });
        var closeSeconds = Stopwatch.GetElapsedTime(closeStart).TotalSeconds;
        Array.Clear(sockets);

        // The host's gauge should come back to where it started; a gap means connections it still holds.
        var baseline = metricsBefore?.Sum(ConnectionsMetric) ?? 0;
        var drained = await WaitForGaugeAsync(baseline, cancellationToken);
        var metricsAfter = await PrometheusText.TryScrapeAsync(client, options.Url, CancellationToken.None);
        var hostAfterClose = await HostSampleAsync(host, metricsAfter, CancellationToken.None);

        var handshakes = handshakeMilliseconds.Where(v => !double.IsNaN(v)).Order().ToArray();
        var rows = new List<string[]>
        {
            Row("Connections asked", ResultTable.Format(options.Connections) + " (" + ResultTable.Format(users.Count) + " users × up to " +
                ResultTable.Format(options.ConnectionsPerUser) + "; " + DescribeSources(sources) + ")"),
            Row("Connections open (connection.established received)", ResultTable.Format(opened) +
                (opened < options.Connections && firstFailure is not null
                    ? " — ceiling: " + ResultTable.Format(Math.Max(0, openAtFirstFailure)) + " open at the first failure"
                    : string.Empty)),
            Row("Failed connects", ResultTable.Format(failures) + (attempted < options.Connections && failures >= MaxConnectFailures
                ? " (stopped after " + ResultTable.Format(MaxConnectFailures) + "; " + ResultTable.Format(options.Connections - attempted) + " never attempted)"
                : string.Empty) + (firstFailure is null ? string.Empty : "; first: " + firstFailure)),
            Row("Connect phase", connectSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s, " + Rate(opened / connectSeconds) + "/s (limit " +
                ResultTable.Format(options.ConnectRate) + "/s); upgrade to connection.established p50 " + ResultTable.Milliseconds(Percentiles.Of(handshakes, 0.50)) +
                " ms, p99 " + ResultTable.Milliseconds(Percentiles.Of(handshakes, 0.99)) + " ms, max " +
                ResultTable.Milliseconds(handshakes.Length == 0 ? double.NaN : handshakes[^1]) + " ms"),
            Row("Host RSS before", Mib(hostBefore?.RssBytes)),
        };
        if (idle is not null)
        {
            rows.Add(Row("Host RSS with all open (end of idle window)", Mib(idle.HostEnd?.RssBytes)));
            rows.Add(Row("Host RSS per open connection", hostBefore is { } b && idle.HostEnd is { } e && idle.OpenAtEnd > 0
                ? Kib((e.RssBytes - b.RssBytes) / (double)idle.OpenAtEnd) + " ((after − before) / " + ResultTable.Format(idle.OpenAtEnd) + ")"
                : "n/a"));
            rows.Add(Row("Host CPU, idle window", idle.HostStart is { } hs && idle.HostEnd is { } he
                ? Percent(HostProcess.CpuPercent(hs, he)) + " of one core over " + Seconds(idle.Seconds) + " (" +
                  ResultTable.Format(Environment.ProcessorCount) + " cores here), heartbeat every " +
                  (heartbeatSeconds >= 0 ? heartbeatSeconds.ToString(CultureInfo.InvariantCulture) + " s" : "?") + ", " +
                  ResultTable.Format(idle.Pings) + " pings answered"
                : "n/a"));
        }

        rows.Add(Row("Host CPU, idle with no sockets (baseline)", Percent(baselineCpu) + " of one core over " + Seconds(baselineSeconds) +
            " just before connecting (the host's background work: relays, consumers, presence)"));

        if (hostBefore is { } before && hostConnected is { } connected)
        {
            rows.Add(Row("Host CPU, connect phase", Percent(HostProcess.CpuPercent(before, connected)) + " of one core over " + Seconds(connectSeconds) +
                " (handshakes, token checks, presence in Redis, pub/sub subscriptions)"));
        }

        rows.Add(Row("Host RSS after closing all", Mib(hostAfterClose?.RssBytes) + (drained ? string.Empty : " (the connections gauge had not drained)")));
        if (idle is not null)
        {
            rows.Add(Row("Bench RSS with all open", Mib(idle.SelfEnd?.RssBytes ?? Environment.WorkingSet) +
                (selfBefore is { } sb && idle.SelfEnd is { } se && idle.OpenAtEnd > 0
                    ? " (" + Kib((se.RssBytes - sb.RssBytes) / (double)idle.OpenAtEnd) + " per connection)"
                    : string.Empty)));
            rows.Add(Row("Bench CPU, idle window", idle.SelfStart is { } ss && idle.SelfEnd is { } se2
                ? Percent(HostProcess.CpuPercent(ss, se2)) + " of one core" : "n/a"));
        }

        rows.Add(Row("Closed by the server or failed while open", ResultTable.Format(stats.UnexpectedCloses) +
            (stats.UnexpectedCloses == 0 ? string.Empty : " (" + string.Join("; ", stats.UnexpectedByReason.OrderByDescending(p => p.Value).Take(4)
                .Select(p => ResultTable.Format(p.Value) + " × " + p.Key)) + ")")));
        rows.Add(Row("Closed cleanly at the end", ResultTable.Format(clean) + " of " + ResultTable.Format(stillOpenAtClose) + " in " + Seconds(closeSeconds) +
            (forced > 0 ? "; " + ResultTable.Format(forced) + " aborted after " + Seconds(CloseTimeout.TotalSeconds) + " without the server's close" : string.Empty)));

        report.Line();
        report.Table(Headers, RightAligned, rows);
        report.Line();
        PrintNotes(host, metricsBefore, idle, metricsAfter, drained, baseline);
        return cancellationToken.IsCancellationRequested ? 130 : opened == options.Connections ? 0 : 1;
    }

    /// <summary>The idle window: every socket open, nothing but the heartbeat on the wire; host and bench sampled at both ends.</summary>
    private async Task<IdleResult> IdleAsync(HostProcess? host, RealtimeSocket?[] sockets, SocketStats stats, CancellationToken cancellationToken)
    {
        Progress("settling " + Seconds(Settle.TotalSeconds) + ", then idle for " + Seconds(options.Idle.TotalSeconds) + " with every socket open");
        try
        {
            await Task.Delay(Settle, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // interrupted: the window below is skipped
        }

        // /metrics is scraped just outside the window, so the scrape's own cost is not in it.
        var metricsStart = await PrometheusText.TryScrapeAsync(client, options.Url, cancellationToken);
        var hostStart = host is null ? FromMetrics(metricsStart) : host.Sample();
        var selfStart = HostProcess.Self.Sample();
        var pingsStart = stats.Pings;
        var start = Stopwatch.GetTimestamp();
        try
        {
            var end = start + (long)(options.Idle.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < end)
            {
                var left = TimeSpan.FromSeconds((double)(end - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
                await Task.Delay(left < TimeSpan.FromSeconds(10) ? left : TimeSpan.FromSeconds(10), cancellationToken);
                Progress("  idle " + Stopwatch.GetElapsedTime(start).TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s: " +
                    ResultTable.Format(sockets.Count(s => s is not null && !s.Completion.IsCompleted)) + " open, " +
                    ResultTable.Format(stats.Pings - pingsStart) + " pings answered, " + ResultTable.Format(stats.UnexpectedCloses) + " closed unexpectedly");
            }
        }
        catch (OperationCanceledException)
        {
            // interrupted: report the window so far
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var hostEnd = host?.Sample();
        var selfEnd = HostProcess.Self.Sample();
        var pings = stats.Pings - pingsStart;
        var openAtEnd = sockets.Count(s => s is not null && !s.Completion.IsCompleted);
        var metricsEnd = await PrometheusText.TryScrapeAsync(client, options.Url, CancellationToken.None);
        if (host is null)
        {
            hostEnd = FromMetrics(metricsEnd);
        }

        return new IdleResult(seconds, hostStart, hostEnd, selfStart, selfEnd, pings, openAtEnd, metricsStart, metricsEnd);
    }

    private void PrintNotes(HostProcess? host, PrometheusText? before, IdleResult? idle, PrometheusText? after, bool drained, double baseline)
    {
        if (idle?.MetricsStart is { } ms && idle.MetricsEnd is { } me)
        {
            var framesOut = me.Sum(FramesOutMetric) - ms.Sum(FramesOutMetric);
            var framesIn = me.Sum(FramesInMetric) - ms.Sum(FramesInMetric);
            report.Line(
                "Host's view (/metrics): " + ConnectionsMetric + " " + ResultTable.Format((long)me.Sum(ConnectionsMetric)) + " at the end of the idle window (" +
                ResultTable.Format((long)baseline) + " before the run); during the window it queued " + ResultTable.Format((long)framesOut) +
                " frames and received " + ResultTable.Format((long)framesIn) + ".");
        }

        if (before is not null && after is not null)
        {
            var closes = after.Samples.Where(s => s.Name == ClosedMetric).Select(s => s.Label("code")).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(code => (Code: code, Count: after.Sum(ClosedMetric, s => s.Label("code") == code) - before.Sum(ClosedMetric, s => s.Label("code") == code)))
                .Where(x => x.Count > 0)
                .Select(x => ResultTable.Format((long)x.Count) + " × " + x.Code)
                .ToList();
            var overflows = after.Sum(OverflowsMetric) - before.Sum(OverflowsMetric);
            report.Line("Closes the host recorded during the run (" + ClosedMetric + " by code; 1000 includes its answers to the bench's own closes at the end): " +
                string.Join(", ", closes.DefaultIfEmpty("none")) +
                (overflows > 0 ? "; send-queue overflows: " + ResultTable.Format((long)overflows) : string.Empty) + ".");
        }

        if (!drained)
        {
            report.Line("After closing, " + ConnectionsMetric + " did not come back to " + ResultTable.Format((long)baseline) + " within " +
                Seconds(DrainLimit.TotalSeconds) + ": the host still counted connections the bench had closed.");
        }

        report.Line(
            "RSS is the resident set (VmRSS) of " + (host is null ? "the host, from its " + WorkingSetMetric : "host process " +
            host.Pid.ToString(CultureInfo.InvariantCulture) + " from /proc") + "; per connection = (RSS at the end of the idle window − RSS before " +
            "connecting) / sockets open. It includes whatever the GC has not returned to the OS (server GC keeps memory), so it is an upper bound " +
            "on what a connection holds. CPU = (utime + stime) delta / wall time, in % of one core. The idle window starts " +
            Seconds(Settle.TotalSeconds) + " after the last connect. The bench answers every ping with a pong, as a client must.");
        report.Line(
            "Sockets go to one host on " + options.Url.Authority + "; the load generator runs on the same machine and shares its " +
            ResultTable.Format(Environment.ProcessorCount) + " cores with the host, PostgreSQL and Redis.");
        foreach (var note in notes)
        {
            report.Line(note);
        }

        if (MachineInfo.DescribeLoadAtEnd() is { } load)
        {
            report.Line(load);
        }
    }

    /// <summary>
    /// The users whose sockets are opened: the chat demo users when they are enough, otherwise users
    /// provisioned through the admin API and kept in the realtime users file for the next run.
    /// </summary>
    private async Task<List<DemoUser>> UsersAsync(int needed, CancellationToken cancellationToken)
    {
        var chatUsers = demoUsers.Where(u => u.HasScope(MessagesScenario.MessagesScope) && !u.HasScope(MessagesScenario.AdminScope)).ToList();
        if (needed <= chatUsers.Count)
        {
            notes.Add("Sockets belong to the chat demo users (" + string.Join(", ", chatUsers.Take(needed).Select(u => u.Name)) + ").");
            return chatUsers.Take(needed).ToList();
        }

        var path = options.RealtimeUsersPath is { } given
            ? Path.GetFullPath(given)
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(demoUsersPath)) ?? ".", DefaultRealtimeUsersFile);
        List<DemoUser> kept = [];
        if (File.Exists(path))
        {
            try
            {
                kept = [.. await DemoUserFile.ReadAsync(path, cancellationToken)];
            }
            catch (InvalidDataException)
            {
                // empty (a run that failed before creating anyone): provision afresh
            }
        }

        if (kept.Count > 0)
        {
            // A file from another database (the platform was reset) holds credentials nobody knows any more.
            try
            {
                await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, kept[0], cancellationToken);
            }
            catch (InvalidOperationException ex) when (ex.Message.Contains(" returned 401", StringComparison.Ordinal) ||
                                                       ex.Message.Contains(" returned 400", StringComparison.Ordinal))
            {
                Progress(path + " holds users this host does not know (" + ex.Message + "); provisioning new ones");
                kept = [];
            }
        }

        if (kept.Count >= needed)
        {
            notes.Add("Sockets belong to " + ResultTable.Format(needed) + " users provisioned by an earlier run (" + path + ").");
            return kept.Take(needed).ToList();
        }

        if (demoUsers.FirstOrDefault(u => u.HasScope(MessagesScenario.AdminScope)) is not { } admin)
        {
            throw new InvalidOperationException(
                ResultTable.Format(options.Connections) + " sockets at " + ResultTable.Format(options.ConnectionsPerUser) + " per user need " +
                ResultTable.Format(needed) + " users, and provisioning them needs a demo user with the admin scope, which the users file does not have. " +
                "Use the demo-users.json the host writes, or lower --connections / raise --connections-per-user (and the host's " +
                "Chat4All__Realtime__MaxConnectionsPerUser with it).");
        }

        var missing = needed - kept.Count;
        Progress("provisioning " + ResultTable.Format(missing) + " users through POST /" + Chat4AllApi.AdminUsersPath + " (kept in " + path + " for reruns)");
        var adminToken = await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, admin, cancellationToken);
        var created = new DemoUser?[missing];
        var first = kept.Count;
        // A batch tag keeps names unique when an earlier run's users file was lost (the host keeps its users).
        var batch = Guid.NewGuid().ToString("N")[..6];
        var done = 0;
        var lastProgress = Stopwatch.GetTimestamp();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, missing), new ParallelOptions { MaxDegreeOfParallelism = ProvisionConcurrency, CancellationToken = cancellationToken },
                async (i, token) =>
                {
                    var name = UserNamePrefix + batch + "-" + (first + i + 1).ToString("D5", CultureInfo.InvariantCulture);
                    created[i] = await Chat4AllApi.CreateUserAsync(client, options.Url, adminToken, name, [MessagesScenario.MessagesScope], token);
                    if (Interlocked.Increment(ref done) % 100 == 0 && Stopwatch.GetElapsedTime(lastProgress) >= TimeSpan.FromSeconds(2))
                    {
                        lastProgress = Stopwatch.GetTimestamp();
                        Progress("  " + ResultTable.Format(done) + " / " + ResultTable.Format(missing));
                    }
                });
        }
        finally
        {
            // Whatever was created is kept, even when provisioning stopped half way.
            kept.AddRange(created.Where(u => u is not null).Select(u => u!));
            await SaveAsync(path, kept);
        }

        notes.Add("Sockets belong to " + ResultTable.Format(needed) + " users provisioned through POST /" + Chat4AllApi.AdminUsersPath + " (" +
            ResultTable.Format(missing) + " by this run), kept in " + path + ".");
        return kept.Take(needed).ToList();
    }

    private static async Task SaveAsync(string path, List<DemoUser> users)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path) ?? ".");
        var temporary = path + ".tmp";
        await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            if (!OperatingSystem.IsWindows())
            {
                // Client secrets: readable by this user only, like the host's demo-users.json.
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            await JsonSerializer.SerializeAsync(stream, users, Indented);
        }

        File.Move(temporary, path, overwrite: true);
    }

    private async Task<List<string>> TokensAsync(List<DemoUser> users, CancellationToken cancellationToken)
    {
        Progress("fetching " + ResultTable.Format(users.Count) + " access tokens (" + ResultTable.Format(TokenConcurrency) + " at a time)");
        var tokens = new string[users.Count];
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(Enumerable.Range(0, users.Count), new ParallelOptions { MaxDegreeOfParallelism = TokenConcurrency, CancellationToken = cancellationToken },
            async (i, token) => tokens[i] = await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, users[i], token));
        Progress("  done in " + Seconds(Stopwatch.GetElapsedTime(started).TotalSeconds));
        return [.. tokens];
    }

    private IReadOnlyList<IPAddress> SourceAddresses()
    {
        // Only an IPv4 loopback target can be reached from 127.0.0.x; anything else uses the kernel's choice.
        var host = options.Url.DnsSafeHost;
        var ipv4Target = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ||
            (IPAddress.TryParse(host, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
        if (options.SourceAddresses == 0 || !ipv4Target)
        {
            if (options.SourceAddresses > 0)
            {
                notes.Add("--url is not an IPv4 address, so the sockets use the kernel's source address, not 127.0.0.2 and up.");
            }

            return [];
        }

        return [.. Enumerable.Range(2, options.SourceAddresses).Select(i => new IPAddress([127, 0, 0, (byte)i]))];
    }

    private static string DescribeSources(IReadOnlyList<IPAddress> sources) =>
        sources.Count switch
        {
            0 => "the kernel's source address",
            1 => "source address " + sources[0],
            _ => ResultTable.Format(sources.Count) + " source addresses " + sources[0] + "–" + sources[^1],
        };

    private async Task<bool> WaitForGaugeAsync(double baseline, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < DrainLimit)
        {
            if (await PrometheusText.TryScrapeAsync(client, options.Url, CancellationToken.None) is not { } now)
            {
                return true; // no metrics: nothing to wait for
            }

            if (now.Sum(ConnectionsMetric) <= baseline)
            {
                return true;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return false;
    }

    private async Task<ProcessSample?> HostSampleAsync(HostProcess? host, PrometheusText? scraped, CancellationToken cancellationToken) =>
        host is not null ? host.Sample() : FromMetrics(scraped ?? await PrometheusText.TryScrapeAsync(client, options.Url, cancellationToken));

    private static ProcessSample? FromMetrics(PrometheusText? scraped) =>
        scraped is null || !scraped.Samples.Any(s => s.Name == WorkingSetMetric)
            ? null
            : new ProcessSample((long)scraped.Sum(WorkingSetMetric), scraped.Sum(CpuTimeMetric), Stopwatch.GetTimestamp());

    private static string Describe(Exception ex)
    {
        // The innermost exception names the cause (EMFILE, ECONNREFUSED, a close code), the outer ones only the layer.
        var inner = ex;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        var text = ex.GetType().Name + ": " + ex.Message;
        if (!ReferenceEquals(inner, ex))
        {
            text += " ← " + inner.GetType().Name + ": " + inner.Message +
                (inner is System.Net.Sockets.SocketException socket ? " (" + socket.SocketErrorCode + ")" : string.Empty);
        }

        return text.Replace('|', '/');
    }

    private static string[] Row(string measure, string value) => [measure, value];

    private static string Mib(long? bytes) => bytes is { } b ? (b / (1024.0 * 1024)).ToString("N1", CultureInfo.InvariantCulture) + " MiB" : "n/a";

    private static string Kib(double bytes) => (bytes / 1024).ToString("N1", CultureInfo.InvariantCulture) + " KiB";

    private static string Percent(double value) => double.IsNaN(value) ? "n/a" : value.ToString("0.0", CultureInfo.InvariantCulture) + " %";

    private static string Rate(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Seconds(double seconds) => seconds.ToString(seconds < 1 ? "0.##" : "0.#", CultureInfo.InvariantCulture) + " s";

    private static void Progress(string message) => Console.Error.WriteLine("[bench] " + message);

    private sealed record IdleResult(
        double Seconds, ProcessSample? HostStart, ProcessSample? HostEnd, ProcessSample? SelfStart, ProcessSample? SelfEnd, long Pings, int OpenAtEnd,
        PrometheusText? MetricsStart, PrometheusText? MetricsEnd);
}
