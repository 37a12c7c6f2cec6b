using Chat4All.Contracts;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Simulator;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Chat4All.Delivery.Tests.Connectors;

public sealed class WebhookCallbackTests : IAsyncLifetime
{
    private SimulatorRedis _redis = null!;
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _redis = await SimulatorRedis.CreateAsync();
        _receiver = await WebhookReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task DeliveredAndReadReportsArePostedToTheChannelsWebhookSignedWithItsSecret()
    {
        await using var host = await SimulatorHost.StartAsync(Settings(("ReadProbability", "1"), ("ReadDelay", "00:00:00.100")));
        var connector = host.Connectors[Channels.WhatsApp];

        var accepted = Assert.IsType<SendResult.Accepted>(await connector.SendAsync(
            SimulatedProviderTests.Message(Channels.WhatsApp, "+5511999990000", Guid.NewGuid()), CancellationToken.None));

        await Eventually.HoldsAsync(() => _receiver.Received.Count >= 2, "the delivered and read webhooks arrive");
        var received = _receiver.Received;
        Assert.Equal(2, received.Count);
        var secret = new StandardWebhooks(SimulatorRedis.Secrets[Channels.WhatsApp]);
        Assert.All(received, webhook =>
        {
            Assert.Equal(Channels.WhatsApp, webhook.Channel);
            Assert.Equal("application/json; charset=utf-8", webhook.ContentType);
            Assert.True(secret.Verify(webhook.Headers, webhook.Body, DateTimeOffset.UtcNow).Valid);
            Assert.True(connector.VerifyWebhook(webhook.Headers, webhook.Body, DateTimeOffset.UtcNow).Valid);
            Assert.False(host.Connectors[Channels.Sms].VerifyWebhook(webhook.Headers, webhook.Body, DateTimeOffset.UtcNow).Valid);
        });
        var reports = received.SelectMany(w => connector.ParseWebhook(w.Body)).Cast<ChannelCallback.StatusReport>().OrderBy(r => r.OccurredAt).ToList();
        Assert.Equal([DeliveryStatuses.Delivered, DeliveryStatuses.Read], reports.Select(r => r.Status));
        Assert.All(reports, r => Assert.Equal(accepted.ProviderMessageId, r.ProviderMessageId));
        Assert.Equal(2, received.Select(w => w.Headers[StandardWebhooks.IdHeader].ToString()).Distinct().Count());
    }

    [Fact]
    public async Task SimulatedInboundMessageIsPostedAsAnInboundWebhook()
    {
        await using var host = await SimulatorHost.StartAsync(Settings());

        var providerMessageId = await host.Simulator.SimulateInboundAsync(Channels.Telegram, "@maria_silva", "olá, tudo bem?", "telegram.123");

        await Eventually.HoldsAsync(() => _receiver.Received.Count >= 1, "the inbound webhook arrives");
        var webhook = Assert.Single(_receiver.Received);
        var connector = host.Connectors[Channels.Telegram];
        Assert.Equal(Channels.Telegram, webhook.Channel);
        Assert.True(connector.VerifyWebhook(webhook.Headers, webhook.Body, DateTimeOffset.UtcNow).Valid);
        var inbound = Assert.IsType<ChannelCallback.InboundMessage>(Assert.Single(connector.ParseWebhook(webhook.Body)));
        Assert.Equal(providerMessageId, inbound.ProviderMessageId);
        Assert.Equal("@maria_silva", inbound.FromAddress);
        Assert.Equal("olá, tudo bem?", inbound.Text);
        Assert.Equal("telegram.123", inbound.InReplyTo);
    }

