using System.CommandLine;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Chat4All.Bench;

/// <summary>
/// Send-to-screen latency: member A sends <c>POST /v1/messages</c> into conversations with member B
/// (one private one, or <see cref="Settings.Conversations"/> groups with a third member), open loop at each of <see cref="Settings.Rates"/>, while B holds a WebSocket; each
/// message's latency runs from just before its POST is sent to the moment the
/// <c>message.created</c> frame carrying its <c>message_id</c> has been read from B's socket. A
/// message whose frame has not arrived within <see cref="Settings.FrameTimeout"/> is lost.
/// </summary>
internal sealed class RealtimeLatencyScenario : IBenchScenario
{
    private static readonly Option<TimeSpan> FrameTimeout = BenchOption.Seconds("--frame-timeout",
        "a message whose frame has not arrived this long after its send is lost", 10);

    // Set by RunAsync: a scenario runs once per process.
    private Settings options = null!;
    private ScenarioReport report = null!;
    private HttpClient client = null!;
    private IReadOnlyList<DemoUser> users = [];

    public string Name => "realtime-latency";

    public string Description =>
        "POST /v1/messages to the message.created frame on the recipient's socket, open loop at fixed rates; one\n" +
        "sender, one recipient with an open socket. Rate limiting off.";

    public IReadOnlyList<Option> Options => [CommonOptions.Rates, CommonOptions.Conversations, FrameTimeout, CommonOptions.Duration, CommonOptions.Warmup, CommonOptions.MaxInFlight];

    // The open-loop sends plus the /metrics scrape.
    public int HttpConcurrency(ParseResult parsed) => parsed.GetValue(CommonOptions.MaxInFlight) + 1;

    public Task<int> RunAsync(BenchRun run, ParseResult parsed, CancellationToken cancellationToken)
    {
        report = run.Report;
        options = new Settings(run.Url, parsed.GetValue(CommonOptions.Rates)!, parsed.GetValue(CommonOptions.Conversations), parsed.GetValue(FrameTimeout),
            parsed.GetValue(CommonOptions.Duration), parsed.GetValue(CommonOptions.Warmup), parsed.GetValue(CommonOptions.MaxInFlight));
        client = run.Client;
        users = run.Users;
        return RunScenarioAsync(cancellationToken);
    }

    internal sealed record Settings(Uri Url, IReadOnlyList<int> Rates, int Conversations, TimeSpan FrameTimeout, TimeSpan Duration,
        TimeSpan Warmup, int MaxInFlight);

    /// <summary>The aim the issue sets for p99, send to frame.</summary>
    private const double TargetP99Milliseconds = 100;

    private const string FanoutSumMetric = "chat4all_realtime_fanout_duration_seconds_sum";
    private const string FanoutCountMetric = "chat4all_realtime_fanout_duration_seconds_count";
    private const string PublishLagSumMetric = "chat4all_outbox_publish_lag_seconds_sum";
    private const string PublishLagCountMetric = "chat4all_outbox_publish_lag_seconds_count";
    private const string HandlerSumMetric = "chat4all_eventbus_handler_duration_seconds_sum";
    private const string HandlerCountMetric = "chat4all_eventbus_handler_duration_seconds_count";
    private const string ClosedMetric = "chat4all_realtime_closed_total";
    private const string OverflowsMetric = "chat4all_realtime_send_queue_overflows_total";
    private const string MessageCreatedTopic = "message.created";

    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ProbeLimit = TimeSpan.FromSeconds(30);

    // A slot the dispatcher reaches later than this after its time is skipped: the client fell behind.
    private static readonly TimeSpan LateStartLimit = TimeSpan.FromMilliseconds(100);

    // After subscribing, before the first send: the server holds frames of a new socket until the client's first frame.
    private static readonly TimeSpan SubscribeSettle = TimeSpan.FromMilliseconds(250);

