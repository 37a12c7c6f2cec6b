using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Contracts;
using Chat4All.Delivery.Deliveries;
using Chat4All.Delivery.Simulator;
using StackExchange.Redis;

namespace Chat4All.Delivery.Tests;

/// <summary>
/// The real host binary, SIGKILLed while deliveries are in flight at a slow provider, then started
/// again: every delivery completes, and the provider saw each one exactly once.
/// </summary>
public sealed class DeliveryCrashTests : IAsyncLifetime
{
    private const int Messages = 30;
    private readonly TemporaryDirectory _data = new();
    private readonly string _prefix = "c4a-crash-" + Guid.NewGuid().ToString("N")[..8];
    private TestDatabase _database = null!;
    private string _redis = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _redis = await TestInfrastructure.RedisConnectionStringAsync();
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task KillingTheHostMidDeliveryAndRestartingCompletesEveryDeliveryExactlyOnceInEffect()
    {
        var environment = HostProcess.Environment(_database.ConnectionString, _redis, _data.Path, _prefix);
        environment["Chat4All__RateLimiting__Enabled"] = "false";
        environment["Chat4All__Delivery__Simulator__CallbackInitialRetryDelay"] = "00:00:00.200";
        environment["Chat4All__Delivery__AttemptTimeout"] = "00:00:02";
        environment["Chat4All__Delivery__ClaimDuration"] = "00:00:03";
        environment["Chat4All__Delivery__SweepInterval"] = "00:00:00.500";
        foreach (var channel in new[] { Channels.WhatsApp, Channels.Sms })
        {
            // A slow provider, so the kill lands while sends are in flight.
            environment[$"Chat4All__Delivery__Channels__{channel}__LatencyMin"] = "00:00:00.300";
            environment[$"Chat4All__Delivery__Channels__{channel}__LatencyMax"] = "00:00:00.800";
            environment[$"Chat4All__Delivery__Channels__{channel}__DeliveredDelay"] = "00:00:00.100";
            environment[$"Chat4All__Delivery__Channels__{channel}__ReadProbability"] = "0";
        }

        Assert.Equal(0, (await HostProcess.RunAsync(environment, "migrate")).ExitCode);
        var alice = await HostProcess.CreateUserAsync(environment);
        var bob = await HostProcess.CreateUserAsync(environment);
        var messageIds = new List<Guid>();
        Guid conversationId;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis);

        using (var first = HostProcess.Start(environment, "--urls", HostProcess.AnyLoopbackPort))
        {
            using var asAlice = await first.CreateAuthenticatedClientAsync(alice);
            using var asBob = await first.CreateAuthenticatedClientAsync(bob);
            foreach (var channel in new[] { Channels.WhatsApp, Channels.Sms })
            {
                using var set = await asBob.PutAsJsonAsync($"/v1/me/channels/{channel}", new { address = DeliveryPlatform.UniqueAddress(channel) });
                Assert.Equal(HttpStatusCode.OK, set.StatusCode);
            }

            conversationId = await asAlice.CreateConversationAsync("private", bob.UserId);
            for (var i = 0; i < Messages; i++)
            {
                messageIds.Add(await asAlice.SendAsync(conversationId, $"m{i}", [Channels.WhatsApp, Channels.Sms]));
            }

            // Kill once the provider has taken some sends, with others still in flight.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (await AcceptedAsync(redis) < 4 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            first.Kill();
        }

        Assert.True(await AcceptedAsync(redis) < Messages * 2, "the kill came too late to test anything");
        using var second = HostProcess.Start(environment, "--urls", HostProcess.AnyLoopbackPort);
        using var client = await second.CreateAuthenticatedClientAsync(alice);
        foreach (var messageId in messageIds)
        {
            var deliveries = await client.WaitForDeliveriesAsync(messageId,
                d => d.Count == 2 && d.All(x => x.Status() == DeliveryStatuses.Delivered), TimeSpan.FromSeconds(90));
            Assert.Equal([Channels.Sms, Channels.WhatsApp], deliveries.Select(d => d.Channel()).Order());
        }

        // Exactly once in effect: one provider message per delivery, none twice.
        Assert.Equal(Messages * 2, await AcceptedAsync(redis));
        foreach (var messageId in messageIds)
        {
            foreach (var channel in new[] { Channels.WhatsApp, Channels.Sms })
            {
                Assert.True(await redis.GetDatabase().KeyExistsAsync(SimulatorKeys.Sent(_prefix, channel, DeliveryRecord.IdOf(messageId, bob.UserId, channel))));
            }
        }
    }

    private async Task<long> AcceptedAsync(ConnectionMultiplexer redis)
    {
        var db = redis.GetDatabase();
        return ((long?)await db.StringGetAsync(SimulatorKeys.Accepted(_prefix, Channels.WhatsApp)) ?? 0) +
            ((long?)await db.StringGetAsync(SimulatorKeys.Accepted(_prefix, Channels.Sms)) ?? 0);
    }
}
