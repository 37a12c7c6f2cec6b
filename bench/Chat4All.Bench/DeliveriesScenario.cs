using System.CommandLine;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Chat4All.Bench;

/// <summary>
/// Issue 4's benchmark: deliveries per second end to end, from a message being accepted to every one
/// of its deliveries being <c>delivered</c>, and the latency of each delivery. Sends N messages with
/// <c>channels: ["whatsapp","sms"]</c> into group conversations of the chat demo users (3 recipients ×
/// 2 channels = 6 deliveries each) at a bounded concurrency, then watches the delivery service's
/// <c>status_changes</c> counter on <c>/metrics</c> until the deliveries are done, and reads every
/// message once through <c>GET /v1/messages/{id}</c> for the per-delivery times.
/// </summary>
internal sealed class DeliveriesScenario : IBenchScenario
{
    internal static readonly Option<int> MessageCount = BenchOption.Int("--messages", "messages to send", 1000, 1, 100_000);

    private static readonly Option<int> SendConcurrency = BenchOption.Int("--send-concurrency", "sends in flight at once", 16, 1, BenchOption.MaxConcurrency);

    private static readonly Option<int?> SendRate = BenchOption.OptionalInt("--rate",
        "pace the sends at this many messages/s (default: unpaced, a burst as fast as --send-concurrency allows)", 1, 100_000);

    private static readonly Option<TimeSpan> DeliveryTimeout = BenchOption.Seconds("--timeout",
        "after the last send, how long to wait for every delivery before stopping with an error", 120);

    private static readonly Option<string?> RunLabel = new("--label")
    {
        Description = "names the run in the table, e.g. \"zero latency\" (1 to 80 characters, one line, no '|')",
        CustomParser = result =>
        {
            // It lands in a table cell: one line, no pipe (it would split the Markdown row).
            var value = result.Tokens[0].Value;
            var label = value.Trim();
            if (label.Length is 0 or > 80 || label.Any(c => char.IsControl(c) || c == '|'))
            {
                result.AddError($"--label must be 1 to 80 characters on one line, without '|' (got '{value}').");
            }

            return label;
        },
    };

    // Set by RunAsync: a scenario runs once per process.
    private Settings options = null!;
    private ScenarioReport report = null!;
    private HttpClient client = null!;
    private IReadOnlyList<DemoUser> users = [];

    public string Name => "deliveries";

    public string Description =>
        "end-to-end deliveries/s and latency, message accepted -> every delivery delivered: messages with channels\n" +
        "whatsapp+sms into groups of the 4 chat demo users (6 deliveries each). Rate limiting off; the channels'\n" +
        "simulated delays are host configuration (see bench/README.md).";

    public IReadOnlyList<Option> Options => [MessageCount, SendConcurrency, SendRate, DeliveryTimeout, RunLabel];

    // The sends, or the read-back GETs, plus the /metrics scrape.
    public int HttpConcurrency(ParseResult parsed) => Math.Max(parsed.GetValue(SendConcurrency), PollConcurrency) + 1;

    public Task<int> RunAsync(BenchRun run, ParseResult parsed, CancellationToken cancellationToken)
    {
        report = run.Report;
        options = new Settings(run.Url, parsed.GetValue(MessageCount), parsed.GetValue(SendConcurrency), parsed.GetValue(SendRate),
            parsed.GetValue(DeliveryTimeout), parsed.GetValue(RunLabel));
        client = run.Client;
        users = run.Users;
        return RunScenarioAsync(cancellationToken);
    }

    internal sealed record Settings(Uri Url, int Messages, int SendConcurrency, int? SendRate, TimeSpan DeliveryTimeout, string? Label);

    /// <summary>The channels every message names; both have simulated providers and an address for every demo user.</summary>
    public static readonly IReadOnlyList<string> BenchChannels = ["whatsapp", "sms"];

    /// <summary>GETs in flight while reading the messages back; kept small so reading does not load the host much.</summary>
    public const int PollConcurrency = 8;

    private const string StatusChangesMetric = "chat4all_delivery_status_changes_total";
    private const string AttemptsMetric = "chat4all_delivery_attempts_total";
    private const string SendDurationSumMetric = "chat4all_delivery_send_duration_seconds_sum";
    private const string SendDurationCountMetric = "chat4all_delivery_send_duration_seconds_count";
    private const string DeadLettersMetric = "chat4all_delivery_dead_letters_total";
    private const string ConsumedMetric = "chat4all_eventbus_consumed_total";
    private const string HttpRequestsMetric = "http_server_request_duration_seconds_count";
    private const string WebhookRoutePrefix = "/v1/webhooks/";
    private const string PublishLagSumMetric = "chat4all_outbox_publish_lag_seconds_sum";
    private const string PublishLagCountMetric = "chat4all_outbox_publish_lag_seconds_count";
    private const string MessageCreatedTopic = "message.created";
    private const string StatusChangedTopic = "message.status_changed";

    private const string Delivered = "delivered";
    private const string Read = "read";
    private const string Failed = "failed";

    // Enough members for groups; the API allows 3 to 100 per group, the caller included.
    private const int MaxUsers = 8;
    private const int MaxGroups = 4;