    private static readonly string[] Headers =
        ["Offered msgs/s", "Sent", "Accepted", "Errors", "Received", "Lost", "Accepted/s", "Frames/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "POST p99 ms"];

    private static readonly bool[] RightAligned = [true, true, true, true, true, true, true, true, true, true, true, true, true];

    private readonly List<string> notes = [];
    private DemoUser sender = null!;
    private DemoUser recipient = null!;
    private HashSet<string> conversationIds = [];
    private byte[][] bodies = [];
    private byte[] subscribeFrame = [];

    private async Task<int> RunScenarioAsync(CancellationToken cancellationToken)
    {
        var chatUsers = users
            .Where(u => u.HasScope(MessagesScenario.MessagesScope) && !u.HasScope(MessagesScenario.AdminScope) && !string.IsNullOrEmpty(u.UserId))
            .ToList();
        if (chatUsers.Count < 2)
        {
            await Console.Error.WriteLineAsync(
                $"The realtime-latency scenario needs two demo users with a user_id and the '{MessagesScenario.MessagesScope}' scope; the users file has " +
                chatUsers.Count.ToString(CultureInfo.InvariantCulture) + ". Use the demo-users.json the host writes (scripts/run.sh reseeds it).");
            return 1;
        }

        if (options.Conversations > 1 && chatUsers.Count < 3)
        {
            await Console.Error.WriteLineAsync("--conversations above 1 needs a third demo user with a user_id and the '" + MessagesScenario.MessagesScope +
                "' scope for the group conversations; use --conversations 1.");
            return 1;
        }

        sender = chatUsers[0];
        recipient = chatUsers[1];
        if (await ScenarioSetup.RunAsync(options.Url, async () =>
            {
                var (senderToken, _) = await TokensAsync(cancellationToken);
                var ids = new List<string>();
                for (var i = 0; i < options.Conversations; i++)
                {
                    ids.Add(options.Conversations == 1
                        ? await Chat4AllApi.CreateConversationAsync(client, options.Url, senderToken, "private", [recipient.UserId!], cancellationToken)
                        : await Chat4AllApi.CreateConversationAsync(client, options.Url, senderToken, "group", [recipient.UserId!, chatUsers[2].UserId!], cancellationToken));
                }

                conversationIds = new HashSet<string>(ids, StringComparer.Ordinal);
                bodies = [.. ids.Select(id => Chat4AllApi.MessageBody(id))];

                // Every conversation of the user reaches the socket anyway; the first client frame ends the
                // server's wait for a resume (one frame: the inbound frame rate is limited).
                subscribeFrame = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { type = "subscribe", data = new { conversation_id = ids[0] } }));
                if (await ProbeAsync(cancellationToken) is { } probeError)
                {
                    await Console.Error.WriteLineAsync(probeError);
                    return 1;
                }

                return (int?)null;
            }, cancellationToken) is { } setupFailed)
        {
            return setupFailed;
        }

        // Printed only once the setup works, so a failed preflight leaves stdout empty.
        report.Line(MachineInfo.Describe());

