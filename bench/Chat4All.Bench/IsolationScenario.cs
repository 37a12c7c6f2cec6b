using System.CommandLine;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Chat4All.Bench;

/// <summary>
/// Issue 15's isolation goal: while a large delivery backlog is queued, do new messages still reach
/// the recipients' sockets fast? The first chat demo user sends <c>--messages</c> messages with
/// <c>["all"]</c> into groups with the next two as fast as the API takes them (each fans out to one
/// delivery per address, about ten), which queues far more deliveries than the pipeline finishes.
/// It waits until realtime has sent the backlog messages' own frames (at most three minutes). Then all three open a WebSocket and the sender sends open loop at the first of <c>--rates</c> for
/// <c>--duration</c>, with <c>--channels</c>; the scenario reports the recipient's
/// <c>message.created</c> latency, the backlog when the probe started and when it ended, and the
/// machine's and the host's CPU over the probe window.
/// </summary>
internal sealed class IsolationScenario : IBenchScenario
{
    private const double SocketAimMilliseconds = 100;
    private const int BacklogSendConcurrency = 16;
    private const string DeliveriesNotFinal = "deliveries not final";
    private const string RealtimeStream = "stream realtime";
    private const long RealtimeCaughtUp = 50;

    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan SubscribeSettle = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan FrameWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RealtimeCatchUpLimit = TimeSpan.FromSeconds(180);

    private static readonly string[] Headers =
    [
        "Backlog msgs", "Backlog build s", "Realtime caught up s", "Deliveries queued at start", "Backlog at start", "Probe/s", "Accepted/s", "Errors", "Socket p50", "Socket p90",
        "Socket p99", "Socket max", "Lost", "Deliveries queued at end", "Backlog at end", "CPU % (machine − bench)", "Host CPU %",
    ];

    // Set by RunAsync: a scenario runs once per process.
    private PipelineScenario.Settings options = null!;
    private int backlogMessages;
    private ScenarioReport report = null!;
    private HttpClient client = null!;
    private IReadOnlyList<DemoUser> users = [];

    public string Name => "isolation";

    public string Description =>
        "a delivery backlog, then new messages with sockets open: --messages [\"all\"] messages into groups of three as fast as\n" +
        "they are accepted (5000 queue ~50,000 deliveries), a wait until realtime has sent their own frames, then the first of\n" +
        "--rates for --duration with --channels: socket latency while the deliveries are queued, the backlogs at the start\n" +
        "and end of that window, CPU. Rate limiting off; the pipeline scenario's backlog readers (psql, redis-cli).";

    public IReadOnlyList<Option> Options => [DeliveriesScenario.MessageCount, CommonOptions.Rates, CommonOptions.Duration, PipelineScenario.Channels, CommonOptions.Conversations,
        CommonOptions.MaxInFlight, CommonOptions.Postgres, CommonOptions.PgBin, PipelineScenario.Redis, PipelineScenario.KeyPrefix, CommonOptions.HostPid];

    // The backlog's closed-loop sends, or the probe's open-loop sends plus the /metrics scrape.
    public int HttpConcurrency(ParseResult parsed) => Math.Max(BacklogSendConcurrency, parsed.GetValue(CommonOptions.MaxInFlight) + 1);

    public Task<int> RunAsync(BenchRun run, ParseResult parsed, CancellationToken cancellationToken)
    {
        report = run.Report;
        options = new PipelineScenario.Settings(run.Url, parsed.GetValue(CommonOptions.Rates)!, parsed.GetValue(CommonOptions.Duration),
            PipelineScenario.ChannelsOf(parsed), parsed.GetValue(CommonOptions.Conversations), TimeSpan.Zero, parsed.GetValue(CommonOptions.MaxInFlight),
            parsed.GetValue(CommonOptions.Postgres), parsed.GetValue(CommonOptions.PgBin), parsed.GetValue(PipelineScenario.Redis),
            parsed.GetValue(PipelineScenario.KeyPrefix)!, parsed.GetValue(CommonOptions.HostPid));
        backlogMessages = parsed.GetValue(DeliveriesScenario.MessageCount);
        client = run.Client;
        users = run.Users;
        return RunScenarioAsync(cancellationToken);
    }

    private async Task<int> RunScenarioAsync(CancellationToken cancellationToken)
    {
        if (await PipelineScenario.GroupOfThreeAsync(users, Name) is not { } group)
        {
            return 1;
        }

        var (sender, recipients) = group;
        var backlog = PipelineBacklog.Create(options, out var backlogNote);
        if (backlog is null)
        {
            await Console.Error.WriteLineAsync("The isolation scenario reads the delivery backlog: " + backlogNote);
            return 1;
        }

        var host = HostProcess.Find(options.HostPid, options.Url, out var hostError);
        var notes = new List<string>();
        if (host is null)
        {
            notes.Add("Host CPU not measured: " + hostError);
        }

        string senderToken = string.Empty;
        var conversationIds = new HashSet<string>(StringComparer.Ordinal);
        byte[][] backlogBodies = [], probeBodies = [];
        if (await ScenarioSetup.RunAsync(options.Url, async () =>
            {
                senderToken = await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, sender, cancellationToken);
                for (var i = 0; i < options.Conversations; i++)
                {
                    conversationIds.Add(await Chat4AllApi.CreateConversationAsync(client, options.Url, senderToken, "group",
                        [.. recipients.Select(r => r.UserId!)], cancellationToken));
                }

                backlogBodies = [.. conversationIds.Select(id => Chat4AllApi.MessageBody(id, ["all"]))];
                probeBodies = [.. conversationIds.Select(id => Chat4AllApi.MessageBody(id, options.Channels))];
            }, cancellationToken) is { } setupFailed)
        {
            return setupFailed;
        }