    /// <summary>How long the probe message may take to be delivered before the bench gives up.</summary>
    private static readonly TimeSpan ProbeLimit = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan MetricsInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Even past the deadline, the first read-back gets this long, so a timed-out run still reports what did arrive.</summary>
    private static readonly TimeSpan MinimumReadBack = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    // Access tokens live 15 minutes; fetch new ones when the current set is older than this.
    private static readonly TimeSpan TokenRefreshAge = TimeSpan.FromMinutes(5);

    private static readonly string[] Headers =
        ["Run", "Messages", "Deliveries", "Delivered", "Failed", "Wall s", "Deliveries/s", "Last report s", "Accepted msgs/s", "p50 ms", "p95 ms", "p99 ms", "max ms"];

    private static readonly bool[] RightAligned = [false, true, true, true, true, true, true, true, true, true, true, true, true];

    private readonly List<string> notes = [];
    private List<DemoUser> senders = [];
    private List<Group> groups = [];
    private List<string> tokens = [];
    private long tokensFetchedAt;
    private int deliveriesPerMessage;
    private bool metricsAvailable;

    private string Label => options.Label ?? "(no --label)";

    private async Task<int> RunScenarioAsync(CancellationToken cancellationToken)
    {
        if (await PrepareAsync(cancellationToken) is { } failed)
        {
            return failed;
        }

        // Printed only once the setup works, so a failed preflight leaves stdout empty.
        report.Line(MachineInfo.Describe());

        PrometheusText? before = null;
        if (metricsAvailable)
        {
            before = await PrometheusText.TryScrapeAsync(client, options.Url, cancellationToken);
            metricsAvailable = before is not null;
        }

        SendResult send;
        try
        {
            send = await SendAsync(cancellationToken);
        }
        catch (RateLimitedException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException)
        {
            // Fetching the senders' tokens failed: the host went away or its users changed.
            await Console.Error.WriteLineAsync("Could not start sending: " + ex.Message);
            return 1;
        }

        if (send.Accepted.Count == 0)
        {
            await Console.Error.WriteLineAsync("No message was accepted, so there is nothing to wait for. First error: " + (send.FirstError ?? "none"));
            return cancellationToken.IsCancellationRequested ? 130 : 1;
        }

        var wait = await WaitAsync(send, before, cancellationToken);
        var after = metricsAvailable ? await PrometheusText.TryScrapeAsync(client, options.Url, CancellationToken.None) : null;
        Print(send, wait, before, after, cancellationToken.IsCancellationRequested);

        if (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }

        if (wait.Pending > 0)
        {
            await Console.Error.WriteLineAsync(
                "Timed out: " + ResultTable.Format(wait.Pending) + " of " + ResultTable.Format(send.Accepted.Count) +
                " messages still had deliveries that were neither delivered nor failed " + Seconds(options.DeliveryTimeout) +
                " after the last send (--timeout). The table above counts only what completed. " +
                "Check the host's log for delivery or webhook errors, the provider rate limit (RateLimitPerSecond) and DeliveredDelay.");
            return 1;
        }

        return 0;
    }

    /// <summary>Everything that can fail before a measurement: users, tokens, /metrics, groups, a simulated outage, one probe message.</summary>
    private async Task<int?> PrepareAsync(CancellationToken cancellationToken)
    {
        senders = users
            .Where(u => u.HasScope(MessagesScenario.MessagesScope) && !u.HasScope(MessagesScenario.AdminScope) && !string.IsNullOrEmpty(u.UserId))
            .Take(MaxUsers)
            .ToList();
        if (senders.Count < 3)
        {
            await Console.Error.WriteLineAsync(
                $"The deliveries scenario needs at least three demo users with a user_id and the '{MessagesScenario.MessagesScope}' scope " +
                $"(and not '{MessagesScenario.AdminScope}') to make a group; the users file has {senders.Count}. " +
                "Use the demo-users.json the host writes (scripts/run.sh reseeds it).");
            return 1;
        }

        deliveriesPerMessage = (senders.Count - 1) * BenchChannels.Count;
        if (await ScenarioSetup.RunAsync(options.Url, async () =>
            {
                await RefreshTokensAsync(cancellationToken);

                Progress("reading GET /" + Chat4AllApi.MetricsPath);
                if (await PrometheusText.TryScrapeAsync(client, options.Url, cancellationToken) is null)
                {
                    notes.Add("GET /" + Chat4AllApi.MetricsPath + " did not answer, so completion was watched by polling GET /v1/messages/{id} only.");
                }
                else
                {
                    metricsAvailable = true;
                }

                if (await CheckOutagesAsync(cancellationToken) is { } outage)
                {
                    await Console.Error.WriteLineAsync(outage);
                    return 1;
                }

                await CreateGroupsAsync(cancellationToken);
                if (await ProbeAsync(cancellationToken) is { } probeError)
                {
                    await Console.Error.WriteLineAsync(probeError);
                    await Console.Error.WriteLineAsync(HostHint);
                    return 1;
                }

                return (int?)null;
            }, cancellationToken) is { } setupFailed)
        {
            return setupFailed;
        }

        notes.Insert(0,
            ResultTable.Format(groups.Count) + " group conversations created by this run (a group is always new; reruns add more) of the " +
            ResultTable.Format(senders.Count) + " chat demo users (" + string.Join(", ", senders.Select(u => u.Name)) + "), so each message has " +
            ResultTable.Format(senders.Count - 1) + " recipients × " + ResultTable.Format(BenchChannels.Count) + " channels (" +
            string.Join(", ", BenchChannels) + ") = " + ResultTable.Format(deliveriesPerMessage) + " deliveries. Messages rotate over the groups " +
            "and, within each, over its members as senders; " + ResultTable.Format(options.SendConcurrency) + " sends in flight at most, " +
            (options.SendRate is { } rate
                ? "paced at " + ResultTable.Format(rate) + " messages/s (--rate)."
                : "not paced: the messages go out as a burst, so the deliveries queue and the latencies show the burst draining " +
                  "(pace with --rate to see latency below saturation)."));
        return null;
    }