        var results = new List<RateResult>();
        try
        {
            foreach (var rate in options.Rates)
            {
                Progress(ResultTable.Format(rate) + " msgs/s: " + Seconds(options.Warmup.TotalSeconds) + " warm-up + " + Seconds(options.Duration.TotalSeconds) +
                    " measured, open loop, at most " + ResultTable.Format(options.MaxInFlight) + " POSTs in flight");
                var result = await RunRateAsync(rate, cancellationToken);
                results.Add(result);
                Progress("  accepted " + ResultTable.Format(result.Accepted) + ", received " + ResultTable.Format(result.Received) + ", lost " +
                    ResultTable.Format(result.Lost) + ", p99 " + ResultTable.Milliseconds(Percentiles.Of(result.Latencies, 0.99)) + " ms");
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

    /// <summary>One message through the whole path, so a host without realtime, or a stalled event bus, fails before anything is measured.</summary>
    private async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        Progress("probe: " + sender.Name + " sends one message to " + recipient.Name + ", whose socket waits up to " + Seconds(ProbeLimit.TotalSeconds) + " for it");
        var (senderToken, recipientToken) = await TokensAsync(cancellationToken);
        var arrivals = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var stats = new SocketStats();
        var frames = new FrameLog(conversationIds, arrivals);
        using var invoker = new HttpMessageInvoker(RealtimeSocket.CreateHandler(null, TimeSpan.FromSeconds(5)));
        RealtimeSocket socket;
        try
        {
            socket = await RealtimeSocket.OpenAsync(invoker, options.Url, recipientToken, stats, frames.Record, HandshakeTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.Net.WebSockets.WebSocketException or HttpRequestException)
        {
            return "Could not open " + recipient.Name + "'s WebSocket (GET /" + Chat4AllApi.WebSocketPath + "): " + ex.Message +
                ". The host must serve the realtime target (scripts/run.sh serves --target all).";
        }

        await using (socket)
        {
            await socket.SendAsync(subscribeFrame, cancellationToken);
            await Task.Delay(SubscribeSettle, cancellationToken);
            var started = Stopwatch.GetTimestamp();
            var (accepted, error) = await Chat4AllApi.SendMessageAsync(client, options.Url, senderToken, bodies[0], cancellationToken);
            if (accepted is null)
            {
                return "The probe message was not accepted: " + error;
            }

            while (Stopwatch.GetElapsedTime(started) < ProbeLimit)
            {
                if (arrivals.TryGetValue(accepted.MessageId!, out var arrived))
                {
                    notes.Add("Probe (before the runs, idle host): one message took " +
                        ResultTable.Milliseconds((double)(arrived - started) * 1000 / Stopwatch.Frequency) + " ms from POST to frame.");
                    await socket.CloseAsync(TimeSpan.FromSeconds(5));
                    return null;
                }

                if (socket.Completion.IsCompleted)
                {
                    return recipient.Name + "'s socket ended while waiting for the probe's frame: " + (socket.EndedUnexpectedly ?? "closed");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
            }

            return "The probe message was accepted, but its message.created frame did not reach " + recipient.Name + "'s socket within " +
                Seconds(ProbeLimit.TotalSeconds) + ". Is the host's event bus consuming (a host on a new Chat4All__EventBus__KeyPrefix starts at " +
                "the beginning of its streams and may be replaying a backlog; watch chat4all_eventbus_consumed_total{group=\"realtime\"} on /metrics)?";
        }
    }

    private async Task<RateResult> RunRateAsync(int rate, CancellationToken cancellationToken)
    {
        // Fresh tokens and a fresh socket per rate: a socket is closed (4001) when its token expires.
        var (senderToken, recipientToken) = await TokensAsync(cancellationToken);
        var arrivals = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var frames = new FrameLog(conversationIds, arrivals);
        var stats = new SocketStats();
        using var invoker = new HttpMessageInvoker(RealtimeSocket.CreateHandler(null, TimeSpan.FromSeconds(5)));
        await using var socket = await RealtimeSocket.OpenAsync(invoker, options.Url, recipientToken, stats, frames.Record, HandshakeTimeout, cancellationToken);
        await socket.SendAsync(subscribeFrame, cancellationToken);
        await Task.Delay(SubscribeSettle, cancellationToken);

        var metricsBefore = await PrometheusText.TryScrapeAsync(client, options.Url, cancellationToken);
        var warmupSlots = (int)Math.Ceiling(options.Warmup.TotalSeconds * rate);
        var measuredSlots = Math.Max(1, (int)Math.Round(options.Duration.TotalSeconds * rate));
        var run = new OpenLoop(client, options.Url, senderToken, bodies, rate, warmupSlots + measuredSlots, options.MaxInFlight);
        await run.ExecuteAsync(cancellationToken);
        var sendsDone = Stopwatch.GetTimestamp();

        // Wait for the frames of every accepted message, at most --frame-timeout after the last send.
        var wanted = Enumerable.Range(warmupSlots, measuredSlots).Where(i => run.MessageIds[i] is not null).Select(i => run.MessageIds[i]!).ToList();
        var deadline = sendsDone + (long)(options.FrameTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline && !socket.Completion.IsCompleted && !cancellationToken.IsCancellationRequested)
        {
            if (wanted.All(arrivals.ContainsKey))
            {
                break;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        var metricsAfter = await PrometheusText.TryScrapeAsync(client, options.Url, CancellationToken.None);
        var ended = socket.Completion.IsCompleted ? socket.EndedUnexpectedly ?? "closed" : null;
        await socket.CloseAsync(TimeSpan.FromSeconds(5));

        // Only the measured slots count; the warm-up's messages are sent and received but not recorded.
        var timeoutTicks = (long)(options.FrameTimeout.TotalSeconds * Stopwatch.Frequency);
        var latencies = new List<double>();
        var postLatencies = new List<double>();
        long sent = 0, accepted = 0, received = 0, errors = 0;
        long lastArrival = 0, lastAccepted = 0;
        var windowStart = run.Origin + (long)(warmupSlots * (double)Stopwatch.Frequency / rate);
        for (var i = warmupSlots; i < warmupSlots + measuredSlots; i++)
        {
            if (run.SendTicks[i] != 0)
            {
                sent++;
            }

            if (run.MessageIds[i] is not { } id)
            {
                errors++;
                continue;
            }

            accepted++;
            postLatencies.Add(Milliseconds(run.ResponseTicks[i] - run.SendTicks[i]));
            lastAccepted = Math.Max(lastAccepted, run.ResponseTicks[i]);
            if (arrivals.TryGetValue(id, out var arrived) && arrived - run.SendTicks[i] <= timeoutTicks)
            {
                received++;
                latencies.Add(Milliseconds(arrived - run.SendTicks[i]));
                lastArrival = Math.Max(lastArrival, arrived);
            }
        }

        latencies.Sort();
        postLatencies.Sort();
        return new RateResult(
            rate, sent, accepted, errors, received, accepted - received,
            lastAccepted > windowStart ? accepted / ((double)(lastAccepted - windowStart) / Stopwatch.Frequency) : double.NaN,
            lastArrival > windowStart ? received / ((double)(lastArrival - windowStart) / Stopwatch.Frequency) : double.NaN,
            [.. latencies], [.. postLatencies], run.FirstError, run.Late, run.Dropped, frames.Duplicates, frames.OutOfOrder, stats.Pings, ended,
            metricsBefore, metricsAfter);
    }

    private void Print(List<RateResult> results)
    {
        var rows = results.Select(r => new[]
        {
            ResultTable.Format(r.Rate),
            ResultTable.Format(r.Sent),
            ResultTable.Format(r.Accepted),
            ResultTable.Format(r.Errors),
            ResultTable.Format(r.Received),
            ResultTable.Format(r.Lost),
            Rate(r.AcceptedPerSecond),
            Rate(r.FramesPerSecond),
            ResultTable.Milliseconds(Percentiles.Of(r.Latencies, 0.50)),
            ResultTable.Milliseconds(Percentiles.Of(r.Latencies, 0.95)),
            ResultTable.Milliseconds(Percentiles.Of(r.Latencies, 0.99)),
            ResultTable.Milliseconds(r.Latencies.Length == 0 ? double.NaN : r.Latencies[^1]),
            ResultTable.Milliseconds(Percentiles.Of(r.PostLatencies, 0.99)),
        }).ToList();

        report.Line();
        report.Table(Headers, RightAligned, rows);
        report.Line();
        report.Line(
            "p99 < " + TargetP99Milliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms (the aim): " + string.Join("; ", results.Select(r =>
                ResultTable.Format(r.Rate) + "/s " + (r.Latencies.Length == 0 ? "n/a"
                    : Percentiles.Of(r.Latencies, 0.99) < TargetP99Milliseconds && r.Lost == 0 && r.Errors == 0 ? "met" : "**not met**"))) + ".");
        report.Line(
            "One sender (" + sender.Name + ") and one recipient (" + recipient.Name + ") " + (conversationIds.Count == 1
                ? "in one private conversation (one partition: its events are consumed strictly in order, one at a time); "
                : "in " + ResultTable.Format(conversationIds.Count) + " group conversations with a third member, sent to round robin (--conversations); ") +
            recipient.Name + " holds one WebSocket (opened fresh for each rate, answering pings). Open loop: message k is sent at start + k / rate whatever " +
            "the earlier ones are doing; " + Seconds(options.Warmup.TotalSeconds) + " warm-up (sent, not recorded), then " + Seconds(options.Duration.TotalSeconds) +
            " measured. Latency = from just before the POST is sent to the message.created frame with its message_id read from the recipient's " +
            "socket, both on the bench's clock; the POST's own response is not waited for. Lost = accepted but no frame within " +
            Seconds(options.FrameTimeout.TotalSeconds) + " (--frame-timeout). Accepted/s and Frames/s = accepted POSTs and received frames of the measured " +
            "window / time from the window's start to the last response or frame, so a host that falls behind shows a rate below the offered one. " +
            "POST p99 = the 202's own latency.");
        foreach (var r in results)
        {
            var parts = new List<string>();
            if (r.Late + r.Dropped > 0)
            {
                parts.Add(ResultTable.Format(r.Late) + " sends skipped because the bench fell more than " + LateStartLimit.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) +
                    " ms behind, " + ResultTable.Format(r.Dropped) + " dropped at --max-in-flight");
            }

            if (r.FirstError is not null)
            {
                parts.Add("first error: " + r.FirstError);
            }

            if (r.Duplicates + r.OutOfOrder > 0)
            {
                parts.Add(ResultTable.Format(r.Duplicates) + " duplicate and " + ResultTable.Format(r.OutOfOrder) + " out-of-order (seq) frames");
            }

            if (r.SocketEnded is not null)
            {
                parts.Add("the recipient's socket ended during the run: " + r.SocketEnded);
            }

            if (r.Before is not null && r.After is not null)
            {
                parts.Add(DescribeHostPath(r.Before, r.After));
            }

            report.Line(ResultTable.Format(r.Rate) + "/s: " + string.Join("; ", parts.DefaultIfEmpty("no errors")) + ".");
        }

        foreach (var note in notes)
        {
            report.Line(note);
        }

        report.Line(
            "The host must run with Chat4All__RateLimiting__Enabled=false (a 429 stops the bench). The load generator runs on the same machine and shares its " +
            ResultTable.Format(Environment.ProcessorCount) + " cores with the host, PostgreSQL and Redis.");
        if (MachineInfo.DescribeLoadAtEnd() is { } load)
        {
            report.Line(load);
        }
    }

    /// <summary>The host's own means for the stages on the path, from /metrics deltas over one rate's run.</summary>
    private static string DescribeHostPath(PrometheusText before, PrometheusText after)
    {
        static (double Count, double Mean) Mean(PrometheusText before, PrometheusText after, string sum, string count, Func<PrometheusSample, bool>? filter)
        {
            var n = after.Sum(count, filter) - before.Sum(count, filter);
            return (n, n > 0 ? (after.Sum(sum, filter) - before.Sum(sum, filter)) / n * 1000 : double.NaN);
        }

        var relay = Mean(before, after, PublishLagSumMetric, PublishLagCountMetric, s => s.Label("topic") == MessageCreatedTopic);
        var handler = Mean(before, after, HandlerSumMetric, HandlerCountMetric, s => s.Label("group") == "realtime" && s.Label("topic") == MessageCreatedTopic);
        var fanout = Mean(before, after, FanoutSumMetric, FanoutCountMetric, null);
        var closes = after.Sum(ClosedMetric) - before.Sum(ClosedMetric);
        var overflows = after.Sum(OverflowsMetric) - before.Sum(OverflowsMetric);
        return "host means (/metrics): outbox commit → publish " + ResultTable.Milliseconds(relay.Mean) + " ms, realtime message.created handler " +
            ResultTable.Milliseconds(handler.Mean) + " ms over " + ResultTable.Format((long)handler.Count) + " events, fan-out publish → queued " +
            ResultTable.Milliseconds(fanout.Mean) + " ms" + (closes > 0 ? ", " + ResultTable.Format((long)closes) + " server-side closes" : string.Empty) +
            (overflows > 0 ? ", " + ResultTable.Format((long)overflows) + " send-queue overflows" : string.Empty);
    }

    private async Task<(string Sender, string Recipient)> TokensAsync(CancellationToken cancellationToken) =>
        (await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, sender, cancellationToken),
         await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, recipient, cancellationToken));

