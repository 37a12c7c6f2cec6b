using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Chat4All.Contracts;
using Chat4All.Delivery.Connectors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.Delivery.Simulator;

/// <summary>One edit or recall a simulated provider applied to a message.</summary>
public sealed record SimulatedChange(Guid ChangeId, string Kind, string? Text, DateTimeOffset At);

/// <summary>A message as a simulated provider holds it: current text (null once recalled), when it was sent and recalled, and its changes in order.</summary>
public sealed record SimulatedProviderMessage(
    string Channel, string ProviderMessageId, string? Text, DateTimeOffset SentAt, DateTimeOffset? RecalledAt, IReadOnlyList<SimulatedChange> Changes);

/// <summary>
/// The simulated provider behind the five simulated connectors. Its state lives in Redis
/// (<see cref="SimulatorKeys"/>), so it survives restarts and every instance sees the same provider:
/// the same idempotency records, rate-limit windows, outage switches and pending webhooks.
/// Behaviour per channel comes from <see cref="SimulatedChannelOptions"/>.
/// </summary>
public sealed class ChannelSimulator
{
    // -1: outage; 0: admitted; > 0: over the rate limit, retry after that many ms.
    private const string GateScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then
          return -1
        end
        local limit = tonumber(ARGV[1])
        if limit <= 0 then
          return 0
        end
        local current = tonumber(redis.call('GET', KEYS[2]) or '0')
        if current >= limit then
          local ttl = redis.call('PTTL', KEYS[2])
          if ttl <= 0 then
            redis.call('PEXPIRE', KEYS[2], 1000)
            ttl = 1000
          end
          return ttl
        end
        if redis.call('INCR', KEYS[2]) == 1 then
          redis.call('PEXPIRE', KEYS[2], 1000)
        end
        return 0
        """;

    // First send of a delivery: record its provider message id, count it, keep the message as the
    // provider holds it (text, sent at: what edits and recalls act on), queue its webhooks — all or
    // nothing. A later send of the same delivery gets the recorded id and changes nothing.
    private const string AcceptScript = """
        local existing = redis.call('GET', KEYS[1])
        if existing then
          return existing
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('INCR', KEYS[2])
        redis.call('HSET', KEYS[4], 'sent_at', ARGV[3], 'text', ARGV[4])
        redis.call('PEXPIRE', KEYS[4], ARGV[2])
        for i = 5, #ARGV, 2 do
          redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i + 1])
        end
        return ARGV[1]
        """;

    // An edit or recall of a provider message: applied once per change id (a repeat answers
    // 'applied' and changes nothing), refused for an unknown or recalled message and outside the
    // channel's window (ARGV[4] ms after the send; -1: no limit). Applied: the message's text is
    // replaced (edit) or removed (recall), and the change is appended to the message's change log.
    private const string ChangeScript = """
        if redis.call('EXISTS', KEYS[2]) == 1 then
          return 'applied'
        end
        local sent = redis.call('HGET', KEYS[1], 'sent_at')
        if not sent then
          return 'unknown_message'
        end
        if redis.call('HEXISTS', KEYS[1], 'recalled_at') == 1 then
          return 'message_recalled'
        end
        local window = tonumber(ARGV[4])
        if window >= 0 and tonumber(ARGV[3]) - tonumber(sent) > window then
          return 'window_expired'
        end
        redis.call('SET', KEYS[2], '1', 'PX', ARGV[5])
        if ARGV[1] == 'edit' then
          redis.call('HSET', KEYS[1], 'text', ARGV[2])
        else
          redis.call('HSET', KEYS[1], 'recalled_at', ARGV[3])
          redis.call('HDEL', KEYS[1], 'text')
        end
        redis.call('RPUSH', KEYS[3], ARGV[6])
        redis.call('PEXPIRE', KEYS[3], ARGV[5])
        return 'applied'
        """;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly IConnectionMultiplexer _redis;
    private readonly IOptionsMonitor<SimulatedChannelOptions> _channels;
    private readonly ChannelSimulatorOptions _options;
    private readonly SimulatorCallbackQueue _callbacks;
    private readonly WebhookSecrets _secrets;
    private readonly TimeProvider _time;
    private readonly ILogger<ChannelSimulator> _logger;
    private readonly ConcurrentDictionary<string, Regex> _patterns = new(StringComparer.Ordinal);

    internal ChannelSimulator(IConnectionMultiplexer redis, IOptionsMonitor<SimulatedChannelOptions> channels, IOptions<ChannelSimulatorOptions> options,
        SimulatorCallbackQueue callbacks, WebhookSecrets secrets, TimeProvider time, ILogger<ChannelSimulator> logger)
    {
        _redis = redis;
        _channels = channels;
        _options = options.Value;
        _callbacks = callbacks;
        _secrets = secrets;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Sends <paramref name="message"/> to the provider of its channel, whose address the caller has
    /// already checked for well-formedness. In order: the outage switch (503), the channel's rate
    /// limit (429), unknown recipients (permanent), an injected transient failure, the provider's
    /// latency, then acceptance — idempotent on <see cref="OutboundMessage.DeliveryId"/>.
    /// </summary>
    public Task<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken) =>
        ReachProviderAsync(() => SendToProviderAsync(message, cancellationToken));

    private async Task<SendResult> SendToProviderAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var channel = RequireChannel(message.Channel);
        var options = _channels.Get(channel);

        // Every decision is drawn up front in a fixed order, so no branch shifts the draws after it.
        var random = SimulationRandom.For(options.Seed, channel, message.DeliveryId, message.Attempt);
        var fails = random.NextDouble() < options.TransientFailureRate;
        var failure = (InjectedFailure)(int)(random.NextDouble() * 3);
        var latency = random.NextTimeSpan(options.LatencyMin, options.LatencyMax);
        var read = random.NextDouble() < options.ReadProbability;

        var db = _redis.GetDatabase();
        var gate = await GateAsync(db, channel, options);
        if (gate < 0)
        {
            await DelayAsync(latency, cancellationToken);
            return new SendResult.Transient("provider_unavailable", options.RetryAfter);
        }

        if (gate > 0)
        {
            await DelayAsync(latency, cancellationToken);
            return new SendResult.Transient("rate_limited", TimeSpan.FromMilliseconds(gate));
        }

        if (options.UnreachablePattern is { } pattern && Unreachable(pattern).IsMatch(message.Address))
        {
            await DelayAsync(latency, cancellationToken);
            return new SendResult.Permanent("recipient_unknown");
        }

        if (fails)
        {
            await DelayAsync(failure == InjectedFailure.Timeout ? options.Timeout : latency, cancellationToken);
            return failure switch
            {
                InjectedFailure.Timeout => new SendResult.Transient("timeout"),
                InjectedFailure.Throttled => new SendResult.Transient("rate_limited", options.RetryAfter),
                _ => new SendResult.Transient("provider_error"),
            };
        }

        await DelayAsync(latency, cancellationToken);
        var providerMessageId = NewProviderMessageId(channel);
        var now = _time.GetUtcNow();
        var delivered = now + options.DeliveredDelay;
        var arguments = new List<RedisValue>
        {
            providerMessageId, (long)_options.IdempotencyWindow.TotalMilliseconds, now.ToUnixTimeMilliseconds(),
            message.Payload.Text ?? $"file:{message.Payload.FileId:N}",
        };
        AddCallback(arguments, channel, SimulatedWebhook.Status(providerMessageId, DeliveryStatuses.Delivered, delivered), delivered);
        if (read)
        {
            var readAt = delivered + options.ReadDelay;
            AddCallback(arguments, channel, SimulatedWebhook.Status(providerMessageId, DeliveryStatuses.Read, readAt), readAt);
        }

        var accepted = (string)(await db.ScriptEvaluateAsync(AcceptScript,
            [SimulatorKeys.Sent(_options.KeyPrefix, channel, message.DeliveryId), SimulatorKeys.Accepted(_options.KeyPrefix, channel), _callbacks.Key,
                SimulatorKeys.Message(_options.KeyPrefix, channel, providerMessageId)],
            [.. arguments]))!;
        _callbacks.Added.Notify();
        return new SendResult.Accepted(accepted);
    }

    /// <summary>
    /// Edits or recalls a message this provider accepted, as the channel's rules allow: the same
    /// outage switch, rate limit, injected transient failures and latency as a send, then the
    /// change — idempotent on <see cref="OutboundChange.ChangeId"/>, refused after the channel's
    /// <see cref="SimulatedChannelOptions.EditWindow"/> / <see cref="SimulatedChannelOptions.RecallWindow"/>.
    /// </summary>
    public Task<SendResult> ChangeAsync(OutboundChange change, CancellationToken cancellationToken) =>
        ReachProviderAsync(() => ChangeAtProviderAsync(change, cancellationToken));

    private static async Task<SendResult> ReachProviderAsync(Func<Task<SendResult>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The simulated provider is unreachable. If the reply of an acceptance was what got lost,
            // the retry is answered the same way (sends and changes are idempotent on their ids).
            return new SendResult.Transient("provider_unreachable");
        }
    }

    /// <summary>The outage switch and the rate limit: -1 outage, 0 admitted, &gt; 0 rate limited (retry after that many ms).</summary>
    private async Task<long> GateAsync(IDatabase db, string channel, SimulatedChannelOptions options) =>
        (long)await db.ScriptEvaluateAsync(GateScript,
            [SimulatorKeys.Outage(_options.KeyPrefix, channel), SimulatorKeys.RateWindow(_options.KeyPrefix, channel)],
            [options.RateLimitPerSecond ?? 0]);

    private async Task<SendResult> ChangeAtProviderAsync(OutboundChange change, CancellationToken cancellationToken)
    {
        var channel = RequireChannel(change.Channel);
        var options = _channels.Get(channel);
        var random = SimulationRandom.For(options.Seed, channel, change.ChangeId, change.Attempt);
        var fails = random.NextDouble() < options.TransientFailureRate;
        var latency = random.NextTimeSpan(options.LatencyMin, options.LatencyMax);

        var db = _redis.GetDatabase();
        var gate = await GateAsync(db, channel, options);
        await DelayAsync(latency, cancellationToken);
        if (gate != 0 || fails)
        {
            return gate > 0
                ? new SendResult.Transient("rate_limited", TimeSpan.FromMilliseconds(gate))
                : new SendResult.Transient(gate < 0 ? "provider_unavailable" : "provider_error", options.RetryAfter);
        }

        var edit = change.Kind == ChannelChangeKinds.Edit;
        var now = _time.GetUtcNow();
        var window = edit ? options.EditWindow : options.RecallWindow;
        var entry = JsonSerializer.Serialize(new SimulatedChange(change.ChangeId, edit ? "edit" : "recall", edit ? change.Text : null, now), Json);
        var outcome = (string)(await db.ScriptEvaluateAsync(ChangeScript,
            [SimulatorKeys.Message(_options.KeyPrefix, channel, change.ProviderMessageId), SimulatorKeys.Change(_options.KeyPrefix, channel, change.ChangeId),
                SimulatorKeys.Changes(_options.KeyPrefix, channel, change.ProviderMessageId)],
            [edit ? "edit" : "recall", change.Text ?? "", now.ToUnixTimeMilliseconds(), window is { } w ? (long)w.TotalMilliseconds : -1,
                (long)_options.IdempotencyWindow.TotalMilliseconds, entry]))!;
        return outcome switch
        {
            "applied" => new SendResult.Accepted(change.ProviderMessageId),
            "window_expired" => new SendResult.Permanent(edit ? "edit_window_expired" : "recall_window_expired"),
            _ => new SendResult.Permanent(outcome),
        };
    }

    /// <summary>
    /// A message as the provider of <paramref name="channel"/> holds it now — its text (null once
    /// recalled) and every edit or recall applied to it, in order — or null if it has none by that id.
    /// </summary>
    public async Task<SimulatedProviderMessage?> GetMessageAsync(string channel, string providerMessageId)
    {
        var db = _redis.GetDatabase();
        var fields = (await db.HashGetAllAsync(SimulatorKeys.Message(_options.KeyPrefix, RequireChannel(channel), providerMessageId)))
            .ToDictionary(f => (string)f.Name!, f => f.Value, StringComparer.Ordinal);
        if (!fields.TryGetValue("sent_at", out var sentAt))
        {
            return null;
        }

        var changes = (await db.ListRangeAsync(SimulatorKeys.Changes(_options.KeyPrefix, channel, providerMessageId)))
            .Select(c => JsonSerializer.Deserialize<SimulatedChange>((string)c!, Json)!).ToList();
        return new SimulatedProviderMessage(channel, providerMessageId, fields.TryGetValue("text", out var text) ? (string?)text : null,
            DateTimeOffset.FromUnixTimeMilliseconds((long)sentAt),
            fields.TryGetValue("recalled_at", out var recalledAt) ? DateTimeOffset.FromUnixTimeMilliseconds((long)recalledAt) : null, changes);
    }

    /// <summary>
    /// A contact on <paramref name="channel"/> sends us a message: an inbound-message webhook, due at
    /// once, with a new provider message id (returned).
    /// </summary>
    public async Task<string> SimulateInboundAsync(string channel, string fromAddress, string text, string? inReplyToProviderMessageId = null)
    {
        RequireChannel(channel);
        ArgumentException.ThrowIfNullOrEmpty(fromAddress);
        ArgumentNullException.ThrowIfNull(text);
        var providerMessageId = NewProviderMessageId(channel);
        var now = _time.GetUtcNow();
        var webhook = SimulatedWebhook.Inbound(providerMessageId, fromAddress, text, inReplyToProviderMessageId, now);
        await _callbacks.ScheduleAsync(new PendingWebhook(NewWebhookId(), channel, 1, webhook.ToJson()), now);
        return providerMessageId;
    }

    /// <summary>Turns the outage switch of <paramref name="channel"/> on or off for every instance: while on, every send answers <c>provider_unavailable</c>.</summary>
    public async Task SetOutageAsync(string channel, bool down)
    {
        var key = SimulatorKeys.Outage(_options.KeyPrefix, RequireChannel(channel));
        _ = down ? await _redis.GetDatabase().StringSetAsync(key, "1") : await _redis.GetDatabase().KeyDeleteAsync(key);
        SimulatorLog.OutageSwitched(_logger, channel, down);
    }

    public async Task<bool> IsInOutageAsync(string channel) =>
        await _redis.GetDatabase().KeyExistsAsync(SimulatorKeys.Outage(_options.KeyPrefix, RequireChannel(channel)));

    /// <summary>The provider message id <paramref name="deliveryId"/> was accepted as, or null if the provider never accepted it.</summary>
    public async Task<string?> GetProviderMessageAsync(string channel, Guid deliveryId) =>
        await _redis.GetDatabase().StringGetAsync(SimulatorKeys.Sent(_options.KeyPrefix, RequireChannel(channel), deliveryId));

    /// <summary>How many distinct provider messages sends on <paramref name="channel"/> created (resends of an accepted delivery do not count).</summary>
    public async Task<long> GetAcceptedCountAsync(string channel) =>
        (long?)await _redis.GetDatabase().StringGetAsync(SimulatorKeys.Accepted(_options.KeyPrefix, RequireChannel(channel))) ?? 0;

    /// <summary>Checks a webhook against the Standard Webhooks signature with <paramref name="channel"/>'s secret.</summary>
    public WebhookVerification VerifyWebhook(string channel, IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now) =>
        _secrets.For(RequireChannel(channel)).Verify(headers, body, now);

    private static void AddCallback(List<RedisValue> arguments, string channel, SimulatedWebhook webhook, DateTimeOffset due)
    {
        arguments.Add(due.ToUnixTimeMilliseconds());
        arguments.Add(new PendingWebhook(NewWebhookId(), channel, 1, webhook.ToJson()).ToJson());
    }

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        delay > TimeSpan.Zero ? Task.Delay(delay, _time, cancellationToken) : Task.CompletedTask;

    private Regex Unreachable(string pattern) =>
        _patterns.GetOrAdd(pattern, p => new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)));

    private static string RequireChannel(string channel) =>
        Channels.All.Contains(channel)
            ? channel
            : throw new ArgumentException($"'{channel}' is not a simulated channel ({string.Join(", ", Channels.All)}).", nameof(channel));

    private static string NewProviderMessageId(string channel) => $"{channel}.{Guid.CreateVersion7():N}";

    private static string NewWebhookId() => $"msg_{Guid.CreateVersion7():N}";

    private enum InjectedFailure
    {
        Timeout,
        Throttled,
        ServerError,
    }
}