    private const string HostHint =
        "The deliveries scenario needs the whole platform with the delivery service (scripts/run.sh serves --target all) and rate " +
        "limiting off, and the simulated channels set for the run, e.g. zero latency:\n" +
        "  Chat4All__RateLimiting__Enabled=false \\\n" +
        "  Chat4All__Delivery__Channels__whatsapp__DeliveredDelay=00:00:00 Chat4All__Delivery__Channels__sms__DeliveredDelay=00:00:00 \\\n" +
        "  Chat4All__Delivery__Channels__whatsapp__ReadProbability=0 Chat4All__Delivery__Channels__sms__ReadProbability=0 \\\n" +
        "  scripts/run.sh\n" +
        "See bench/README.md (the deliveries scenario) for both configurations.";

    /// <summary>One group per creator (up to <see cref="MaxGroups"/>), each holding every sender.</summary>
    private async Task CreateGroupsAsync(CancellationToken cancellationToken)
    {
        Progress("creating " + Math.Min(MaxGroups, senders.Count).ToString(CultureInfo.InvariantCulture) + " group conversations of " +
            senders.Count.ToString(CultureInfo.InvariantCulture) + " demo users");
        for (var creator = 0; creator < Math.Min(MaxGroups, senders.Count); creator++)
        {
            var others = Enumerable.Range(0, senders.Count).Where(m => m != creator).ToList();
            var id = await Chat4AllApi.CreateConversationAsync(
                client, options.Url, tokens[creator], "group", others.Select(m => senders[m].UserId!).ToList(), cancellationToken);
            groups.Add(new Group(id, [creator, .. others], Chat4AllApi.MessageBody(id, BenchChannels)));
        }
    }