    private static double Milliseconds(long ticks) => (double)ticks * 1000 / Stopwatch.Frequency;

    private static string Rate(double value) => double.IsNaN(value) ? "n/a" : value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Seconds(double seconds) => seconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";

    private static void Progress(string message) => Console.Error.WriteLine("[bench] " + message);

    /// <summary>Records when each message.created frame of the conversations arrived, and whether a conversation's seq ever went backwards.</summary>
    private sealed class FrameLog(HashSet<string> conversationIds, ConcurrentDictionary<string, long> arrivals)
    {
        // Only the socket's reader touches it, one frame at a time.
        private readonly Dictionary<string, long> lastSeqs = new(StringComparer.Ordinal);
        private long duplicates;
        private long outOfOrder;

        public long Duplicates => Interlocked.Read(ref duplicates);

        public long OutOfOrder => Interlocked.Read(ref outOfOrder);

        /// <summary>Called by the socket's reader, one frame at a time.</summary>
        public void Record(ReadOnlyMemory<byte> frame, long arrived)
        {
            if (RealtimeSocket.FrameType(frame.Span) != RealtimeSocket.MessageCreated)
            {
                return;
            }

            try
            {
                using var json = JsonDocument.Parse(frame);
                if (!json.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object ||
                    !data.TryGetProperty("message_id", out var id) || id.GetString() is not { } messageId ||
                    !data.TryGetProperty("conversation_id", out var conversation) || conversation.GetString() is not { } conversationId ||
                    !conversationIds.Contains(conversationId))
                {
                    return;
                }

                if (!arrivals.TryAdd(messageId, arrived))
                {
                    Interlocked.Increment(ref duplicates);
                    return;
                }

                if (data.TryGetProperty("seq", out var seqElement) && seqElement.TryGetInt64(out var seq))
                {
                    var lastSeq = lastSeqs.GetValueOrDefault(conversationId, -1);
                    if (seq <= lastSeq)
                    {
                        Interlocked.Increment(ref outOfOrder);
                    }

                    lastSeqs[conversationId] = Math.Max(lastSeq, seq);
                }
            }
            catch (JsonException)
            {
                // not a frame the bench understands: ignored
            }
        }
    }