        report.Line(MachineInfo.Describe());
        var rate = options.Rates[0];
        Progress("building the backlog: " + ResultTable.Format(backlogMessages) + " messages with [\"all\"], " + BacklogSendConcurrency + " in flight");
        var built = Stopwatch.StartNew();
        var backlogErrors = await SendBacklogAsync(senderToken, backlogBodies, cancellationToken);
        var buildSeconds = built.Elapsed.TotalSeconds;
        if (!backlogErrors.IsEmpty)
        {
            notes.Add("Backlog sends refused: " + ResultTable.Format(backlogErrors.Count) + ", first: " + backlogErrors.First());
        }

        // The backlog messages' own frames are realtime work too; the probe measures what a new message
        // waits for once realtime has caught up with them while the deliveries are still queued.
        var catchUp = Stopwatch.StartNew();
        double? caughtUpSeconds = null;
        while (catchUp.Elapsed < RealtimeCatchUpLimit && !cancellationToken.IsCancellationRequested)
        {
            if ((await backlog.ReadAsync(cancellationToken)).Items.GetValueOrDefault(RealtimeStream) <= RealtimeCaughtUp)
            {
                caughtUpSeconds = catchUp.Elapsed.TotalSeconds;
                break;
            }

            await Task.Delay(500, cancellationToken);
        }

        Progress("realtime " + (caughtUpSeconds is { } c ? "caught up after " + c.ToString("0.0", CultureInfo.InvariantCulture) + " s"
            : "had not caught up after " + RealtimeCatchUpLimit.TotalSeconds + " s; probing anyway"));
        var frames = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var stats = new SocketStats();
        using var invoker = new HttpMessageInvoker(RealtimeSocket.CreateHandler(null, TimeSpan.FromSeconds(5)));
        var sockets = new List<RealtimeSocket>();
        try
        {
            sockets.Add(await RealtimeSocket.OpenAsync(invoker, options.Url, senderToken, stats, null, HandshakeTimeout, cancellationToken));
            foreach (var recipient in recipients)
            {
                var token = await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, recipient, cancellationToken);
                // Only the first recipient's frames are timed; the others are there so fan-out has three sockets to fill.
                sockets.Add(await RealtimeSocket.OpenAsync(invoker, options.Url, token, stats,
                    recipient == recipients[0] ? (frame, arrived) => RecordCreated(frame, arrived, conversationIds, frames) : null,
                    HandshakeTimeout, cancellationToken));
            }