    /// <summary>With an admin demo user, refuses to start while whatsapp or sms is switched into a simulated outage.</summary>
    private async Task<string?> CheckOutagesAsync(CancellationToken cancellationToken)
    {
        if (users.FirstOrDefault(u => u.HasScope(MessagesScenario.AdminScope)) is not { } admin)
        {
            return null;
        }

        var adminToken = await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, admin, cancellationToken);
        var outages = await Chat4AllApi.SimulatedOutagesAsync(client, options.Url, adminToken, cancellationToken);
        var ours = outages?.Where(BenchChannels.Contains).ToList();
        return ours is { Count: > 0 }
            ? "The simulated provider of " + string.Join(" and ", ours) + " is switched into an outage, so nothing would be delivered. " +
              "Switch it back on: PUT /" + Chat4AllApi.SimulatorChannelsPath + "/{channel}/outage {\"down\":false} with an admin token."
            : null;
    }

    /// <summary>One message, followed until every delivery is delivered: proves the delivery service, the simulator and its webhooks work.</summary>
    private async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        Progress("probe: one message to " + string.Join(" and ", BenchChannels) + ", waiting up to " + Seconds(ProbeLimit) + " for its " +
            deliveriesPerMessage.ToString(CultureInfo.InvariantCulture) + " deliveries");
        var group = groups[0];
        var token = tokens[group.Members[0]];
        var (accepted, error) = await Chat4AllApi.SendMessageAsync(client, options.Url, token, group.Body, cancellationToken);
        if (accepted is null)
        {
            return "The probe message was not accepted: " + error;
        }

        var started = Stopwatch.GetTimestamp();
        MessageDeliveries? last = null;
        while (Stopwatch.GetElapsedTime(started) < ProbeLimit)
        {
            last = await Chat4AllApi.GetMessageAsync(client, options.Url, token, accepted.MessageId!, cancellationToken);
            var deliveries = last.Deliveries!;
            if (deliveries.FirstOrDefault(d => d.Status == Failed) is { } failed)
            {
                return "A delivery of the probe message failed (" + failed.Channel + ": " + (failed.Error ?? "no error given") + "). " +
                    "Is a simulated failure rate (TransientFailureRate, UnreachablePattern) configured for the channel?";
            }

            if (deliveries.Count >= deliveriesPerMessage && deliveries.All(d => d.Status is Delivered or Read))
            {
                var slowest = deliveries.Max(d => d.UpdatedAt) - last.CreatedAt;
                notes.Add("Probe message (before the run): all " + deliveries.Count.ToString(CultureInfo.InvariantCulture) + " deliveries delivered " +
                    ResultTable.Milliseconds(slowest.TotalMilliseconds) + " ms after it was accepted.");
                return null;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        var seen = last?.Deliveries is { Count: > 0 } states
            ? string.Join(", ", states.GroupBy(d => d.Channel + " " + d.Status).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => g.Count().ToString(CultureInfo.InvariantCulture) + " " + g.Key))
            : null;
        return seen is null
            ? "The probe message got no deliveries within " + Seconds(ProbeLimit) + ": the host does not run the delivery service " +
              "(it must serve --target all, which scripts/run.sh does), or its event bus is stalled (see the host's log)."
            : "The probe message's deliveries were not all delivered within " + Seconds(ProbeLimit) + " (expected " +
              deliveriesPerMessage.ToString(CultureInfo.InvariantCulture) + "; saw " + seen + "). DeliveredDelay may be long, or " +
              "the provider webhooks may not reach the host (see the host's log).";
    }

    /// <summary>Sends the messages from <see cref="Settings.SendConcurrency"/> workers and keeps what was accepted.</summary>
    private async Task<SendResult> SendAsync(CancellationToken cancellationToken)
    {
        var count = options.Messages;
        Progress("sending " + ResultTable.Format(count) + " messages, " + ResultTable.Format(options.SendConcurrency) + " in flight at most" +
            (options.SendRate is { } paced ? ", paced at " + ResultTable.Format(paced) + "/s" : ", as fast as they are accepted"));
        await RefreshTokensAsync(cancellationToken);
        var authorizations = tokens;
        var accepted = new SentMessage?[count];
        var sendMilliseconds = new double[count];
        long next = -1;
        long errors = 0;
        string? firstError = null;
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        RateLimitedException? limited = null;

        // Wall time starts at the first send, on the bench's clock; both clocks are this machine's.
        var startUtc = DateTimeOffset.UtcNow;
        var start = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, Math.Min(options.SendConcurrency, count)).Select(_ => Task.Run(async () =>
        {
            while (!abort.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= count)
                {
                    return;
                }

                if (options.SendRate is { } rate)
                {
                    // Paced: message i is due i / rate seconds after the first; a worker that is late sends at once.
                    var due = start + (long)(i * (double)Stopwatch.Frequency / rate);
                    var wait = due - Stopwatch.GetTimestamp();
                    if (wait > 0)
                    {
                        try
                        {
                            await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), abort.Token);
                        }
                        catch (OperationCanceledException)
                        {
                            return;
                        }
                    }
                }

                var groupIndex = (int)(i % groups.Count);
                var group = groups[groupIndex];
                var member = group.Members[(int)(i / groups.Count % group.Members.Count)];
                var sent = Stopwatch.GetTimestamp();
                string? error;
                try
                {
                    (var message, error) = await Chat4AllApi.SendMessageAsync(client, options.Url, authorizations[member], group.Body, abort.Token);
                    if (message is not null)
                    {
                        accepted[i] = new SentMessage(message.MessageId!, member, message.CreatedAt);
                        sendMilliseconds[i] = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                        continue;
                    }
                }
                catch (RateLimitedException ex)
                {
                    limited = ex;
                    await abort.CancelAsync();
                    return;
                }
                catch (OperationCanceledException) when (abort.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    error = ex is TaskCanceledException ? "timeout (" + Seconds(client.Timeout) + ")" : ex.Message;
                }

                Interlocked.Increment(ref errors);
                Interlocked.CompareExchange(ref firstError, error, null);
            }
        })).ToList();
        await Task.WhenAll(workers);
        var sendSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (limited is not null)
        {
            throw limited;
        }

        var sentMessages = accepted.Where(m => m is not null).Select(m => m!).ToList();
        var latencies = accepted.Select((m, i) => m is null ? double.NaN : sendMilliseconds[i]).Where(v => !double.IsNaN(v)).Order().ToArray();
        Progress("  " + ResultTable.Format(sentMessages.Count) + " accepted in " + Seconds(TimeSpan.FromSeconds(sendSeconds)) + " (" +
            Rate(sentMessages.Count / sendSeconds) + "/s), " + ResultTable.Format(errors) + " errors");
        return new SendResult(sentMessages, errors, firstError, startUtc, start, sendSeconds, latencies);
    }

    /// <summary>
    /// Waits until every delivery of the accepted messages is delivered or failed, or the timeout has
    /// passed: the <c>/metrics</c> counter first (one cheap request per <see cref="MetricsInterval"/>),
    /// then one GET per message, repeated only for messages that are not done yet.
    /// </summary>
    private async Task<WaitResult> WaitAsync(SendResult send, PrometheusText? before, CancellationToken cancellationToken)
    {
        var expected = (long)send.Accepted.Count * deliveriesPerMessage;
        var deadline = Stopwatch.GetTimestamp() + (long)(options.DeliveryTimeout.TotalSeconds * Stopwatch.Frequency);
        Progress("waiting for " + ResultTable.Format(expected) + " deliveries (at most " + Seconds(options.DeliveryTimeout) + ")");
        double? countedDoneSeconds = null;
        var lastProgress = Stopwatch.GetTimestamp();
        var scrapeFailures = 0;
        try
        {
            while (metricsAvailable && before is not null && Stopwatch.GetTimestamp() < deadline)
            {
                // The counters are at least as new as the moment the request went out.
                var scrapedAt = Stopwatch.GetTimestamp();
                var now = await PrometheusText.TryScrapeAsync(client, options.Url, cancellationToken);
                if (now is null)
                {
                    if (++scrapeFailures >= 5)
                    {
                        notes.Add("GET /" + Chat4AllApi.MetricsPath + " stopped answering during the wait, so the rest was watched by polling.");
                        break;
                    }
                }
                else
                {
                    var delivered = StatusDelta(before, now, Delivered);
                    var failed = StatusDelta(before, now, Failed);
                    if (delivered + failed >= expected)
                    {
                        countedDoneSeconds = (double)(scrapedAt - send.StartTicks) / Stopwatch.Frequency;
                        Progress("  /metrics counts " + ResultTable.Format((long)delivered) + " delivered, " + ResultTable.Format((long)failed) +
                            " failed after " + Seconds(TimeSpan.FromSeconds(countedDoneSeconds.Value)) + " from the first send; reading the messages back");
                        break;
                    }

                    if (Stopwatch.GetElapsedTime(lastProgress) >= ProgressInterval)
                    {
                        lastProgress = Stopwatch.GetTimestamp();
                        Progress("  " + ResultTable.Format((long)delivered) + " / " + ResultTable.Format(expected) + " delivered, " +
                            ResultTable.Format((long)failed) + " failed (/metrics)");
                    }
                }

                await Task.Delay(MetricsInterval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted: the read-back below stops at once too, and the table shows what is known.
        }

        if (countedDoneSeconds is not null && before is not null)
        {
            await WaitForReceiptsAsync(before, deadline, cancellationToken);
        }

        // The counter moves when the delivery service records `delivered`; the receipts the GET shows
        // follow through the delivery outbox and messaging's consumer, so a few rounds may be needed.
        var done = new ConcurrentDictionary<int, MessageDeliveries>();
        var pending = Enumerable.Range(0, send.Accepted.Count).ToList();
        var gets = 0L;
        var getErrors = 0L;
        string? firstGetError = null;
        var rounds = 0;
        var roundPause = metricsAvailable ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(1);
        var lastSeen = new ConcurrentDictionary<int, MessageDeliveries>();
        while (true)
        {
            rounds++;
            // A round may not outlast the deadline, except that a first read-back after it still gets
            // MinimumReadBack, so a timed-out run reports what did arrive: never hang.
            using var round = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var remaining = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            round.CancelAfter(remaining > MinimumReadBack ? remaining : MinimumReadBack);
            try
            {
                await RefreshTokensAsync(round.Token);
                var authorizations = tokens;
                await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = PollConcurrency, CancellationToken = round.Token },
                    async (index, token) =>
                    {
                        var message = send.Accepted[index];
                        try
                        {
                            Interlocked.Increment(ref gets);
                            var state = await Chat4AllApi.GetMessageAsync(client, options.Url, authorizations[message.Sender], message.MessageId, token);
                            lastSeen[index] = state;
                            if (IsDone(state))
                            {
                                done[index] = state;
                            }
                        }
                        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException ||
                                                   (ex is TaskCanceledException && !token.IsCancellationRequested))
                        {
                            Interlocked.Increment(ref getErrors);
                            Interlocked.CompareExchange(ref firstGetError, ex is TaskCanceledException ? "timeout" : ex.Message, null);
                        }
                    });
            }
            catch (OperationCanceledException) when (round.IsCancellationRequested)
            {
                // Out of time (or interrupted): whatever was not read counts as not done.
            }
            catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException)
            {
                // No fresh tokens: the host went away. Report what was read.
                getErrors++;
                firstGetError ??= ex.Message;
                pending = pending.Where(i => !done.ContainsKey(i)).ToList();
                break;
            }

            pending = pending.Where(i => !done.ContainsKey(i)).ToList();
            if (pending.Count == 0 || cancellationToken.IsCancellationRequested || Stopwatch.GetTimestamp() >= deadline)
            {
                break;
            }

            if (Stopwatch.GetElapsedTime(lastProgress) >= ProgressInterval)
            {
                lastProgress = Stopwatch.GetTimestamp();
                Progress("  " + ResultTable.Format(pending.Count) + " messages not done yet (GET /v1/messages/{id}, round " +
                    rounds.ToString(CultureInfo.InvariantCulture) + ")");
            }

            try
            {
                await Task.Delay(roundPause, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        var observedSeconds = Stopwatch.GetElapsedTime(send.StartTicks).TotalSeconds;
        notes.Add("Read back with " + ResultTable.Format(gets) + " GET /v1/messages/{id} in " + rounds.ToString(CultureInfo.InvariantCulture) +
            " rounds (" + PollConcurrency.ToString(CultureInfo.InvariantCulture) + " at a time" +
            (getErrors > 0 ? "; " + ResultTable.Format(getErrors) + " failed, first: " + firstGetError : string.Empty) + ").");
        return new WaitResult(
            [.. Enumerable.Range(0, send.Accepted.Count).Select(i => done.TryGetValue(i, out var d) ? d : lastSeen.GetValueOrDefault(i))],
            pending.Count, countedDoneSeconds, observedSeconds);
    }

    /// <summary>
    /// The delivery counter moves when the delivery service records a status; the receipts that
    /// <c>GET /v1/messages/{id}</c> shows follow later (delivery's outbox, the relay, messaging's
    /// <c>message.status_changed</c> consumer). Rather than poll every message while they catch up,
    /// this watches messaging's consumed counter until it has applied at least the status events the
    /// deliveries must have produced (accepted, sent, delivered; accepted, failed), or stops moving
    /// for two seconds. The read-back that follows checks each message anyway.
    /// </summary>
    private async Task WaitForReceiptsAsync(PrometheusText before, long deadline, CancellationToken cancellationToken)
    {
        var lastConsumed = -1.0;
        var lastChange = Stopwatch.GetTimestamp();
        var lastProgress = Stopwatch.GetTimestamp();
        try
        {
            while (Stopwatch.GetTimestamp() < deadline)
            {
                if (await PrometheusText.TryScrapeAsync(client, options.Url, cancellationToken) is not { } now)
                {
                    return;
                }

                var needed = 3 * StatusDelta(before, now, Delivered) + 2 * StatusDelta(before, now, Failed);
                var consumed = Delta(before, now, ConsumedMetric, s => s.Label("group") == "messaging" && s.Label("topic") == StatusChangedTopic);
                if (consumed >= needed)
                {
                    return;
                }

                if (consumed != lastConsumed)
                {
                    lastConsumed = consumed;
                    lastChange = Stopwatch.GetTimestamp();
                }
                else if (Stopwatch.GetElapsedTime(lastChange) >= TimeSpan.FromSeconds(2))
                {
                    return;
                }

                if (Stopwatch.GetElapsedTime(lastProgress) >= ProgressInterval)
                {
                    lastProgress = Stopwatch.GetTimestamp();
                    Progress("  messaging has applied " + ResultTable.Format((long)consumed) + " of at least " + ResultTable.Format((long)needed) +
                        " status events to the receipts (/metrics)");
                }

                await Task.Delay(MetricsInterval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted: the read-back runs once and the table is printed.
        }
    }

    /// <summary>Every expected delivery is there and has reached the end of its road (delivered, read or failed).</summary>
    private bool IsDone(MessageDeliveries message) =>
        message.Deliveries is { } deliveries && deliveries.Count(d => d.FallbackFrom is null) >= deliveriesPerMessage &&
        deliveries.All(d => d.Status is Delivered or Read or Failed);

    private void Print(SendResult send, WaitResult wait, PrometheusText? before, PrometheusText? after, bool interrupted)
    {
        var expected = (long)send.Accepted.Count * deliveriesPerMessage;
        var deliveries = wait.Messages
            .Where(m => m?.Deliveries is not null)
            .SelectMany(m => m!.Deliveries!.Select(d => (Message: m!, Delivery: d)))
            .ToList();
        var delivered = deliveries.Where(x => x.Delivery.Status is Delivered or Read).ToList();
        var failed = deliveries.Where(x => x.Delivery.Status == Failed).ToList();
        var fallbacks = deliveries.Count(x => x.Delivery.FallbackFrom is not null);

        // A `read` delivery's updated_at is the read time, not the delivered time: left out of the times.
        var timed = delivered.Where(x => x.Delivery.Status == Delivered).ToList();
        var latencies = timed.Select(x => (x.Delivery.UpdatedAt - x.Message.CreatedAt).TotalMilliseconds).Order().ToArray();
        var end = timed.Count > 0 ? timed.Max(x => x.Delivery.UpdatedAt) : (DateTimeOffset?)null;
        var lastReportSeconds = end is { } last ? (last - send.StartUtc).TotalSeconds : double.NaN;
        var completedAll = wait.Pending == 0;

        // End to end: until the platform had recorded every delivery as delivered (or failed). From the
        // /metrics counter when there is one; otherwise from the read-back, which also waits for the receipts.
        var polledWall = wait.CountedDoneSeconds is null;
        var wallSeconds = wait.CountedDoneSeconds ?? (completedAll ? wait.ObservedSeconds : double.NaN);

        var row = new[]
        {
            Label + (completedAll ? string.Empty : interrupted ? " (interrupted)" : " (timed out)"),
            ResultTable.Format(send.Accepted.Count),
            ResultTable.Format(expected),
            ResultTable.Format(delivered.Count),
            ResultTable.Format(failed.Count),
            double.IsNaN(wallSeconds) ? "n/a" : wallSeconds.ToString("0.00", CultureInfo.InvariantCulture) + (polledWall ? " (polled)" : string.Empty),
            double.IsNaN(wallSeconds) || wallSeconds <= 0 ? "n/a" : Rate(delivered.Count / wallSeconds),
            double.IsNaN(lastReportSeconds) ? "n/a" : lastReportSeconds.ToString("0.00", CultureInfo.InvariantCulture),
            Rate(send.Accepted.Count / send.SendSeconds),
            ResultTable.Milliseconds(Percentiles.Of(latencies, 0.50)),
            ResultTable.Milliseconds(Percentiles.Of(latencies, 0.95)),
            ResultTable.Milliseconds(Percentiles.Of(latencies, 0.99)),
            ResultTable.Milliseconds(latencies.Length == 0 ? double.NaN : latencies[^1]),
        };

        report.Line();
        report.Table(Headers, RightAligned, [row]);
        report.Line();
        report.Line(
            "Run: " + Label + ". Channel settings are the host's configuration and the API does not show them: say in --label what the host was " +
            "started with (Chat4All__Delivery__Channels__{whatsapp,sms}__LatencyMin, __LatencyMax, __DeliveredDelay, __ReadProbability, " +
            "__RateLimitPerSecond; Chat4All__Delivery__MaxConcurrency). See bench/README.md.");
        if (before is not null && after is not null)
        {
            report.Line(DescribeProviderCalls(before, after));
        }

        report.Line(
            "Deliveries = accepted messages × " + deliveriesPerMessage.ToString(CultureInfo.InvariantCulture) + ". Delivered counts delivered (or already read) " +
            "deliveries; Failed counts deliveries that ended failed. Wall s runs from the first send to the moment the platform had recorded every " +
            "delivery as delivered or failed: " + (!polledWall
                ? "the first /metrics scrape whose " + StatusChangesMetric + " delta covered them all (scraped every " +
                  MetricsInterval.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + " ms; the exporter may serve a cached page a few " +
                  "hundred ms old, so it can read late by up to about half a second)"
                : completedAll
                    ? "here the /metrics counter was not usable, so it is when the read-back saw every receipt done, which includes the receipts' lag (marked polled)"
                    : "n/a here, because not every delivery finished") +
            ". Deliveries/s = Delivered / Wall s. Last report s runs from the first send to the latest delivered time the provider reported. " +
            "Latency per delivery = that reported time (the delivery's updated_at) − the message's created_at, both host timestamps on this machine's " +
            "clock. The reported time is when the provider says it delivered (its send plus DeliveredDelay), so the latencies and Last report s leave out " +
            "the delivered webhook's way back into the platform (the provider's callback poll, the POST, a retry after a 404); Wall s includes it. " +
            "Accepted msgs/s = accepted messages / time spent sending (" + Seconds(TimeSpan.FromSeconds(send.SendSeconds)) + ").");
        report.Line(
            "Send side: " + ResultTable.Format(send.Accepted.Count) + " of " + ResultTable.Format(options.Messages) + " messages accepted (" +
            ResultTable.Format(send.Errors) + " errors), POST latency p50 " + ResultTable.Milliseconds(Percentiles.Of(send.Latencies, 0.50)) + " ms, p99 " +
            ResultTable.Milliseconds(Percentiles.Of(send.Latencies, 0.99)) + " ms." + (send.FirstError is null ? string.Empty : " First error: " + send.FirstError));
        if (wait.CountedDoneSeconds is not null && completedAll)
        {
            report.Line(
                "Receipts: the bench's read-back had found every delivery's final status through GET /v1/messages/{id} by " +
                wait.ObservedSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s after the first send (the status events travel through the " +
                "delivery outbox, the relay and messaging's consumer; not part of Wall s).");
        }

        foreach (var note in notes)
        {
            report.Line(note);
        }

        if (delivered.Count > timed.Count)
        {
            report.Line(
                ResultTable.Format(delivered.Count - timed.Count) + " deliveries were already read when the bench looked, so their delivered time is " +
                "unknown and they are left out of the latencies and Wall s. Start the host with ReadProbability=0 for whatsapp and sms to avoid this.");
        }

        if (fallbacks > 0)
        {
            report.Line(ResultTable.Format(fallbacks) + " fallback deliveries appeared (fallback_from set); they are counted as well.");
        }

        foreach (var group in failed.GroupBy(x => x.Delivery.Channel + ": " + (x.Delivery.Error ?? "no error given")).OrderByDescending(g => g.Count()).Take(5))
        {
            report.Line("Failed deliveries, " + group.Key + ": " + ResultTable.Format(group.Count()));
        }

        if (!completedAll && !interrupted)
        {
            var stuck = deliveries.Where(x => x.Delivery.Status is not (Delivered or Read or Failed))
                .GroupBy(x => x.Delivery.Channel + " " + x.Delivery.Status).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => ResultTable.Format(g.Count()) + " " + g.Key);
            var missing = expected - deliveries.Count(x => x.Delivery.FallbackFrom is null);
            report.Line(
                "TIMED OUT after " + Seconds(options.DeliveryTimeout) + ": " + ResultTable.Format(wait.Pending) + " messages not done; not yet delivered: " +
                string.Join(", ", stuck.DefaultIfEmpty("none")) + (missing > 0 ? "; " + ResultTable.Format(missing) + " deliveries not visible at all" : string.Empty) + ".");
        }

        report.Line(
            "The load generator runs on the same machine and shares its " + Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) +
            " cores with the host, PostgreSQL and Redis.");
        if (MachineInfo.DescribeLoadAtEnd() is { } load)
        {
            report.Line(load);
        }
    }

    /// <summary>What the delivery service's own metrics say about the provider calls of this run: the calls per outcome and their mean latency.</summary>
    private static string DescribeProviderCalls(PrometheusText before, PrometheusText after)
    {
        var parts = new List<string>();
        foreach (var channel in BenchChannels)
        {
            var outcomes = after.Samples.Where(s => s.Name == AttemptsMetric && s.Label("channel") == channel).Select(s => s.Label("outcome"))
                .Concat(before.Samples.Where(s => s.Name == AttemptsMetric && s.Label("channel") == channel).Select(s => s.Label("outcome")))
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(o => (Outcome: o, Count: Delta(before, after, AttemptsMetric, s => s.Label("channel") == channel && s.Label("outcome") == o)))
                .Where(x => x.Count > 0)
                .Select(x => ResultTable.Format((long)x.Count) + " " + x.Outcome);
            var calls = Delta(before, after, SendDurationCountMetric, s => s.Label("channel") == channel);
            var seconds = Delta(before, after, SendDurationSumMetric, s => s.Label("channel") == channel);
            parts.Add(channel + ": " + string.Join(", ", outcomes.DefaultIfEmpty("no calls")) +
                (calls > 0 ? "; mean provider call " + ResultTable.Milliseconds(seconds / calls * 1000) + " ms" : string.Empty));
        }

        var deadLetters = Delta(before, after, DeadLettersMetric, s => BenchChannels.Contains(s.Label("channel")));
        var text = "Provider calls during the run (/" + Chat4AllApi.MetricsPath + ", " + AttemptsMetric + " by outcome; anything but accepted is retried or " +
            "fails): " + string.Join("; ", parts) + (deadLetters > 0 ? "; " + ResultTable.Format((long)deadLetters) + " dead letters" : string.Empty) +
            ". The mean provider call is the simulated latency the host was started with (about (LatencyMin + LatencyMax) / 2) plus " +
            "the simulator's own Redis round trips, which cost a few ms even at zero latency.";

        // The providers' delivered reports: a 404 means the report came before the `sent` record it
        // refers to was stored, and the simulated provider posts it again after its retry delay.
        var statuses = after.Samples.Concat(before.Samples)
            .Where(s => s.Name == HttpRequestsMetric && s.Label("http_route").StartsWith(WebhookRoutePrefix, StringComparison.Ordinal))
            .Select(s => s.Label("http_response_status_code")).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Select(code => (Code: code, Count: Delta(before, after, HttpRequestsMetric,
                s => s.Label("http_route").StartsWith(WebhookRoutePrefix, StringComparison.Ordinal) && s.Label("http_response_status_code") == code)))
            .Where(x => x.Count > 0)
            .ToList();
        if (statuses.Count > 0)
        {
            text += Environment.NewLine + "Provider webhooks received (POST " + WebhookRoutePrefix + "{channel}, by HTTP status): " +
                string.Join(", ", statuses.Select(x => ResultTable.Format((long)x.Count) + " × " + x.Code)) +
                (statuses.Any(x => x.Code != "204" && x.Code != "200")
                    ? ". Anything but 2xx is posted again by the simulated provider after its retry delay (1 s first); a 404 is a report that " +
                      "arrived before the delivery's sent record it refers to was stored."
                    : ".");
        }

        // Where the time goes besides the providers: the outbox relays, commit to Redis.
        var lags = new[] { MessageCreatedTopic, StatusChangedTopic }
            .Select(topic => (Topic: topic, Count: Delta(before, after, PublishLagCountMetric, s => s.Label("topic") == topic),
                Seconds: Delta(before, after, PublishLagSumMetric, s => s.Label("topic") == topic)))
            .Where(x => x.Count > 0)
            .Select(x => x.Topic + " " + ResultTable.Milliseconds(x.Seconds / x.Count * 1000) + " ms over " + ResultTable.Format((long)x.Count) + " events")
            .ToList();
        return lags.Count == 0
            ? text
            : text + Environment.NewLine + "Outbox relay, mean commit-to-publish lag during the run (chat4all_outbox_publish_lag_seconds): " +
              string.Join("; ", lags) + ". message.created lies on every delivery's measured path (it is how the delivery service hears of a message); " +
              "message.status_changed only delays when the receipts become readable.";
    }

    private static double StatusDelta(PrometheusText before, PrometheusText after, string status) =>
        Delta(before, after, StatusChangesMetric, s => s.Label("status") == status && BenchChannels.Contains(s.Label("channel")));

    private static double Delta(PrometheusText before, PrometheusText after, string name, Func<PrometheusSample, bool> filter) =>
        after.Sum(name, filter) - before.Sum(name, filter);

    private async Task RefreshTokensAsync(CancellationToken cancellationToken)
    {
        if (tokens.Count > 0 && Stopwatch.GetElapsedTime(tokensFetchedAt) < TokenRefreshAge)
        {
            return;
        }

        var fresh = new List<string>(senders.Count);
        foreach (var user in senders)
        {
            fresh.Add(await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, user, cancellationToken));
        }

        tokens = fresh;
        tokensFetchedAt = Stopwatch.GetTimestamp();
    }

    /// <summary>Nearest-rank percentile of sorted values; NaN when there are none.</summary>
    private static string Rate(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";

    private static void Progress(string message) => Console.Error.WriteLine("[bench] " + message);

    /// <summary>A group conversation: its members (indexes into the senders) and its prebuilt request body.</summary>
    private sealed record Group(string ConversationId, IReadOnlyList<int> Members, byte[] Body);

    /// <summary>An accepted message: its id, the sender (index into the senders) and the host's created_at.</summary>
    private sealed record SentMessage(string MessageId, int Sender, DateTimeOffset CreatedAt);

    private sealed record SendResult(
        IReadOnlyList<SentMessage> Accepted, long Errors, string? FirstError, DateTimeOffset StartUtc, long StartTicks, double SendSeconds, double[] Latencies);

    /// <summary>What the read-back found per accepted message (null if it was never read), how many were not done, and when.</summary>
    private sealed record WaitResult(IReadOnlyList<MessageDeliveries?> Messages, int Pending, double? CountedDoneSeconds, double ObservedSeconds);
}