    /// <summary>
    /// The open-loop sender: a dedicated thread starts send k at <c>origin + k / rate</c>; each send
    /// records the tick just before the POST, the tick of its response and the accepted message id.
    /// A slot reached more than <see cref="LateStartLimit"/> late is skipped, one due while
    /// <c>maxInFlight</c> POSTs are outstanding is dropped; both are errors, never a quieter load.
    /// </summary>
    internal sealed class OpenLoop(HttpClient client, Uri url, string token, byte[][] bodies, int rate, int slots, int maxInFlight)
    {
        private readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long inFlight;
        private long outstanding = 1; // the dispatcher's own hold until every slot is scheduled
        private long late;
        private long dropped;
        private string? firstError;
        private Exception? stopper;
        private CancellationTokenSource abort = null!;

        public long[] SendTicks { get; } = new long[slots];

        public long[] ResponseTicks { get; } = new long[slots];

        public string?[] MessageIds { get; } = new string?[slots];

        public long Origin { get; private set; }

        public long Late => Interlocked.Read(ref late);

        public long Dropped => Interlocked.Read(ref dropped);

        public string? FirstError => Volatile.Read(ref firstError);

        /// <summary>Accepted and failed sends, and accepted messages per second from the first slot to the last response.</summary>
        public (long Accepted, long Errors, double AcceptedPerSecond) Outcome()
        {
            long accepted = 0, lastAccepted = 0;
            for (var i = 0; i < slots; i++)
            {
                if (MessageIds[i] is not null)
                {
                    accepted++;
                    lastAccepted = Math.Max(lastAccepted, ResponseTicks[i]);
                }
            }

            return (accepted, slots - accepted, lastAccepted > Origin ? accepted / ((double)(lastAccepted - Origin) / Stopwatch.Frequency) : double.NaN);
        }