    [Fact]
    public async Task FailingWebhookEndpointIsRetriedWithTheSameWebhookIdUntilItAccepts()
    {
        _receiver.Respond = n => n <= 2 ? StatusCodes.Status500InternalServerError : StatusCodes.Status204NoContent;
        await using var host = await SimulatorHost.StartAsync(Settings());

        await host.Simulator.SimulateInboundAsync(Channels.Sms, "+5511999990000", "oi");

        await Eventually.HoldsAsync(async () => _receiver.Received.Count >= 3 && await host.Callbacks.CountAsync() == 0,
            "the third POST is accepted and the webhook leaves the queue");
        var received = _receiver.Received;
        Assert.Equal(3, received.Count);
        Assert.Single(received.Select(w => w.Headers[StandardWebhooks.IdHeader].ToString()).Distinct());
        Assert.All(received, w => Assert.True(host.Connectors[Channels.Sms].VerifyWebhook(w.Headers, w.Body, DateTimeOffset.UtcNow).Valid));
    }

    [Fact]
    public async Task WebhookIsDroppedAfterItsLastAttempt()
    {
        _receiver.Respond = _ => StatusCodes.Status503ServiceUnavailable;
        await using var host = await SimulatorHost.StartAsync(Settings(("Chat4All:Delivery:Simulator:CallbackMaxAttempts", "3")));

        await host.Simulator.SimulateInboundAsync(Channels.Sms, "+5511999990000", "oi");

        await Eventually.HoldsAsync(async () => _receiver.Received.Count >= 3 && await host.Callbacks.CountAsync() == 0,
            "three attempts, then the webhook leaves the queue");
        Assert.Equal(3, _receiver.Received.Count);
    }

    [Fact]
    public async Task WebhookForAnEndpointThatIsDownArrivesOnceItIsUp()
    {
        using var port = new ReservedPort(); // bound, not listening: refused until the receiver takes it over
        await using var host = await SimulatorHost.StartAsync(Settings(("Chat4All:Delivery:Simulator:WebhookBaseUrl", port.BaseUrl.ToString().TrimEnd('/'))));

        await host.Simulator.SimulateInboundAsync(Channels.Instagram, "@maria.silva", "oi");
        await Eventually.HoldsAsync(async () => await QueuedAttemptAsync() > 1, "a refused connection is scheduled for another attempt");
        await using var late = await WebhookReceiver.StartAsync(port);

        await Eventually.HoldsAsync(() => late.Received.Count >= 1, "the webhook arrives at the endpoint that came up");
        Assert.Equal(Channels.Instagram, Assert.Single(late.Received).Channel);
    }

