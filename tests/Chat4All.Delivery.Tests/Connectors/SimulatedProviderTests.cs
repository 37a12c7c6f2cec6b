using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Delivery.Connectors;

namespace Chat4All.Delivery.Tests.Connectors;

public sealed class SimulatedProviderTests : IAsyncLifetime
{
    private SimulatorRedis _redis = null!;

    public async Task InitializeAsync() => _redis = await SimulatorRedis.CreateAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task SameSeedGivesTheSameOutcomesForTheSameDeliveriesWhateverTheConcurrency()
    {
        var deliveries = Enumerable.Range(0, 40).Select(_ => Guid.NewGuid()).ToList();
        (string, string?)[] chaotic = [("TransientFailureRate", "0.5"), ("Seed", "42")];

        // Two providers with separate state: one sent to one at a time, the other all at once.
        var sequential = new List<string>();
        await using (var first = await SimulatorHost.StartAsync(_redis.Settings(chaotic)))
        {
            foreach (var delivery in deliveries)
            {
                foreach (var attempt in new[] { 1, 2 })
                {
                    sequential.Add(Describe(await first.Connectors[Channels.Sms].SendAsync(Sms(delivery, attempt), CancellationToken.None)));
                }
            }
        }

        await using var secondRedis = await SimulatorRedis.CreateAsync();
        await using var second = await SimulatorHost.StartAsync(secondRedis.Settings(chaotic));
        var concurrent = await Task.WhenAll(deliveries.SelectMany(d => new[] { 1, 2 }.Select(async attempt =>
            Describe(await second.Connectors[Channels.Sms].SendAsync(Sms(d, attempt), CancellationToken.None)))));

        Assert.Equal(sequential, concurrent);
        Assert.Contains("accepted", sequential);
        Assert.Contains(sequential, o => o.StartsWith("transient:", StringComparison.Ordinal));

        await using var thirdRedis = await SimulatorRedis.CreateAsync();
        await using var otherSeed = await SimulatorHost.StartAsync(thirdRedis.Settings(("TransientFailureRate", "0.5"), ("Seed", "43")));
        var reseeded = new List<string>();
        foreach (var delivery in deliveries)
        {
            foreach (var attempt in new[] { 1, 2 })
            {
                reseeded.Add(Describe(await otherSeed.Connectors[Channels.Sms].SendAsync(Sms(delivery, attempt), CancellationToken.None)));
            }
        }

        Assert.NotEqual(sequential, reseeded);
    }

    [Fact]
    public async Task ResendingAnAcceptedDeliveryReturnsTheSameProviderMessageIdAndCountsOneProviderMessage()
    {
        await using var host = await SimulatorHost.StartAsync(_redis.Settings());
        await using var otherInstance = await SimulatorHost.StartAsync(_redis.Settings());
        var delivery = Guid.NewGuid();

        var first = Assert.IsType<SendResult.Accepted>(await host.Connectors[Channels.WhatsApp].SendAsync(WhatsApp(delivery, 1), CancellationToken.None));
        var resends = await Task.WhenAll(Enumerable.Range(2, 10).Select(attempt =>
            (attempt % 2 == 0 ? host : otherInstance).Connectors[Channels.WhatsApp].SendAsync(WhatsApp(delivery, attempt), CancellationToken.None)));

        Assert.All(resends, r => Assert.Equal(first.ProviderMessageId, Assert.IsType<SendResult.Accepted>(r).ProviderMessageId));
        Assert.Equal(first.ProviderMessageId, await host.Simulator.GetProviderMessageAsync(Channels.WhatsApp, delivery));
        Assert.Equal(1, await host.Simulator.GetAcceptedCountAsync(Channels.WhatsApp));

        var another = Assert.IsType<SendResult.Accepted>(await host.Connectors[Channels.WhatsApp].SendAsync(WhatsApp(Guid.NewGuid(), 1), CancellationToken.None));
        Assert.NotEqual(first.ProviderMessageId, another.ProviderMessageId);
        Assert.Equal(2, await host.Simulator.GetAcceptedCountAsync(Channels.WhatsApp));
    }

    [Fact]
    public async Task OutageSwitchMakesEverySendTransientOnEveryInstanceAndClearingItRecovers()
    {
        await using var host = await SimulatorHost.StartAsync(_redis.Settings());
        await using var otherInstance = await SimulatorHost.StartAsync(_redis.Settings());

        await host.Simulator.SetOutageAsync(Channels.Telegram, true);

        Assert.True(await otherInstance.Simulator.IsInOutageAsync(Channels.Telegram));
        foreach (var instance in new[] { host, otherInstance })
        {
            var refused = Assert.IsType<SendResult.Transient>(
                await instance.Connectors[Channels.Telegram].SendAsync(Telegram(Guid.NewGuid()), CancellationToken.None));
            Assert.Equal("provider_unavailable", refused.Reason);
            Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter);
        }

        Assert.IsType<SendResult.Accepted>(await host.Connectors[Channels.Sms].SendAsync(Sms(Guid.NewGuid(), 1), CancellationToken.None));
        Assert.Equal(0, await host.Simulator.GetAcceptedCountAsync(Channels.Telegram));

        await otherInstance.Simulator.SetOutageAsync(Channels.Telegram, false);