        /// <summary>POST sent → arrival in ms, sorted, for every accepted message that has an arrival tick in <paramref name="arrivals"/>.</summary>
        public List<double> LatenciesTo(IReadOnlyDictionary<string, long> arrivals)
        {
            var latencies = new List<double>();
            for (var i = 0; i < slots; i++)
            {
                if (MessageIds[i] is { } id && arrivals.TryGetValue(id, out var arrived))
                {
                    latencies.Add((double)(arrived - SendTicks[i]) * 1000 / Stopwatch.Frequency);
                }
            }

            latencies.Sort();
            return latencies;
        }

        public async Task ExecuteAsync(CancellationToken cancellationToken)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            abort = linked;
            Origin = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 50; // 20 ms lead, so slot 0 is not already late
            await Task.Factory.StartNew(() => Dispatch(linked.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (Interlocked.Decrement(ref outstanding) == 0)
            {
                drained.TrySetResult();
            }

            // Every POST is bounded by HttpClient.Timeout, so this wait is too.
            await drained.Task;
            if (stopper is not null)
            {
                throw stopper;
            }
        }

        private void Dispatch(CancellationToken cancellationToken)
        {
            var ticksPerSlot = (double)Stopwatch.Frequency / rate;
            var ticksPerMillisecond = Stopwatch.Frequency / 1000;
            var lateTicks = (long)(LateStartLimit.TotalSeconds * Stopwatch.Frequency);
            for (var slot = 0; slot < slots && !cancellationToken.IsCancellationRequested; slot++)
            {
                var scheduled = Origin + (long)(slot * ticksPerSlot);
                var now = Stopwatch.GetTimestamp();
                // Sleep in whole milliseconds and start up to 1 ms early rather than spin a core away from the host.
                while (scheduled - now >= ticksPerMillisecond)
                {
                    Thread.Sleep((int)Math.Min(int.MaxValue, (scheduled - now) / ticksPerMillisecond));
                    now = Stopwatch.GetTimestamp();
                }

                if (now - scheduled > lateTicks)
                {
                    Interlocked.Increment(ref late);
                    Interlocked.CompareExchange(ref firstError, "late start: the bench fell more than " + LateStartLimit.TotalMilliseconds + " ms behind its schedule", null);
                    continue;
                }

                if (Interlocked.Read(ref inFlight) >= maxInFlight)
                {
                    Interlocked.Increment(ref dropped);
                    Interlocked.CompareExchange(ref firstError, "dropped: " + maxInFlight + " POSTs already in flight (--max-in-flight)", null);
                    continue;
                }

                Interlocked.Increment(ref inFlight);
                Interlocked.Increment(ref outstanding);
                // Queued rather than called: the synchronous part of a send must not delay the next slot.
                ThreadPool.UnsafeQueueUserWorkItem(
                    static state => _ = state.Run.SendAsync(state.Slot, state.Token), (Run: this, Slot: slot, Token: cancellationToken), preferLocal: false);
            }
        }

        private async Task SendAsync(int slot, CancellationToken cancellationToken)
        {
            try
            {
                SendTicks[slot] = Stopwatch.GetTimestamp();
                var (message, error) = await Chat4AllApi.SendMessageAsync(client, url, token, bodies[slot % bodies.Length], cancellationToken);
                ResponseTicks[slot] = Stopwatch.GetTimestamp();
                if (message is not null)
                {
                    MessageIds[slot] = message.MessageId;
                }
                else
                {
                    Interlocked.CompareExchange(ref firstError, error, null);
                }
            }
            catch (RateLimitedException ex)
            {
                Interlocked.CompareExchange(ref stopper, ex, null);
                await abort.CancelAsync();
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // interrupted
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                Interlocked.CompareExchange(ref firstError, ex is TaskCanceledException ? "timeout (" + client.Timeout.TotalSeconds + " s)" : ex.Message, null);
            }
            catch (Exception ex)
            {
                // Nobody awaits this task: an unexpected exception must end the run loudly, not vanish.
                Interlocked.CompareExchange(ref stopper, ex, null);
                await abort.CancelAsync();
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
                if (Interlocked.Decrement(ref outstanding) == 0)
                {
                    drained.TrySetResult();
                }
            }
        }
    }

    private sealed record RateResult(
        int Rate, long Sent, long Accepted, long Errors, long Received, long Lost, double AcceptedPerSecond, double FramesPerSecond,
        double[] Latencies, double[] PostLatencies, string? FirstError, long Late, long Dropped, long Duplicates, long OutOfOrder, long Pings,
        string? SocketEnded, PrometheusText? Before, PrometheusText? After);
}
