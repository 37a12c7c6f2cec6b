using System.CommandLine;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Chat4All.Bench;

/// <summary>
/// The whole pipeline at fixed rates: the first chat demo user sends open loop into groups with the
/// next two (groups of three), while all three hold a WebSocket. Per message it records the
/// recipient's <c>message.created</c> frame and the sender's <c>message.status_updated</c> frames;
/// after the sends it waits until every backlog (outbox rows, stream lag and pending entries,
/// pending deliveries) is empty, and charges the machine's CPU over the whole window — minus the
/// bench's own — to the accepted messages and the completed deliveries.
/// </summary>
internal sealed class PipelineScenario : IBenchScenario
{
    internal static readonly Option<IReadOnlyList<string>?> Channels = new("--channels")
    {
        Description = "the messages' channels: all (default: broadcast on every channel the recipient has an address on), default (the field left out: " +
            "each recipient's preferred channel) or a comma-separated list",
        DefaultValueFactory = _ => ["all"],
        // "default" is an empty list here (System.CommandLine cannot hand back a null from a custom
        // parser); ChannelsOf turns it into a left-out field, which routes each recipient to their preferred channel.
        CustomParser = result => result.Tokens[0].Value.Equals("default", StringComparison.OrdinalIgnoreCase)
            ? []
            : result.Tokens[0].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
    };

    /// <summary>The messages' <c>channels</c>: null (the field left out) for <c>--channels default</c>.</summary>
    internal static IReadOnlyList<string>? ChannelsOf(ParseResult parsed) => parsed.GetValue(Channels) is { Count: > 0 } channels ? channels : null;

    private static readonly Option<TimeSpan> DrainTimeout = BenchOption.Seconds("--drain-timeout", "after the last send, how long to wait for every backlog to empty", 60);

    internal static readonly Option<string?> Redis = BenchOption.Text("--redis", $"Redis host:port, for stream lag (default ${CommonOptions.RedisEnvironmentVariable}; redis-cli)");

    internal static readonly Option<string> KeyPrefix = new("--key-prefix")
    {
        Description = "the host's Chat4All__EventBus__KeyPrefix (default chat4all)",
        DefaultValueFactory = _ => "chat4all",
    };

    // Set by RunAsync: a scenario runs once per process.
    private Settings options = null!;
    private ScenarioReport report = null!;
    private HttpClient client = null!;
    private IReadOnlyList<DemoUser> users = [];

    public string Name => "pipeline";

    public string Description =>
        "messages into groups of three at fixed rates with every socket open (the first chat demo user sends, all three\n" +
        "hold a WebSocket; one run per rate, each drained before the next): socket, delivered and receipt latency,\n" +
        "end backlogs and drain time, CPU per message and per delivery. Rate limiting off; eval \"$(scripts/infra.sh env)\"\n" +
        "exports the connection strings psql and redis-cli read the backlogs with.";

    public IReadOnlyList<Option> Options => [CommonOptions.Rates, CommonOptions.Duration, Channels, CommonOptions.Conversations, DrainTimeout, CommonOptions.MaxInFlight, CommonOptions.Postgres, CommonOptions.PgBin, Redis, KeyPrefix, CommonOptions.HostPid];

    // The open-loop sends plus the /metrics scrape.
    public int HttpConcurrency(ParseResult parsed) => parsed.GetValue(CommonOptions.MaxInFlight) + 1;

    public Task<int> RunAsync(BenchRun run, ParseResult parsed, CancellationToken cancellationToken)
    {
        report = run.Report;
        options = new Settings(run.Url, parsed.GetValue(CommonOptions.Rates)!, parsed.GetValue(CommonOptions.Duration), ChannelsOf(parsed),
            parsed.GetValue(CommonOptions.Conversations), parsed.GetValue(DrainTimeout), parsed.GetValue(CommonOptions.MaxInFlight),
            parsed.GetValue(CommonOptions.Postgres), parsed.GetValue(CommonOptions.PgBin), parsed.GetValue(Redis), parsed.GetValue(KeyPrefix)!,
            parsed.GetValue(CommonOptions.HostPid));
        client = run.Client;
        users = run.Users;
        return RunScenarioAsync(cancellationToken);
    }

    internal sealed record Settings(Uri Url, IReadOnlyList<int> Rates, TimeSpan Duration, IReadOnlyList<string>? Channels, int Conversations,
        TimeSpan DrainTimeout, int MaxInFlight, string? Postgres, string? PostgresBin, string? Redis, string KeyPrefix, int? HostPid)
    {
        public string? ResolvePostgres() => CommonOptions.ResolvePostgres(Postgres);

        public (string Host, int Port)? ResolveRedis() => CommonOptions.ResolveRedis(Redis);
    }