        Assert.False(await host.Simulator.IsInOutageAsync(Channels.Telegram));
        Assert.IsType<SendResult.Accepted>(await host.Connectors[Channels.Telegram].SendAsync(Telegram(Guid.NewGuid()), CancellationToken.None));
    }

    [Fact]
    public async Task SendsBeyondTheChannelRateLimitAreRateLimitedWithARetryAfter()
    {
        await using var host = await SimulatorHost.StartAsync(_redis.Settings(($"{SimulatedSection(Channels.Instagram)}:RateLimitPerSecond", "2")));

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            host.Connectors[Channels.Instagram].SendAsync(Instagram(Guid.NewGuid()), CancellationToken.None)));

        var limited = results.OfType<SendResult.Transient>().ToList();
        Assert.NotEmpty(limited);
        Assert.All(limited, r =>
        {
            Assert.Equal("rate_limited", r.Reason);
            Assert.InRange(r.RetryAfter!.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));
        });
        Assert.Contains(results, r => r is SendResult.Accepted);
        Assert.Equal(results.Count(r => r is SendResult.Accepted), await host.Simulator.GetAcceptedCountAsync(Channels.Instagram));

        // The limit is the channel's: another channel is not affected.
        Assert.IsType<SendResult.Accepted>(await host.Connectors[Channels.Messenger].SendAsync(Messenger(Guid.NewGuid()), CancellationToken.None));
    }

    [Fact]
    public async Task MalformedAndUnknownRecipientsFailPermanentlyWithoutAProviderMessage()
    {
        await using var host = await SimulatorHost.StartAsync(_redis.Settings(("UnreachablePattern", @"^\+1555")));
        var malformed = Guid.NewGuid();
        var unknown = Guid.NewGuid();

        var malformedResult = await host.Connectors[Channels.Sms].SendAsync(Sms(malformed, 1) with { Address = "5511999990000" }, CancellationToken.None);
        var unknownResult = await host.Connectors[Channels.Sms].SendAsync(Sms(unknown, 1) with { Address = "+15550100123" }, CancellationToken.None);

        Assert.Equal(new SendResult.Permanent("invalid_recipient"), malformedResult);
        Assert.Equal(new SendResult.Permanent("recipient_unknown"), unknownResult);
        Assert.Null(await host.Simulator.GetProviderMessageAsync(Channels.Sms, malformed));
        Assert.Null(await host.Simulator.GetProviderMessageAsync(Channels.Sms, unknown));
        Assert.Equal(0, await host.Simulator.GetAcceptedCountAsync(Channels.Sms));
    }

    [Fact]
    public async Task EveryInjectedFailureIsATimeoutAThrottleWithRetryAfterOrAServerError()
    {
        await using var host = await SimulatorHost.StartAsync(_redis.Settings(("TransientFailureRate", "1"), ("RetryAfter", "00:00:02")));

        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ =>
            host.Connectors[Channels.Messenger].SendAsync(Messenger(Guid.NewGuid()), CancellationToken.None)));

        Assert.All(results, r => Assert.IsType<SendResult.Transient>(r));
        var failures = results.Cast<SendResult.Transient>().ToList();
        Assert.Equal(["provider_error", "rate_limited", "timeout"], failures.Select(f => f.Reason).Distinct().Order());
        Assert.All(failures, f => Assert.Equal(f.Reason == "rate_limited" ? TimeSpan.FromSeconds(2) : null, f.RetryAfter));
        Assert.Equal(0, await host.Simulator.GetAcceptedCountAsync(Channels.Messenger));
    }

    [Fact]
    public async Task SendWhileTheProviderIsUnreachableIsTransient()
    {
        using var down = new ReservedPort(); // bound, never listening: every connection is refused
        var settings = _redis.Settings(("ConnectionStrings:Redis", $"127.0.0.1:{down.Port},connectTimeout=200,asyncTimeout=500,syncTimeout=500"));
        await using var host = await SimulatorHost.StartAsync(settings);

        var result = await host.Connectors[Channels.Sms].SendAsync(Sms(Guid.NewGuid(), 1), CancellationToken.None);

        Assert.Equal(new SendResult.Transient("provider_unreachable"), result);
    }

    [Fact]
    public async Task MessageForAnotherChannelIsRefusedByTheConnector()
    {
        await using var host = await SimulatorHost.StartAsync(_redis.Settings());

        await Assert.ThrowsAsync<ArgumentException>(() => host.Connectors[Channels.WhatsApp].SendAsync(Sms(Guid.NewGuid(), 1), CancellationToken.None));
    }

    private static string SimulatedSection(string channel) => Delivery.Simulator.SimulatedChannelOptions.SectionName(channel);

    private static string Describe(SendResult result) => result switch
    {
        SendResult.Accepted => "accepted",
        SendResult.Transient t => $"transient:{t.Reason}:{t.RetryAfter}",
        SendResult.Permanent p => $"permanent:{p.Reason}",
        _ => throw new ArgumentOutOfRangeException(nameof(result)),
    };

    internal static OutboundMessage Message(string channel, string address, Guid deliveryId, int attempt = 1) =>
        new(deliveryId, attempt, channel, address, Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), new MessagePayload("text", "olá", null));

    private static OutboundMessage Sms(Guid deliveryId, int attempt) => Message(Channels.Sms, "+5511999990000", deliveryId, attempt);

    private static OutboundMessage WhatsApp(Guid deliveryId, int attempt) => Message(Channels.WhatsApp, "+5511999990001", deliveryId, attempt);

    private static OutboundMessage Telegram(Guid deliveryId) => Message(Channels.Telegram, "@maria_silva", deliveryId);

    private static OutboundMessage Instagram(Guid deliveryId) => Message(Channels.Instagram, "@maria.silva", deliveryId);

    private static OutboundMessage Messenger(Guid deliveryId) => Message(Channels.Messenger, "1234567890123456", deliveryId);
}
