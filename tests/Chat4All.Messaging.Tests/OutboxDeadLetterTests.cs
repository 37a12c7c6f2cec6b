using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Chat4All.Messaging.Tests;

/// <summary>
/// A poison event — one the broker refuses every time while everything else goes through — ends in
/// <c>message_processing_dlq</c> with its error after the retries, and the conversation moves on.
/// </summary>
public sealed class OutboxDeadLetterTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _data = new();
    private readonly string _prefix = "c4a-dlq-" + Guid.NewGuid().ToString("N")[..8];
    private TestDatabase _database = null!;
    private Chat4AllHost _host = null!;
    private string _redis = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _redis = await TestInfrastructure.RedisConnectionStringAsync();
        _host = await new Chat4AllHost(_database.ConnectionString, _redis, _data.Path, new Dictionary<string, string?>
        {
            ["Chat4All:RateLimiting:Enabled"] = "false",
            ["Chat4All:EventBus:KeyPrefix"] = _prefix,
            ["Chat4All:Outbox:InitialRetryDelay"] = "00:00:00.100",
        }, services =>
        {
            var real = services.Single(d => d.ServiceType == typeof(IEventBus));
            services.Remove(real);
            services.AddSingleton<IEventBus>(sp => new RefusesPoison((IEventBus)(real.ImplementationFactory?.Invoke(sp)
                ?? ActivatorUtilities.CreateInstance(sp, real.ImplementationType!))));
        }).StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _database.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task APoisonEventIsDeadLetteredWithItsErrorAfterTheRetriesAndLaterEventsFollow()
    {
        using var pair = await _host.CreatePairAsync();
        var (client, conversationId) = (pair.AsAlice, pair.ConversationId);

        await client.SendAndGetSeqAsync(conversationId, "before");
        await client.SendAndGetSeqAsync(conversationId, RefusesPoison.Marker);
        await client.SendAndGetSeqAsync(conversationId, "after");

        var letters = await PublishedEvents.WaitForAsync(_redis, _prefix, Topics.MessageProcessingDeadLetter, 1,
            e => e.GetProperty("partition_key").GetString() == conversationId.ToString());
        var letter = Assert.Single(letters);
        Assert.Equal(Topics.MessageCreated, letter.GetProperty("topic").GetString());
        Assert.Equal(4, letter.GetProperty("attempts").GetInt32());
        Assert.Contains("refused", letter.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(RefusesPoison.Marker, letter.GetProperty("payload").GetProperty("payload").GetProperty("text").GetString());

        var created = await PublishedEvents.WaitForAsync(_redis, _prefix, Topics.MessageCreated, 2,
            e => e.GetProperty("conversation_id").GetGuid() == conversationId);
        Assert.Equal(["before", "after"], created.Select(e => e.GetProperty("payload").GetProperty("text").GetString()));
    }

    /// <summary>The real broker, except that it refuses one marked event — as a broker refuses an oversized or malformed one.</summary>
    private sealed class RefusesPoison(IEventBus inner) : IEventBus
    {
        public const string Marker = "poison";

        public Task PublishAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken)
        {
            if (integrationEvent.Topic == Topics.MessageCreated &&
                JsonDocument.Parse(integrationEvent.Data).RootElement.GetProperty("payload").GetProperty("text").GetString() == Marker)
            {
                throw new InvalidOperationException("The broker refused this event.");
            }

            return inner.PublishAsync(integrationEvent, cancellationToken);
        }
    }
}