    /// <summary>The aims the issue sets: socket p99, accepted → delivered p99, receipt p99, drain.</summary>
    private const double SocketAimMilliseconds = 100;
    private const double DeliveredAimMilliseconds = 1000;
    private const double DrainAimSeconds = 2;

    private const string StatusUpdated = "message.status_updated";
    private const string StatusChangesMetric = "chat4all_delivery_status_changes_total";

    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan SubscribeSettle = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan BacklogPoll = TimeSpan.FromMilliseconds(250);

    private static readonly string[] Headers =
    [
        "Offered/s", "Accepted/s", "Errors", "Socket p50", "Socket p99", "Lost", "Delivered", "Deliv. p50", "Deliv. p99", "Receipt p50", "Receipt p99",
        "End backlog", "Drain s", "CPU ms/msg", "CPU ms/deliv.", "Host ms/msg", "Host ms/deliv.",
    ];

    private readonly List<string> notes = [];
    private DemoUser sender = null!;
    private DemoUser[] recipients = [];
    private HashSet<string> conversationIds = [];
    private byte[][] bodies = [];
    private byte[] subscribeFrame = [];
    private PipelineBacklog? backlog;
    private HostProcess? host;

    /// <summary>
    /// The first three chat demo users (a user_id, the messages scope, not an admin) as a sender and the
    /// two recipients of its groups; null, with the reason on stderr, when the file has fewer.
    /// </summary>
    internal static async Task<(DemoUser Sender, DemoUser[] Recipients)?> GroupOfThreeAsync(IReadOnlyList<DemoUser> users, string scenario)
    {
        var chatUsers = users
            .Where(u => u.HasScope(MessagesScenario.MessagesScope) && !u.HasScope(MessagesScenario.AdminScope) && !string.IsNullOrEmpty(u.UserId))
            .ToList();
        if (chatUsers.Count < 3)
        {
            await Console.Error.WriteLineAsync("The " + scenario + " scenario needs three demo users with a user_id and the '" + MessagesScenario.MessagesScope +
                "' scope (groups of three); use the demo-users.json the host writes.");
            return null;
        }

        return (chatUsers[0], [chatUsers[1], chatUsers[2]]);
    }

