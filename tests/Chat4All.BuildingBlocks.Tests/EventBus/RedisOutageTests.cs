namespace Chat4All.BuildingBlocks.Tests.EventBus;

/// <summary>Runs against a private redis-server that the test stops and starts; the shared one is never disturbed.</summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    private readonly RedisServerProcess _server = new();

    public Task InitializeAsync() => _server.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task PublishFailsWhileRedisIsDownAndConsumingResumesWhenItReturns()
    {
        var deliveries = new Deliveries();
        // Short client timeouts so "down" is detected in about a second, not the default five.
        var connectionString = _server.ConnectionString + ",connectTimeout=1000,asyncTimeout=1000,syncTimeout=1000";
        await using var host = await BusHost.StartAsync(connectionString, "outage", deliveries, "instance-a");

        // The client connects in the background; on a loaded machine the first second can pass first.
        var beforeOutage = BusHost.NewEvent("conversation-1");
        await PublishWhenConnectedAsync(host, beforeOutage);
        await deliveries.WaitUntilAsync(calls => calls.Any(c => c.Event.Id == beforeOutage.Id));

        await _server.StopAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => host.Bus.PublishAsync(BusHost.NewEvent("conversation-1"), CancellationToken.None));

        // The server comes back empty (no persistence): streams, groups and leases are all gone, and
        // the consumer has to rebuild them by itself. Publishing succeeds once the client reconnected.
        await _server.StartAsync();
        var afterOutage = BusHost.NewEvent("conversation-1");
        await PublishWhenConnectedAsync(host, afterOutage);

        await deliveries.WaitUntilAsync(calls => calls.Any(c => c.Event.Id == afterOutage.Id));
        Assert.Equal(1, deliveries.Calls.Count(c => c.Event.Id == afterOutage.Id));
    }

    private static async Task PublishWhenConnectedAsync(BusHost host, Chat4All.BuildingBlocks.EventBus.IntegrationEvent integrationEvent)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await host.Bus.PublishAsync(integrationEvent, CancellationToken.None);
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                // callers (the outbox relay) retry exactly like this
                await Task.Delay(100);
            }
        }
    }
}