    [Fact]
    public async Task EachWebhookIsPostedByOnlyOneOfTwoInstances()
    {
        await using var first = await SimulatorHost.StartAsync(Settings());
        await using var second = await SimulatorHost.StartAsync(Settings());

        var ids = await Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
            (i % 2 == 0 ? first : second).Simulator.SimulateInboundAsync(Channels.Messenger, "1234567890123456", $"message {i}")));

        await Eventually.HoldsAsync(async () => _receiver.Received.Count >= ids.Length && await first.Callbacks.CountAsync() == 0,
            "every webhook arrives and the queue is empty");
        var received = _receiver.Received;
        Assert.Equal(ids.Length, received.Count);
        Assert.Equal(ids.Length, received.Select(w => w.Headers[StandardWebhooks.IdHeader].ToString()).Distinct().Count());
        Assert.Equal(ids.Order(), received.Select(w => ((ChannelCallback.InboundMessage)SimulatedWebhook.Parse(w.Body)[0]).ProviderMessageId).Order());
    }

    [Fact]
    public async Task ScheduledWebhooksSurviveARestartOfTheProvider()
    {
        // The first instance has nowhere to send webhooks (no base URL, no server), so they wait in Redis.
        string providerMessageId;
        await using (var unreachable = await SimulatorHost.StartAsync(_redis.Settings()))
        {
            var accepted = Assert.IsType<SendResult.Accepted>(await unreachable.Connectors[Channels.Sms].SendAsync(
                SimulatedProviderTests.Message(Channels.Sms, "+5511999990000", Guid.NewGuid()), CancellationToken.None));
            providerMessageId = accepted.ProviderMessageId;
            Assert.Equal(1, await unreachable.Callbacks.CountAsync());
        }

        await using var restarted = await SimulatorHost.StartAsync(Settings());

        await Eventually.HoldsAsync(() => _receiver.Received.Count >= 1, "the webhook queued before the restart arrives");
        var report = Assert.IsType<ChannelCallback.StatusReport>(Assert.Single(SimulatedWebhook.Parse(Assert.Single(_receiver.Received).Body)));
        Assert.Equal(providerMessageId, report.ProviderMessageId);
        Assert.Equal(DeliveryStatuses.Delivered, report.Status);
    }

    [Fact]
    public async Task StatusReportsOfOneChannelDueTogetherArriveInOneBatchedWebhook()
    {
        // Queued while the provider has nowhere to send them, so the next one finds all five due at once.
        var ids = new List<string>();
        await using (var unreachable = await SimulatorHost.StartAsync(_redis.Settings()))
        {
            for (var i = 0; i < 5; i++)
            {
                var accepted = Assert.IsType<SendResult.Accepted>(await unreachable.Connectors[Channels.Sms].SendAsync(
                    SimulatedProviderTests.Message(Channels.Sms, "+5511999990000", Guid.NewGuid()), CancellationToken.None));
                ids.Add(accepted.ProviderMessageId);
            }
        }

        await using var restarted = await SimulatorHost.StartAsync(Settings());

        await Eventually.HoldsAsync(async () => _receiver.Received.Count >= 1 && await restarted.Callbacks.CountAsync() == 0, "the queued reports are sent");
        var webhook = Assert.Single(_receiver.Received);
        var reports = SimulatedWebhook.Parse(webhook.Body).Cast<ChannelCallback.StatusReport>().ToList();
        Assert.Equal(ids.Order(), reports.Select(r => r.ProviderMessageId).Order());
        Assert.All(reports, r => Assert.Equal(DeliveryStatuses.Delivered, r.Status));
    }

    [Fact]
    public async Task WithoutABaseUrlWebhooksGoToTheHostsOwnListeningAddress()
    {
        var settings = _redis.Settings();
        await using var app = await WebhookReceiver.StartAsync(configure: builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.AddSimulatedChannelConnectors();
        });

        await app.Services.GetRequiredService<ChannelSimulator>().SimulateInboundAsync(Channels.Sms, "+5511999990000", "oi");

        await Eventually.HoldsAsync(() => app.Received.Count >= 1, "the webhook arrives at the host itself");
        Assert.Equal(Channels.Sms, Assert.Single(app.Received).Channel);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000", "http://127.0.0.1:5000/")]
    [InlineData("http://0.0.0.0:5000", "http://127.0.0.1:5000/")]
    [InlineData("http://[::]:5000", "http://127.0.0.1:5000/")]
    [InlineData("http://+:5000", "http://127.0.0.1:5000/")]
    [InlineData("http://*:5000", "http://127.0.0.1:5000/")]
    [InlineData("http://localhost:5000", "http://localhost:5000/")]
    [InlineData("http://[::1]:5000", "http://[::1]:5000/")]
    [InlineData("https://0.0.0.0:5001;http://0.0.0.0:5000", "http://127.0.0.1:5000/")]
    [InlineData("https://*:5001", "https://127.0.0.1:5001/")]
    [InlineData("http://unix:/tmp/chat4all.sock", null)]
    [InlineData("", null)]
    public void WildcardListeningAddressesAreReachedThroughLoopback(string addresses, string? expected)
    {
        var baseUrl = WebhookTarget.FromServerAddresses(addresses.Split(';', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(expected, baseUrl?.AbsoluteUri);
    }

    private Dictionary<string, string?> Settings(params (string Key, string? Value)[] overrides) =>
        _redis.Settings([("Chat4All:Delivery:Simulator:WebhookBaseUrl", _receiver.BaseUrl.ToString()), .. overrides]);

    private async Task<int> QueuedAttemptAsync()
    {
        var members = await _redis.Connection.GetDatabase().SortedSetRangeByRankAsync(SimulatorKeys.Callbacks(_redis.Prefix));
        return members.Length == 1 ? PendingWebhook.FromJson(members[0]!).Attempt : 0;
    }
}