    private async Task<int> RunScenarioAsync(CancellationToken cancellationToken)
    {
        if (await GroupOfThreeAsync(users, Name) is not { } group)
        {
            return 1;
        }

        (sender, recipients) = group;
        backlog = PipelineBacklog.Create(options, out var backlogNote);
        if (backlogNote is not null)
        {
            notes.Add(backlogNote);
        }

        host = HostProcess.Find(options.HostPid, options.Url, out var hostError);
        if (host is null)
        {
            notes.Add("Host CPU not measured: " + hostError);
        }

        if (await ScenarioSetup.RunAsync(options.Url, async () =>
            {
                var senderToken = await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, sender, cancellationToken);
                var ids = new List<string>();
                for (var i = 0; i < options.Conversations; i++)
                {
                    ids.Add(await Chat4AllApi.CreateConversationAsync(client, options.Url, senderToken, "group", [.. recipients.Select(r => r.UserId!)], cancellationToken));
                }

                conversationIds = new HashSet<string>(ids, StringComparer.Ordinal);
                bodies = [.. ids.Select(id => Chat4AllApi.MessageBody(id, options.Channels))];
                subscribeFrame = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { type = "subscribe", data = new { conversation_id = ids[0] } }));
                return (int?)null;
            }, cancellationToken) is { } setupFailed)
        {
            return setupFailed;
        }

        report.Line(MachineInfo.Describe());
        if (backlog is not null && await backlog.ReadAsync(cancellationToken) is { } before && before.Total > 0)
        {
            Progress("backlog before the first rate: " + before.Describe() + "; waiting for it to drain");
            await WaitForDrainAsync(TimeSpan.FromSeconds(120), cancellationToken);
        }

        var results = new List<RateResult>();
        try
        {
            foreach (var rate in options.Rates)
            {
                Progress(ResultTable.Format(rate) + " msgs/s for " + Seconds(options.Duration.TotalSeconds) + ", open loop, " +
                    (options.Channels is null ? "channels omitted (default routing)" : "channels [" + string.Join(",", options.Channels) + "]"));
                var result = await RunRateAsync(rate, cancellationToken);
                results.Add(result);
                Progress("  accepted/s " + Rate(result.AcceptedPerSecond) + ", socket p99 " + ResultTable.Milliseconds(Percentiles.Of(result.Socket, 0.99)) +
                    " ms, delivered p99 " + ResultTable.Milliseconds(Percentiles.Of(result.Delivered, 0.99)) + " ms, drain " +
                    (result.DrainSeconds is { } d ? Seconds(d) : "not drained"));
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
            }
        }
        catch (RateLimitedException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TimeoutException or System.Net.WebSockets.WebSocketException)
        {
            notes.Add("Stopped early: " + ex.Message);
            Progress(notes[^1]);
        }

        if (results.Count > 0)
        {
            Print(results);
        }

        return cancellationToken.IsCancellationRequested ? 130 : 0;
    }

    private async Task<RateResult> RunRateAsync(int rate, CancellationToken cancellationToken)
    {
        var senderToken = await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, sender, cancellationToken);
        var frames = new FrameLog(conversationIds);
        var stats = new SocketStats();
        using var invoker = new HttpMessageInvoker(RealtimeSocket.CreateHandler(null, TimeSpan.FromSeconds(5)));
        var sockets = new List<RealtimeSocket>
        {
            await RealtimeSocket.OpenAsync(invoker, options.Url, senderToken, stats, frames.RecordSender, HandshakeTimeout, cancellationToken),
        };
        foreach (var recipient in recipients)
        {
            var token = await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, recipient, cancellationToken);
            // Only the first recipient's frames are timed; the second is there so fan-out has three sockets to fill.
            sockets.Add(await RealtimeSocket.OpenAsync(invoker, options.Url, token, stats,
                recipient == recipients[0] ? frames.RecordRecipient : null, HandshakeTimeout, cancellationToken));
        }

        try
        {
            foreach (var socket in sockets)
            {
                await socket.SendAsync(subscribeFrame, cancellationToken);
            }

            await Task.Delay(SubscribeSettle, cancellationToken);
            var metricsBefore = await PrometheusText.TryScrapeAsync(client, options.Url, cancellationToken);
            var cpuBefore = CpuSample.Take(host);
            var slots = Math.Max(1, (int)Math.Round(options.Duration.TotalSeconds * rate));
            var run = new RealtimeLatencyScenario.OpenLoop(client, options.Url, senderToken, bodies, rate, slots, options.MaxInFlight);
            double loadAverage;
            using (var load = new LoadSampler())
            {
                await run.ExecuteAsync(cancellationToken);
                loadAverage = load.Average;
            }

            var sendsDone = Stopwatch.GetTimestamp();
            var sendCpu = CpuSample.Take(host);
            var endBacklog = backlog is null ? null : await backlog.ReadAsync(cancellationToken);
            var drained = await WaitForDrainAsync(options.DrainTimeout, cancellationToken, run, frames);
            var drainSeconds = drained ? (double?)Stopwatch.GetElapsedTime(sendsDone).TotalSeconds : null;
            var cpuAfter = CpuSample.Take(host);
            var metricsAfter = await PrometheusText.TryScrapeAsync(client, options.Url, CancellationToken.None);

            var (accepted, errors, acceptedPerSecond) = run.Outcome();
            var socketLatencies = run.LatenciesTo(frames.Created);
            var receiptLatencies = run.LatenciesTo(frames.FirstReceipt);
            var sendTicks = new Dictionary<string, long>(StringComparer.Ordinal);
            for (var i = 0; i < slots; i++)
            {
                if (run.MessageIds[i] is { } id)
                {
                    sendTicks[id] = run.SendTicks[i];
                }
            }

            var deliveredLatencies = frames.Delivered
                .Where(d => sendTicks.ContainsKey(d.MessageId))
                .Select(d => Milliseconds(d.Arrived - sendTicks[d.MessageId])).ToList();
            var deliveredByHost = metricsBefore is not null && metricsAfter is not null
                ? (long)(metricsAfter.Sum(StatusChangesMetric, s => s.Label("status") == "delivered") - metricsBefore.Sum(StatusChangesMetric, s => s.Label("status") == "delivered"))
                : deliveredLatencies.Count;
            deliveredLatencies.Sort();
            var window = CpuSample.Between(cpuBefore, cpuAfter);
            return new RateResult(
                rate, slots, accepted, errors,
                acceptedPerSecond,
                [.. socketLatencies], accepted - socketLatencies.Count, [.. deliveredLatencies], deliveredByHost, [.. receiptLatencies],
                endBacklog, drainSeconds, window, CpuSample.Between(cpuBefore, sendCpu), loadAverage, run.FirstError, frames.OutOfOrder);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                await socket.CloseAsync(TimeSpan.FromSeconds(5));
                await socket.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Until every backlog is empty and (with a run) every accepted message's frame has arrived, or
    /// <paramref name="limit"/> passes. Without backlog access only the frames are waited for.
    /// </summary>
    private async Task<bool> WaitForDrainAsync(TimeSpan limit, CancellationToken cancellationToken, RealtimeLatencyScenario.OpenLoop? run = null,
        FrameLog? frames = null)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
        {
            var framesDone = run is null || frames is null || run.MessageIds.All(id => id is null || frames.Created.ContainsKey(id));
            if (framesDone && (backlog is null || (await backlog.ReadAsync(cancellationToken)).Total == 0))
            {
                return true;
            }

            try
            {
                await Task.Delay(BacklogPoll, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return false;
    }

    private void Print(List<RateResult> results)
    {
        var rows = results.Select(r => new[]
        {
            ResultTable.Format(r.Rate),
            Rate(r.AcceptedPerSecond),
            ResultTable.Format(r.Errors),
            ResultTable.Milliseconds(Percentiles.Of(r.Socket, 0.50)),
            ResultTable.Milliseconds(Percentiles.Of(r.Socket, 0.99)),
            ResultTable.Format(r.Lost),
            ResultTable.Format(r.DeliveredByHost),
            ResultTable.Milliseconds(Percentiles.Of(r.Delivered, 0.50)),
            ResultTable.Milliseconds(Percentiles.Of(r.Delivered, 0.99)),
            ResultTable.Milliseconds(Percentiles.Of(r.Receipts, 0.50)),
            ResultTable.Milliseconds(Percentiles.Of(r.Receipts, 0.99)),
            r.EndBacklog is null ? "n/a" : ResultTable.Format(r.EndBacklog.Total),
            r.DrainSeconds is { } d ? d.ToString("0.0", CultureInfo.InvariantCulture) : "> " + Seconds(options.DrainTimeout.TotalSeconds),
            Cost(r.Window.PlatformSeconds, r.Accepted),
            Cost(r.Window.PlatformSeconds, r.DeliveredByHost),
            r.Window.HostSeconds is { } h ? Cost(h, r.Accepted) : "n/a",
            r.Window.HostSeconds is { } hd ? Cost(hd, r.DeliveredByHost) : "n/a",
        }).ToList();
        report.Line();
        report.Table(Headers, [.. Headers.Select(_ => true)], rows);
        report.Line();
        var sustainable = results.Where(Sustained).Select(r => r.Rate).DefaultIfEmpty(0).Max();
        report.Line("Highest sustainable rate: " + (sustainable > 0 ? ResultTable.Format(sustainable) + " msgs/s" : "none of the offered rates") +
            " (accepted/s ≥ 95 % of offered, no errors, every frame arrived, accepted → delivered p99 < " + DeliveredAimMilliseconds.ToString("0", CultureInfo.InvariantCulture) +
            " ms, drained within " + DrainAimSeconds.ToString("0", CultureInfo.InvariantCulture) + " s). Socket p99 < " +
            SocketAimMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms: " + string.Join("; ", results.Select(r =>
                ResultTable.Format(r.Rate) + "/s " + (Percentiles.Of(r.Socket, 0.99) < SocketAimMilliseconds && r.Lost == 0 ? "met" : "not met"))) + ".");
        report.Line(
            "Groups of three: " + sender.Name + " sends to " + ResultTable.Format(conversationIds.Count) + " groups with " + recipients[0].Name + " and " +
            recipients[1].Name + " round robin; all three hold a WebSocket. Socket = POST sent → " + recipients[0].Name + "'s message.created frame. " +
            "Delivered = POST sent → each delivery's `delivered` status frame on " + sender.Name + "'s socket (what the sender sees); Delivered (count) = " +
            "the host's delivered status changes during the window. Receipt = POST sent → the first status frame of the message on the sender's socket. " +
            "End backlog = outbox rows not yet published (every service) + stream lag and pending entries (every consumer group) + deliveries not yet " +
            "final, read as the last send completed; Drain s = from the last send until all of them were zero and every message.created frame had arrived. " +
            "CPU ms = machine CPU (/proc/stat, every process) minus the bench's own, over the send window and the drain, ÷ accepted messages or ÷ delivered " +
            "deliveries; the machine is shared, so read it next to the load averages below. Host ms = the host process alone over the same window (PostgreSQL and " +
            "Redis not included), the figure other load on the machine does not distort.");
        foreach (var r in results)
        {
            var parts = new List<string>
            {
                "machine busy " + r.Window.MachineBusySeconds.ToString("0.0", CultureInfo.InvariantCulture) + " CPU s, bench " +
                r.Window.BenchSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s, host " +
                (r.Window.HostSeconds is { } h ? h.ToString("0.0", CultureInfo.InvariantCulture) : "n/a") + " s over " +
                r.Window.WallSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s wall; during the sends only: " +
                Cost(r.SendWindow.PlatformSeconds, r.Accepted) + " ms/msg",
                "1-min load average during the sends " + r.LoadAverage.ToString("0.00", CultureInfo.InvariantCulture),
            };
            if (r.EndBacklog is not null)
            {
                parts.Add("end backlog " + r.EndBacklog.Describe());
            }

            if (r.FirstError is not null)
            {
                parts.Add("first error: " + r.FirstError);
            }

            if (r.OutOfOrder > 0)
            {
                parts.Add(ResultTable.Format(r.OutOfOrder) + " out-of-order (seq) frames");
            }

            report.Line(ResultTable.Format(r.Rate) + "/s: " + string.Join("; ", parts) + ".");
        }

        foreach (var note in notes)
        {
            report.Line(note);
        }

        if (MachineInfo.DescribeLoadAtEnd() is { } end)
        {
            report.Line(end);
        }
    }

    private bool Sustained(RateResult r) =>
        r.AcceptedPerSecond >= 0.95 * r.Rate && r.Errors == 0 && r.Lost == 0 && r.DrainSeconds is { } d && d <= DrainAimSeconds &&
        Percentiles.Of(r.Delivered, 0.99) is var p99 && (double.IsNaN(p99) || p99 < DeliveredAimMilliseconds);

    private static string Cost(double seconds, long count) => count > 0 ? (seconds * 1000 / count).ToString("0.00", CultureInfo.InvariantCulture) : "n/a";

    private static double Milliseconds(long ticks) => (double)ticks * 1000 / Stopwatch.Frequency;

    private static string Rate(double value) => double.IsNaN(value) ? "n/a" : value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Seconds(double seconds) => seconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";

    private static void Progress(string message) => Console.Error.WriteLine("[bench] " + message);

    /// <summary>What the three sockets saw, keyed by message id; the readers call in one frame at a time per socket.</summary>
    private sealed class FrameLog(HashSet<string> conversationIds)
    {
        private readonly Dictionary<string, long> lastSeqs = new(StringComparer.Ordinal);
        private long outOfOrder;

        public ConcurrentDictionary<string, long> Created { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, long> FirstReceipt { get; } = new(StringComparer.Ordinal);

        public ConcurrentQueue<(string MessageId, long Arrived)> Delivered { get; } = new();

        public long OutOfOrder => Interlocked.Read(ref outOfOrder);

        public void RecordRecipient(ReadOnlyMemory<byte> frame, long arrived)
        {
            if (RealtimeSocket.FrameType(frame.Span) != RealtimeSocket.MessageCreated || Data(frame) is not { } data)
            {
                return;
            }

            using (data)
            {
                var root = data.RootElement.GetProperty("data");
                if (!Ours(root, out var messageId, out var conversationId) || !Created.TryAdd(messageId, arrived))
                {
                    return;
                }

                if (root.TryGetProperty("seq", out var seqElement) && seqElement.TryGetInt64(out var seq))
                {
                    var last = lastSeqs.GetValueOrDefault(conversationId, -1);
                    if (seq <= last)
                    {
                        Interlocked.Increment(ref outOfOrder);
                    }

                    lastSeqs[conversationId] = Math.Max(last, seq);
                }
            }
        }

        public void RecordSender(ReadOnlyMemory<byte> frame, long arrived)
        {
            if (RealtimeSocket.FrameType(frame.Span) != StatusUpdated || Data(frame) is not { } data)
            {
                return;
            }

            using (data)
            {
                var root = data.RootElement.GetProperty("data");
                if (!Ours(root, out var messageId, out _))
                {
                    return;
                }

                FirstReceipt.TryAdd(messageId, arrived);
                // One frame per delivery, or one summary per message with a count of deliveries that reached delivered.
                if (root.TryGetProperty("new_status", out var status) && status.GetString() == "delivered")
                {
                    Delivered.Enqueue((messageId, arrived));
                }
                else if (root.TryGetProperty("deliveries", out var summary) && summary.ValueKind == JsonValueKind.Array)
                {
                    foreach (var delivery in summary.EnumerateArray())
                    {
                        if (delivery.TryGetProperty("status", out var s) && s.GetString() == "delivered" &&
                            delivery.TryGetProperty("changed", out var changed) && changed.ValueKind == JsonValueKind.True)
                        {
                            Delivered.Enqueue((messageId, arrived));
                        }
                    }
                }
            }
        }

        private bool Ours(JsonElement data, out string messageId, out string conversationId)
        {
            messageId = conversationId = string.Empty;
            if (data.ValueKind != JsonValueKind.Object || !data.TryGetProperty("message_id", out var id) || id.GetString() is not { } m ||
                !data.TryGetProperty("conversation_id", out var c) || c.GetString() is not { } conversation || !conversationIds.Contains(conversation))
            {
                return false;
            }

            messageId = m;
            conversationId = conversation;
            return true;
        }

        private static JsonDocument? Data(ReadOnlyMemory<byte> frame)
        {
            try
            {
                var json = JsonDocument.Parse(frame);
                if (json.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object)
                {
                    return json;
                }

                json.Dispose();
            }
            catch (JsonException)
            {
                // not a frame the bench understands
            }

            return null;
        }
    }

    /// <summary>The 1-minute load average, sampled every second from construction until disposed (while the sends run).</summary>
    private sealed class LoadSampler : IDisposable
    {
        private readonly List<double> samples = [];
        private readonly CancellationTokenSource stop = new();

        public LoadSampler() => _ = SampleAsync();

        public double Average
        {
            get
            {
                lock (samples)
                {
                    return samples.Count == 0 ? double.NaN : samples.Average();
                }
            }
        }

        public void Dispose()
        {
            stop.Cancel();
            stop.Dispose();
        }

        private async Task SampleAsync()
        {
            var token = stop.Token;
            while (!token.IsCancellationRequested)
            {
                if (double.TryParse(MachineInfo.LoadAverage(), NumberStyles.Float, CultureInfo.InvariantCulture, out var load))
                {
                    lock (samples)
                    {
                        samples.Add(load);
                    }
                }

                await Task.Delay(1000, token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private sealed record RateResult(
        int Rate, long Slots, long Accepted, long Errors, double AcceptedPerSecond, double[] Socket, long Lost, double[] Delivered, long DeliveredByHost,
        double[] Receipts, BacklogSample? EndBacklog, double? DrainSeconds, CpuWindow Window, CpuWindow SendWindow, double LoadAverage, string? FirstError,
        long OutOfOrder);
}

/// <summary>CPU seconds over a window: the machine's busy time, the bench's own, the host's.</summary>
internal sealed record CpuWindow(double WallSeconds, double MachineBusySeconds, double BenchSeconds, double? HostSeconds)
{
    /// <summary>Everything but the load generator: host, PostgreSQL, Redis, the kernel — and whatever else shares the machine.</summary>
    public double PlatformSeconds => Math.Max(0, MachineBusySeconds - BenchSeconds);
}

/// <summary>One reading of /proc/stat's busy jiffies, this process's CPU and the host's.</summary>
internal readonly record struct CpuSample(long Ticks, double MachineBusySeconds, double BenchSeconds, double? HostSeconds)
{
    // USER_HZ: /proc/stat counts in 1/100 s on every Linux architecture (ABI, not the kernel's HZ).
    private const double JiffiesPerSecond = 100;

    public static CpuSample Take(HostProcess? host) =>
        new(Stopwatch.GetTimestamp(), MachineBusy(), Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, host?.Sample()?.CpuSeconds);

    public static CpuWindow Between(CpuSample from, CpuSample to) =>
        new((double)(to.Ticks - from.Ticks) / Stopwatch.Frequency, to.MachineBusySeconds - from.MachineBusySeconds, to.BenchSeconds - from.BenchSeconds,
            to.HostSeconds - from.HostSeconds);

    // The "cpu" line: user nice system idle iowait irq softirq steal ...; busy = all but idle and iowait.
    private static double MachineBusy()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First();
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            return (fields.Sum() - fields[3] - fields[4]) / JiffiesPerSecond;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return double.NaN;
        }
    }
}
