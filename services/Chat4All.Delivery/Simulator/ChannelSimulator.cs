using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Chat4All.Contracts;
using Chat4All.Delivery.Connectors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.Delivery.Simulator;

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

    // First send of a delivery: record its provider message id, count it, queue its webhooks — all
    // or nothing. A later send of the same delivery gets the recorded id and changes nothing.
    private const string AcceptScript = """
        local existing = redis.call('GET', KEYS[1])
        if existing then
          return existing
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('INCR', KEYS[2])
        for i = 3, #ARGV, 2 do
          redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i + 1])
        end
        return ARGV[1]
        """;

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
    public async Task<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        try
        {
            return await SendToProviderAsync(message, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The simulated provider is unreachable. If the reply of an acceptance was what got lost,
            // the retry is answered with the same provider message id.
            return new SendResult.Transient("provider_unreachable");
        }
    }

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
        var gate = (long)await db.ScriptEvaluateAsync(GateScript,
            [SimulatorKeys.Outage(_options.KeyPrefix, channel), SimulatorKeys.RateWindow(_options.KeyPrefix, channel)],
            [options.RateLimitPerSecond ?? 0]);
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
        var delivered = _time.GetUtcNow() + options.DeliveredDelay;
        var arguments = new List<RedisValue> { providerMessageId, (long)_options.IdempotencyWindow.TotalMilliseconds };
        AddCallback(arguments, channel, SimulatedWebhook.Status(providerMessageId, DeliveryStatuses.Delivered, delivered), delivered);
        if (read)
        {
            var readAt = delivered + options.ReadDelay;
            AddCallback(arguments, channel, SimulatedWebhook.Status(providerMessageId, DeliveryStatuses.Read, readAt), readAt);
        }

        var accepted = (string)(await db.ScriptEvaluateAsync(AcceptScript,
            [SimulatorKeys.Sent(_options.KeyPrefix, channel, message.DeliveryId), SimulatorKeys.Accepted(_options.KeyPrefix, channel), _callbacks.Key],
            [.. arguments]))!;
        _callbacks.Added.Notify();
        return new SendResult.Accepted(accepted);
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