            var subscribe = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { type = "subscribe", data = new { conversation_id = conversationIds.First() } }));
            foreach (var socket in sockets)
            {
                await socket.SendAsync(subscribe, cancellationToken);
            }

            await Task.Delay(SubscribeSettle, cancellationToken);
            var atStart = await backlog.ReadAsync(cancellationToken);
            Progress("backlog at the start of the probe: " + atStart.Describe());
            var cpuBefore = CpuSample.Take(host);
            var slots = Math.Max(1, (int)Math.Round(options.Duration.TotalSeconds * rate));
            var run = new RealtimeLatencyScenario.OpenLoop(client, options.Url, senderToken, probeBodies, rate, slots, options.MaxInFlight);
            await run.ExecuteAsync(cancellationToken);
            var load = MachineInfo.LoadAverage();
            var cpuAfter = CpuSample.Take(host);
            var atEnd = await backlog.ReadAsync(cancellationToken);

            // The frames of the last sends may still be on their way; they count, and a frame later than this wait is lost.
            var frameDeadline = Stopwatch.GetTimestamp() + (long)(FrameWait.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < frameDeadline && run.MessageIds.Any(id => id is not null && !frames.ContainsKey(id)))
            {
                await Task.Delay(100, cancellationToken);
            }

            var (accepted, errors, acceptedPerSecond) = run.Outcome();
            var latencies = run.LatenciesTo(frames);
            var window = CpuSample.Between(cpuBefore, cpuAfter);
            string[] row =
            [
                ResultTable.Format(backlogMessages),
                buildSeconds.ToString("0.0", CultureInfo.InvariantCulture),
                caughtUpSeconds is { } caughtUp ? caughtUp.ToString("0.0", CultureInfo.InvariantCulture) : "> " + RealtimeCatchUpLimit.TotalSeconds,
                ResultTable.Format(atStart.Items.GetValueOrDefault(DeliveriesNotFinal)),
                ResultTable.Format(atStart.Total),
                ResultTable.Format(rate),
                double.IsNaN(acceptedPerSecond) ? "n/a" : acceptedPerSecond.ToString("N0", CultureInfo.InvariantCulture),
                ResultTable.Format(errors),
                ResultTable.Milliseconds(Percentiles.Of([.. latencies], 0.50)),
                ResultTable.Milliseconds(Percentiles.Of([.. latencies], 0.90)),
                ResultTable.Milliseconds(Percentiles.Of([.. latencies], 0.99)),
                latencies.Count > 0 ? ResultTable.Milliseconds(latencies[^1]) : "n/a",
                ResultTable.Format(accepted - latencies.Count),
                ResultTable.Format(atEnd.Items.GetValueOrDefault(DeliveriesNotFinal)),
                ResultTable.Format(atEnd.Total),
                Percent(window.PlatformSeconds, window.WallSeconds),
                window.HostSeconds is { } h ? Percent(h, window.WallSeconds) : "n/a",
            ];
            report.Line();
            report.Table(Headers, [.. Headers.Select(_ => true)], [row]);
            report.Line();
            var fast = Percentiles.Of([.. latencies], 0.99) < SocketAimMilliseconds && accepted == latencies.Count && errors == 0;
            var queued = atStart.Items.GetValueOrDefault(DeliveriesNotFinal) >= 50_000;
            report.Line("Isolation aim (socket p99 < " + SocketAimMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms, nothing lost, while ≥ 50,000 " +
                "deliveries are queued): " + (!fast ? "not met" : queued ? "met"
                    : "not shown: the frames were fast, but fewer than 50,000 deliveries were queued at the start (raise --messages)") + ".");
            report.Line("Realtime caught up = from the last backlog send until the realtime group's stream lag and pending entries were at most " +
                RealtimeCaughtUp + " (the backlog messages' own frames sent), when the probe starts. " +
                "Backlog = the pipeline scenario's backlogs (outbox rows, stream lag and pending entries per consumer group, deliveries not final). " +
                "Socket = POST sent → " + recipients[0].Name + "'s message.created frame; Lost = accepted, no frame within " +
                FrameWait.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s of the last send. CPU % = % of one core over the probe window " +
                "(/proc/stat busy minus the bench's own; Host = the host process alone).");
            report.Line("At start: " + atStart.Describe() + ".");
            report.Line("At end: " + atEnd.Describe() + ".");
            report.Line("1-min load average at the end of the probe " + (load ?? "n/a") + "; probe channels " +
                (options.Channels is null ? "omitted (default routing)" : "[" + string.Join(",", options.Channels) + "]") + ".");
            if (run.FirstError is not null)
            {
                report.Line("First probe error: " + run.FirstError);
            }
        }
        catch (RateLimitedException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        finally
        {
            foreach (var socket in sockets)
            {
                await socket.CloseAsync(TimeSpan.FromSeconds(5));
                await socket.DisposeAsync();
            }
        }

        foreach (var note in notes)
        {
            report.Line(note);
        }

        return cancellationToken.IsCancellationRequested ? 130 : 0;
    }

    /// <summary>Closed loop: <see cref="BacklogSendConcurrency"/> workers send the backlog messages round robin over the groups; the refusals come back.</summary>
    private async Task<ConcurrentQueue<string>> SendBacklogAsync(string token, byte[][] bodies, CancellationToken cancellationToken)
    {
        var errors = new ConcurrentQueue<string>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, BacklogSendConcurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < backlogMessages && !cancellationToken.IsCancellationRequested)
            {
                var (_, error) = await Chat4AllApi.SendMessageAsync(client, options.Url, token, bodies[i % bodies.Length], cancellationToken);
                if (error is not null)
                {
                    errors.Enqueue(error);
                }
            }
        }));
        return errors;
    }

    private static void RecordCreated(ReadOnlyMemory<byte> frame, long arrived, HashSet<string> conversationIds, ConcurrentDictionary<string, long> frames)
    {
        if (RealtimeSocket.FrameType(frame.Span) != RealtimeSocket.MessageCreated)
        {
            return;
        }

        try
        {
            using var json = JsonDocument.Parse(frame);
            if (json.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object &&
                data.TryGetProperty("message_id", out var id) && id.GetString() is { } messageId &&
                data.TryGetProperty("conversation_id", out var c) && c.GetString() is { } conversation && conversationIds.Contains(conversation))
            {
                frames.TryAdd(messageId, arrived);
            }
        }
        catch (JsonException)
        {
            // not a frame the bench understands
        }
    }

    private static string Percent(double cpuSeconds, double wallSeconds) =>
        wallSeconds > 0 ? (cpuSeconds * 100 / wallSeconds).ToString("0", CultureInfo.InvariantCulture) : "n/a";

    private static void Progress(string message) => Console.Error.WriteLine("[bench] " + message);
}
