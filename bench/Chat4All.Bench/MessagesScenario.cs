using System.CommandLine;
using System.Globalization;

namespace Chat4All.Bench;

/// <summary>
/// Issue 3's benchmark: sustained accepted messages/s and latency of <c>POST /v1/messages</c>, first
/// closed-loop at a few concurrencies (the best is the peak), then open-loop at fixed fractions of
/// that peak; afterwards pgbench commits single-row INSERTs into a similar table on the same
/// PostgreSQL at the peak's client count, and the two rates are compared.
/// </summary>
internal sealed class MessagesScenario : IBenchScenario
{
    private static readonly Option<IReadOnlyList<int>> PeakConcurrencies = BenchOption.IntList("--peak-concurrency",
        "closed-loop workers for the peak runs", [8, 32, 64], 1, BenchOption.MaxConcurrency);

    private static readonly Option<IReadOnlyList<int>> LoadPercents = BenchOption.IntList("--loads", "open-loop offered loads in % of the measured peak",
        [25, 50, 75, 100], 1, 200);

    private static readonly Option<bool> NoPgbench = new("--no-pgbench") { Description = "skip the pgbench baseline (then --postgres is optional)" };

    // Set by RunAsync: a scenario runs once per process.
    private Settings options = null!;
    private ScenarioReport report = null!;
    private HttpClient client = null!;
    private IReadOnlyList<DemoUser> users = [];

    public string Name => "messages";

    public string Description =>
        "POST /v1/messages: closed-loop peak and open-loop offered loads, next to pgbench inserting the same rows\n" +
        "into the same PostgreSQL. The host must run with rate limiting off (Chat4All__RateLimiting__Enabled=false).";

    public IReadOnlyList<Option> Options => [CommonOptions.Duration, CommonOptions.Warmup, PeakConcurrencies, LoadPercents, CommonOptions.MaxInFlight, CommonOptions.Postgres, CommonOptions.PgBin, NoPgbench];

    public int HttpConcurrency(ParseResult parsed) => Math.Max(parsed.GetValue(PeakConcurrencies)!.Max(), parsed.GetValue(CommonOptions.MaxInFlight));

    public Task<int> RunAsync(BenchRun run, ParseResult parsed, CancellationToken cancellationToken)
    {
        report = run.Report;
        options = new Settings(run.Url, parsed.GetValue(CommonOptions.Duration), parsed.GetValue(CommonOptions.Warmup), parsed.GetValue(PeakConcurrencies)!,
            parsed.GetValue(LoadPercents)!, parsed.GetValue(CommonOptions.MaxInFlight), parsed.GetValue(CommonOptions.Postgres), parsed.GetValue(CommonOptions.PgBin),
            !parsed.GetValue(NoPgbench));
        client = run.Client;
        users = run.Users;
        return RunScenarioAsync(cancellationToken);
    }

    internal sealed record Settings(Uri Url, TimeSpan Duration, TimeSpan Warmup, IReadOnlyList<int> PeakConcurrencies,
        IReadOnlyList<int> LoadPercents, int MaxInFlight, string? Postgres, string? PostgresBin, bool Pgbench)
    {
        public string? ResolvePostgres() => CommonOptions.ResolvePostgres(Postgres);
    }

    /// <summary>The scope a demo user needs to create conversations and send.</summary>
    public const string MessagesScope = "messages";

    /// <summary>Operator accounts hold this scope; they are left out so only the chat users send.</summary>
    public const string AdminScope = "admin";

    // Enough users for several private pairs and groups; more only multiplies setup requests.
    private const int MaxUsers = 8;
    private const int MaxGroups = 4;

    // After each run the relay may still be publishing its backlog; the next run waits at most this
    // long for it, so one run's leftovers do not load the next one's window.
    private static readonly TimeSpan RelaySettleLimit = TimeSpan.FromSeconds(60);

    private static readonly string[] Headers = ["Target", "Requests", "Errors", "req/s", "avg ms", "p50 ms", "p95 ms", "p99 ms", "vs pgbench"];
    private static readonly bool[] RightAligned = [false, true, true, true, true, true, true, true, true];

    private readonly List<string> notes = [];
    private readonly List<string> relayNotes = [];
    private int relayDrainedRuns;
    private List<DemoUser> senders = [];
    private IReadOnlyList<BenchConversation> conversations = [];
    private PostgresBaseline? postgres;

    private async Task<int> RunScenarioAsync(CancellationToken cancellationToken)
    {
        if (await PrepareAsync(cancellationToken) is { } failed)
        {
            return failed;
        }

        // Printed only once the setup works, so a failed preflight leaves stdout empty.
        report.Line(MachineInfo.Describe());

        var closedLoop = new List<RunResult>();
        var openLoop = new List<(int Percent, OpenLoopResult Result)>();
        PgbenchResult? pgbench = null;
        try
        {
            var generator = new LoadGenerator(client, options.Warmup, options.Duration, LoadGenerator.DefaultRequestCap);
            foreach (var concurrency in options.PeakConcurrencies)
            {
                var label = "chat4all closed-loop c=" + concurrency.ToString(CultureInfo.InvariantCulture);
                Progress(label + ": " + Seconds(options.Warmup) + " warm-up + " + Seconds(options.Duration) + " measured");
                var workload = Workload.SendMessage(label, options.Url, concurrency, conversations, await FetchTokensAsync(cancellationToken));
                CleanHeap();
                var result = await generator.RunAsync(workload, cancellationToken);
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                closedLoop.Add(result);
                Progress("  " + Rate(result.RequestsPerSecond) + " accepted/s, " + ResultTable.Format(result.Errors) + " errors");
                await SettleRelayAsync(label, cancellationToken);
            }

            var peak = closedLoop.Count == 0 ? null : closedLoop.MaxBy(r => r.RequestsPerSecond);
            if (peak is { RequestsPerSecond: > 0 } && !cancellationToken.IsCancellationRequested)
            {
                var openGenerator = new OpenLoopGenerator(client, options.Warmup, options.Duration, options.MaxInFlight, LoadGenerator.DefaultRequestCap);
                foreach (var percent in options.LoadPercents)
                {
                    var rate = Math.Min(OpenLoopGenerator.MaxRatePerSecond, Math.Max(1, peak.RequestsPerSecond * percent / 100));
                    var label = "chat4all offered " + Rate(rate) + "/s (" + percent.ToString(CultureInfo.InvariantCulture) + "% of peak)";
                    Progress(label + ": open loop, at most " + options.MaxInFlight.ToString(CultureInfo.InvariantCulture) + " in flight, " +
                        Seconds(options.Warmup) + " warm-up + " + Seconds(options.Duration) + " measured");
                    var workload = Workload.SendMessage(label, options.Url, options.MaxInFlight, conversations, await FetchTokensAsync(cancellationToken));
                    CleanHeap();
                    var result = await openGenerator.RunAsync(workload, rate, cancellationToken);
                    if (cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }

                    openLoop.Add((percent, result));
                    Progress("  " + Rate(result.Run.RequestsPerSecond) + " accepted/s, " + ResultTable.Format(result.Run.Errors) + " errors, p99 " +
                        ResultTable.Milliseconds(result.Run.P99Milliseconds) + " ms");
                    await SettleRelayAsync(label, cancellationToken);
                }
            }
            else if (!cancellationToken.IsCancellationRequested)
            {
                notes.Add("No closed-loop run accepted a message, so there is no peak and no offered-load runs.");
            }

            if (options.Pgbench && peak is not null && postgres is not null && !cancellationToken.IsCancellationRequested)
            {
                pgbench = await RunPgbenchAsync(postgres, peak.Concurrency, cancellationToken);
            }
        }
        catch (RateLimitedException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (InvalidOperationException ex)
        {
            // pgbench or psql failed, or the host stopped issuing tokens mid-run: report what finished.
            notes.Add(ex.Message);
            Progress(ex.Message);
        }
        catch (HttpRequestException ex)
        {
            notes.Add("Chat4All stopped answering: " + ex.Message);
            Progress(notes[^1]);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted: print what finished.
        }

        if (closedLoop.Count > 0)
        {
            Print(closedLoop, openLoop, pgbench);
        }

        return cancellationToken.IsCancellationRequested ? 130 : 0;
    }

    /// <summary>Everything that can fail before a measurement: PostgreSQL tools, tokens, conversations, one probe message.</summary>
    private async Task<int?> PrepareAsync(CancellationToken cancellationToken)
    {
        senders = users
            .Where(u => u.HasScope(MessagesScope) && !u.HasScope(AdminScope) && !string.IsNullOrEmpty(u.UserId))
            .Take(MaxUsers)
            .ToList();
        if (senders.Count < 2)
        {
            await Console.Error.WriteLineAsync(
                $"The messages scenario needs at least two demo users with a user_id and the '{MessagesScope}' scope (and not '{AdminScope}'); " +
                $"the users file has {senders.Count}. " +
                "Use the demo-users.json the host writes (scripts/run.sh reseeds it).");
            return 1;
        }

        if (await PreparePostgresAsync(cancellationToken) is { } failed)
        {
            return failed;
        }

        if (await ScenarioSetup.RunAsync(options.Url, async () =>
            {
                var tokens = await FetchTokensAsync(cancellationToken);
                conversations = await CreateConversationsAsync(tokens, cancellationToken);
                Progress("probing POST " + Chat4AllApi.MessagesPath);
                await Chat4AllApi.CheckSendMessageAsync(client, options.Url, tokens[conversations[0].MemberIndexes[0]], conversations[0].ConversationId, cancellationToken);
            }, cancellationToken) is { } setupFailed)
        {
            return setupFailed;
        }

        var privateCount = conversations.Count(c => c.Type == "private");
        notes.Add(
            conversations.Count.ToString(CultureInfo.InvariantCulture) + " conversations (" + privateCount.ToString(CultureInfo.InvariantCulture) +
            " private pairs, " + (conversations.Count - privateCount).ToString(CultureInfo.InvariantCulture) + " groups) among " +
            senders.Count.ToString(CultureInfo.InvariantCulture) + " demo users (" + string.Join(", ", senders.Select(u => u.Name)) +
            "); requests rotate over the conversations and, within each, over its members as senders. " +
            "Sends to one conversation serialise on its row lock by design, so more conversations mean more parallelism.");
        return null;
    }

    private async Task<int?> PreparePostgresAsync(CancellationToken cancellationToken)
    {
        var connectionString = options.ResolvePostgres();
        if (connectionString is null)
        {
            if (!options.Pgbench)
            {
                notes.Add("No PostgreSQL connection string, so the relay's outbox backlog was not watched between runs.");
                return null;
            }

            await Console.Error.WriteLineAsync(
                "The pgbench baseline needs the platform's PostgreSQL: pass --postgres \"Host=...;Port=...;Database=...;Username=...;Password=...\", " +
                "or export " + CommonOptions.PostgresEnvironmentVariable + " with eval \"$(scripts/infra.sh env)\", or skip it with --no-pgbench.");
            return 1;
        }

        if (PostgresConnection.Parse(connectionString, out var error) is not { } connection)
        {
            await Console.Error.WriteLineAsync(error);
            return 1;
        }

        if (PostgresBaseline.ResolveBinDirectory(options.PostgresBin, out var tried) is not { } binDirectory)
        {
            if (!options.Pgbench)
            {
                notes.Add("psql not found, so the relay's outbox backlog was not watched between runs.");
                return null;
            }

            await Console.Error.WriteLineAsync("pgbench and psql not found; tried: " + string.Join(", ", tried));
            await Console.Error.WriteLineAsync("Pass --pg-bin <dir> or export " + CommonOptions.PostgresBinEnvironmentVariable + " (scripts/infra.sh env does).");
            return 1;
        }

        postgres = new PostgresBaseline(binDirectory, connection);
        if (!options.Pgbench)
        {
            return null;
        }

        try
        {
            // Before any measurement, so a wrong password fails in a second, not after two minutes of runs.
            Progress("creating " + PostgresBaseline.Table + " (if missing) on " + connection.Describe());
            await postgres.EnsureTableAsync(cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }

        return null;
    }

    /// <summary>
    /// Every private pair among the senders, plus up to <see cref="MaxGroups"/> groups, each created by
    /// one sender with all the others (the API wants 3 to 100 members, the caller included).
    /// </summary>
    private async Task<IReadOnlyList<BenchConversation>> CreateConversationsAsync(IReadOnlyList<string> tokens, CancellationToken cancellationToken)
    {
        Progress("creating conversations among " + senders.Count.ToString(CultureInfo.InvariantCulture) + " demo users");
        var created = new List<BenchConversation>();
        for (var i = 0; i < senders.Count; i++)
        {
            for (var j = i + 1; j < senders.Count; j++)
            {
                var id = await Chat4AllApi.CreateConversationAsync(client, options.Url, tokens[i], "private", [senders[j].UserId!], cancellationToken);
                created.Add(new BenchConversation(id, "private", [i, j]));
            }
        }

        if (senders.Count >= 3)
        {
            for (var creator = 0; creator < Math.Min(MaxGroups, senders.Count); creator++)
            {
                var others = Enumerable.Range(0, senders.Count).Where(m => m != creator).ToList();
                var id = await Chat4AllApi.CreateConversationAsync(
                    client, options.Url, tokens[creator], "group", others.Select(m => senders[m].UserId!).ToList(), cancellationToken);
                created.Add(new BenchConversation(id, "group", [creator, .. others]));
            }
        }

        return created;
    }

    /// <summary>Fresh tokens before every run: access tokens live 15 minutes, and a full run can outlast that.</summary>
    private async Task<IReadOnlyList<string>> FetchTokensAsync(CancellationToken cancellationToken)
    {
        var tokens = new List<string>(senders.Count);
        foreach (var user in senders)
        {
            tokens.Add(await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, user, cancellationToken));
        }

        return tokens;
    }

    /// <summary>
    /// Notes how many outbox rows the relay still had to publish right after a run, then waits (up to
    /// <see cref="RelaySettleLimit"/>) until it has caught up, so each run starts without the last one's backlog.
    /// </summary>
    private async Task SettleRelayAsync(string label, CancellationToken cancellationToken)
    {
        if (postgres is null || await postgres.OutboxBacklogAsync(cancellationToken) is not { } backlog)
        {
            return;
        }

        if (backlog == 0)
        {
            relayDrainedRuns++;
            return;
        }

        var started = TimeProvider.System.GetTimestamp();
        long? remaining = backlog;
        while (remaining > 0 && TimeProvider.System.GetElapsedTime(started) < RelaySettleLimit && !cancellationToken.IsCancellationRequested)
        {
            Progress("  waiting for the relay: " + ResultTable.Format(remaining.Value) + " outbox rows unpublished");
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            remaining = await postgres.OutboxBacklogAsync(cancellationToken);
        }

        var waited = TimeProvider.System.GetElapsedTime(started);
        relayNotes.Add(label + ": " + ResultTable.Format(backlog) + " outbox rows unpublished when the run ended; " +
            (remaining == 0
                ? "the relay caught up within " + Seconds(waited) + "."
                : "still " + (remaining?.ToString("N0", CultureInfo.InvariantCulture) ?? "unknown") + " after " + Seconds(waited) + "; the next run started anyway."));
    }

    /// <summary>pgbench after the Chat4All runs, never during them: on a small machine they would fight over the same cores.</summary>
    private async Task<PgbenchResult> RunPgbenchAsync(PostgresBaseline baseline, int clients, CancellationToken cancellationToken)
    {
        var scriptPath = Path.Combine(Path.GetTempPath(), "chat4all-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".pgbench.sql");
        await File.WriteAllTextAsync(scriptPath, PostgresBaseline.Script(), cancellationToken);
        try
        {
            await baseline.TruncateAsync(cancellationToken);
            var warmupSeconds = (int)options.Warmup.TotalSeconds;
            if (warmupSeconds > 0)
            {
                Progress("pgbench c=" + clients.ToString(CultureInfo.InvariantCulture) + ": " + warmupSeconds.ToString(CultureInfo.InvariantCulture) + " s warm-up (not recorded)");
                await baseline.RunAsync(scriptPath, clients, warmupSeconds, cancellationToken);
            }

            var seconds = (int)options.Duration.TotalSeconds;
            Progress("pgbench c=" + clients.ToString(CultureInfo.InvariantCulture) + ": " + seconds.ToString(CultureInfo.InvariantCulture) +
                " s measured, after the Chat4All runs, into " + PostgresBaseline.Table + " on " + baseline.Connection.Describe());
            var result = await baseline.RunAsync(scriptPath, clients, seconds, cancellationToken);
            Progress("  " + Rate(result.Tps) + " tps");
            if (result.ExitCode != 0)
            {
                notes.Add("pgbench exited with " + result.ExitCode.ToString(CultureInfo.InvariantCulture) + " (some clients aborted); its summary is reported as printed.");
            }

            return result;
        }
        finally
        {
            File.Delete(scriptPath);
            try
            {
                await baseline.TruncateAsync(CancellationToken.None); // leave no rows behind; only bench.* is ever truncated
            }
            catch (InvalidOperationException ex)
            {
                Progress("could not truncate " + PostgresBaseline.Table + ": " + ex.Message);
            }
        }
    }

    private void Print(List<RunResult> closedLoop, List<(int Percent, OpenLoopResult Result)> offered, PgbenchResult? pgbench)
    {
        var openLoop = offered.Select(o => o.Result).ToList();
        var tps = pgbench?.Tps is > 0 ? pgbench.Tps : (double?)null;
        var rows = new List<string[]>();
        rows.AddRange(closedLoop.Select(r => Cells(r.Target, r, tps)));
        rows.AddRange(openLoop.Select(r => Cells(r.Run.Target, r.Run, tps)));
        if (pgbench is not null)
        {
            rows.Add(
            [
                "pgbench c=" + pgbench.Clients.ToString(CultureInfo.InvariantCulture),
                ResultTable.Format(pgbench.Transactions + pgbench.Failed),
                ResultTable.Format(pgbench.Failed),
                Rate(pgbench.Tps),
                ResultTable.Milliseconds(pgbench.LatencyAverageMilliseconds),
                "n/a", "n/a", "n/a",
                "(baseline)",
            ]);
        }

        report.Line();
        report.Table(Headers, RightAligned, rows);
        report.Line();

        var peak = closedLoop.MaxBy(r => r.RequestsPerSecond)!;
        var peakText = "Chat4All peak " + Rate(peak.RequestsPerSecond) + " accepted messages/s (closed loop, c=" +
            peak.Concurrency.ToString(CultureInfo.InvariantCulture) + ")";
        report.Line(tps is { } baselineTps
            ? "Ratio: " + peakText + " / pgbench " + Rate(baselineTps) + " single-row commits/s (c=" + pgbench!.Clients.ToString(CultureInfo.InvariantCulture) +
              ") = " + ResultTable.Ratio(peak.RequestsPerSecond / baselineTps) + ". Aim: at least 1 (" +
              (peak.RequestsPerSecond >= baselineTps ? "met" : "not met") + ")."
            : "Ratio: " + peakText + "; no pgbench result to compare with.");
        if (offered.FirstOrDefault(o => o.Percent == 50).Result is { } half)
        {
            report.Line(
                "p99 at half of peak (offered " + Rate(half.OfferedPerSecond) + "/s): " + ResultTable.Milliseconds(half.Run.P99Milliseconds) +
                " ms with " + ResultTable.Format(half.Run.Errors) + " errors. Aim: under 50 ms (" +
                (half.Run.P99Milliseconds < 50 && half.Run.Errors == 0 ? "met" : "not met") + ").");
        }

        report.Line();
        report.Line(
            "Warm-up " + Seconds(options.Warmup) + " (not recorded), measured " + Seconds(options.Duration) + " per row. req/s is accepted messages/s " +
            "(HTTP 202, status accepted) for chat4all and committed transactions/s for pgbench; errors are excluded from req/s and the percentiles.");
        report.Line(
            "Closed loop: N workers, each waiting for its response before sending again; the best row is the peak. " +
            "Offered: open loop, requests started on a fixed schedule whatever the responses do, at most " +
            options.MaxInFlight.ToString(CultureInfo.InvariantCulture) + " in flight; latency counts from the scheduled start " +
            "(no coordinated omission), and requests dropped at the in-flight cap or started over " +
            OpenLoopGenerator.LateStartLimit.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + " ms late count as errors.");
        report.Line(
            "The outbox relay runs inside the host throughout and publishes every accepted message to Redis in the background: " +
            "that work is part of the platform's load in every chat4all row.");
        if (pgbench is not null)
        {
            report.Line(
                "pgbench ran after the Chat4All runs, not concurrently, so the two never competed for this machine's " +
                Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) + " cores: one single-row INSERT per transaction into " +
                PostgresBaseline.Table + " (shaped like messaging.messages, same PostgreSQL), -M prepared, " +
                pgbench.Clients.ToString(CultureInfo.InvariantCulture) + " clients = the peak's concurrency; it reports only an average latency.");
        }

        report.Line(
            "The load generator runs on the same machine and shares its " + Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) +
            " cores with the host, PostgreSQL and Redis.");
        foreach (var note in notes)
        {
            report.Line(note);
        }

        if (MachineInfo.DescribeLoadAtEnd() is { } load)
        {
            report.Line(load);
        }

        if (relayDrainedRuns > 0)
        {
            report.Line(relayNotes.Count == 0
                ? "Outbox: the relay had published every outbox row by the end of each run."
                : "Outbox: " + relayDrainedRuns.ToString(CultureInfo.InvariantCulture) + " of " +
                  (relayDrainedRuns + relayNotes.Count).ToString(CultureInfo.InvariantCulture) + " runs ended with every outbox row published; the others:");
        }

        foreach (var note in relayNotes)
        {
            report.Line(note);
        }

        foreach (var result in closedLoop.Concat(openLoop.Select(o => o.Run)).Where(r => r.FirstError is not null))
        {
            report.Line("Errors in " + result.Target + ", first: " + result.FirstError);
        }

        foreach (var result in openLoop.Where(o => o.Dropped + o.Late > 0))
        {
            report.Line(result.Run.Target + ": " + ResultTable.Format(result.Dropped) + " dropped at the in-flight cap, " +
                ResultTable.Format(result.Late) + " started late.");
        }

        foreach (var result in closedLoop.Concat(openLoop.Select(o => o.Run)).Where(r => r.CapReached))
        {
            report.Line(result.Target + " hit the cap of " + ResultTable.Format(LoadGenerator.DefaultRequestCap) + " requests; its window was shortened.");
        }
    }

    private static string[] Cells(string target, RunResult result, double? pgbenchTps) =>
    [
        target,
        ResultTable.Format(result.Requests),
        ResultTable.Format(result.Errors),
        Rate(result.RequestsPerSecond),
        ResultTable.Milliseconds(result.MeanMilliseconds),
        ResultTable.Milliseconds(result.P50Milliseconds),
        ResultTable.Milliseconds(result.P95Milliseconds),
        ResultTable.Milliseconds(result.P99Milliseconds),
        pgbenchTps is { } tps ? ResultTable.Ratio(result.RequestsPerSecond / tps) + "×" : "n/a",
    ];

    private static void CleanHeap()
    {
        // Start each run from a clean heap so garbage left by the previous run is not collected on its clock.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static string Rate(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";

    private static void Progress(string message) => Console.Error.WriteLine("[bench] " + message);
}
