using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.Tests.EventBus;

public sealed class RedisStreamsDeliveryTests : IAsyncLifetime
{
    private RedisScope _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisScope.CreateAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task PublishedEntryCarriesTheDocumentedFieldsInTheShardStreamOfItsKey()
    {
        var deliveries = new Deliveries();
        await using var host = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-a");
        var published = BusHost.NewEvent("conversation-1", "{\"text\":\"olá\"}", traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

        await host.Bus.PublishAsync(published, CancellationToken.None);

        var entry = Assert.Single(await _redis.Database.StreamRangeAsync(_redis.Stream("conversation-1")));
        var fields = entry.Values.ToDictionary(v => v.Name.ToString(), v => v.Value.ToString());
        Assert.Equal(published.Id.ToString(), fields["id"]);
        Assert.Equal("TestHappened", fields["type"]);
        Assert.Equal("conversation-1", fields["partition_key"]);
        Assert.Equal("{\"text\":\"olá\"}", fields["data"]);
        Assert.Equal(published.OccurredAt, DateTimeOffset.Parse(fields["occurred_at"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(published.TraceParent, fields["traceparent"]);

        await deliveries.WaitUntilAsync(calls => calls.Count == 1);
        Assert.Equal(published, deliveries.Calls[0].Event);
    }

    [Fact]
    public async Task EntryLeftPendingByAConsumerThatDiedIsReclaimedAndHandledByAnotherInstance()
    {
        // A consumer read the entry and died before acknowledging it, still holding the shard's lease.
        var orphan = BusHost.NewEvent("conversation-7");
        var stream = _redis.Stream("conversation-7");
        var shard = RedisStreamKeys.ShardOf("conversation-7", 4);
        await _redis.Database.StreamCreateConsumerGroupAsync(stream, BusHost.Group, StreamPosition.Beginning, createStream: true);
        await _redis.Database.StreamAddAsync(stream, RedisStreamEntries.Encode(orphan));
        var read = await _redis.Database.StreamReadGroupAsync(stream, BusHost.Group, "crashed-consumer", StreamPosition.NewMessages, 10);
        Assert.Single(read);
        await _redis.Database.StringSetAsync(RedisStreamKeys.Lease(_redis.Prefix, BusHost.Group, BusHost.Topic, shard), "crashed-consumer/1", TimeSpan.FromSeconds(1));

        var deliveries = new Deliveries();
        await using var survivor = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "survivor");

        await deliveries.WaitUntilAsync(calls => calls.Count == 1);
        Assert.Equal(orphan, deliveries.Calls[0].Event);
        Assert.Equal("survivor", deliveries.Calls[0].Instance);
        await RedisScope.WaitUntilAsync(async () => (await _redis.Database.StreamPendingAsync(stream, BusHost.Group)).PendingMessageCount == 0);
        // Once its entries were claimed, the dead consumer is removed from the group.
        await RedisScope.WaitUntilAsync(async () =>
            (await _redis.Database.StreamConsumerInfoAsync(stream, BusHost.Group)).All(c => c.Name != "crashed-consumer"));
    }

    [Fact]
    public async Task FailingEventIsRetriedWithBackoffThenDeadLetteredAndLaterEventsOfItsShardGoOn()
    {
        var deliveries = new Deliveries
        {
            Behavior = (e, _) => e.Type == "Poison" ? throw new InvalidOperationException("cannot digest " + e.Id) : Task.CompletedTask,
        };
        await using var host = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-a", new Dictionary<string, string?>
        {
            ["Chat4All:EventBus:Shards"] = "1",
            ["Chat4All:EventBus:MaxDeliveryAttempts"] = "3",
            ["Chat4All:EventBus:InitialRetryDelay"] = "00:00:00.100",
        });
        using var metrics = new BusMetrics(host.Services);
        var before = BusHost.NewEvent("conversation-1");
        var poison = BusHost.NewEvent("conversation-1", type: "Poison");
        var after = BusHost.NewEvent("conversation-2");

        foreach (var e in new[] { before, poison, after })
        {
            await host.Bus.PublishAsync(e, CancellationToken.None);
        }

        await deliveries.WaitUntilAsync(calls => calls.Any(c => c.Event.Id == after.Id));
        var calls = deliveries.Calls;
        Assert.Equal([before.Id, poison.Id, poison.Id, poison.Id, after.Id], calls.Select(c => c.Event.Id));

        // 100 ms then 200 ms (+ up to 10 % jitter) between the attempts: the shard waited each time.
        var attempts = calls.Where(c => c.Event.Id == poison.Id).Select(c => c.At).ToList();
        Assert.InRange((attempts[1] - attempts[0]).TotalMilliseconds, 90, 2000);
        Assert.InRange((attempts[2] - attempts[1]).TotalMilliseconds, 190, 3000);

        var deadLetter = Assert.Single(await host.Services.GetRequiredService<IDeadLetterReader>().ReadAsync(BusHost.Topic, 10, CancellationToken.None));
        Assert.Equal(poison, deadLetter.Event);
        Assert.Equal(BusHost.Group, deadLetter.ConsumerGroup);
        Assert.Equal(3, deadLetter.Attempts);
        Assert.Contains("InvalidOperationException: cannot digest " + poison.Id, deadLetter.Error, StringComparison.Ordinal);
        Assert.Equal(1, await _redis.Database.StreamLengthAsync(RedisStreamKeys.DeadLetterStream(_redis.Prefix, BusHost.Topic)));
        Assert.EndsWith(Topics.DeadLetterOf(BusHost.Topic), RedisStreamKeys.DeadLetterStream(_redis.Prefix, BusHost.Topic), StringComparison.Ordinal);

        // Acknowledged only after dead-lettering (and handling): nothing is left pending.
        await RedisScope.WaitUntilAsync(async () => (await _redis.Database.StreamPendingAsync(_redis.Stream("conversation-1", shards: 1), BusHost.Group)).PendingMessageCount == 0);

        Assert.Equal(3, metrics["chat4all.eventbus.published"]);
        Assert.Equal(2, metrics["chat4all.eventbus.consumed"]);
        Assert.Equal(2, metrics["chat4all.eventbus.retried"]);
        Assert.Equal(1, metrics["chat4all.eventbus.dead_lettered"]);
        Assert.Equal(5, metrics["chat4all.eventbus.handler.duration"]);
    }

    [Fact]
    public async Task APoisonEntryInTheMiddleOfABatchIsDeadLetteredAloneAndEveryOtherEntryOfTheBatchIsHandledOnceInOrder()
    {
        var (host, events, deliveries) = await PublishOneReadBatchWithAPoisonAsync(40, 17, new Dictionary<string, string?>
        {
            ["Chat4All:EventBus:Shards"] = "1",
            ["Chat4All:EventBus:MaxDeliveryAttempts"] = "2",
        });
        await using var _ = host;
        var good = events.Where(e => e.Type != "Poison").Select(e => e.Id).ToList();
        await deliveries.WaitUntilAsync(calls => good.All(id => calls.Any(c => c.Event.Id == id)));
        Assert.Equal(good, deliveries.Calls.Where(c => c.Event.Type != "Poison").Select(c => c.Event.Id));
        Assert.Equal(2, deliveries.Calls.Count(c => c.Event.Type == "Poison"));
        var deadLetter = Assert.Single(await host.Services.GetRequiredService<IDeadLetterReader>().ReadAsync(BusHost.Topic, 10, CancellationToken.None));
        Assert.Equal(events[17], deadLetter.Event);
        await RedisScope.WaitUntilAsync(async () => (await _redis.Database.StreamPendingAsync(_redis.Stream("conversation-0", shards: 1), BusHost.Group)).PendingMessageCount == 0);
    }

    [Fact]
    public async Task WhileAFailingEntryOfAReadBatchIsRetriedTheEntriesBeforeItAreAlreadyAcknowledgedAndRememberedAndTheOnesAfterItFollowOnceInOrder()
    {
        var (host, events, deliveries) = await PublishOneReadBatchWithAPoisonAsync(12, 6, new Dictionary<string, string?>
        {
            ["Chat4All:EventBus:Shards"] = "1",
            ["Chat4All:EventBus:MaxDeliveryAttempts"] = "3",
            ["Chat4All:EventBus:InitialRetryDelay"] = "00:00:02",
        });
        await using var _ = host;
        var stream = _redis.Stream("conversation-0", shards: 1);
        await deliveries.WaitUntilAsync(calls => calls.Any(c => c.Event.Type == "Poison"));

        // During the poison's retry wait: only it and the entries after it are pending, and the ones
        // before it are remembered as handled (a redelivery of them would be skipped).
        await RedisScope.WaitUntilAsync(async () => (await _redis.Database.StreamPendingAsync(stream, BusHost.Group)).PendingMessageCount == 6);
        foreach (var handled in events.Take(6))
        {
            Assert.True(await _redis.Database.KeyExistsAsync(RedisStreamKeys.Processed(_redis.Prefix, BusHost.Group, handled.Id)));
        }

        var good = events.Where(e => e.Type != "Poison").Select(e => e.Id).ToList();
        await deliveries.WaitUntilAsync(calls => good.All(id => calls.Any(c => c.Event.Id == id)), TimeSpan.FromSeconds(30));
        Assert.Equal(good, deliveries.Calls.Where(c => c.Event.Type != "Poison").Select(c => c.Event.Id));
        Assert.Equal(3, deliveries.Calls.Count(c => c.Event.Type == "Poison"));
        var deadLetter = Assert.Single(await host.Services.GetRequiredService<IDeadLetterReader>().ReadAsync(BusHost.Topic, 10, CancellationToken.None));
        Assert.Equal(events[6], deadLetter.Event);
        await RedisScope.WaitUntilAsync(async () => (await _redis.Database.StreamPendingAsync(stream, BusHost.Group)).PendingMessageCount == 0);
        foreach (var handled in good)
        {
            Assert.True(await _redis.Database.KeyExistsAsync(RedisStreamKeys.Processed(_redis.Prefix, BusHost.Group, handled)));
        }
    }

    /// <summary>
    /// Publishes <paramref name="count"/> events on one shard, the one at <paramref name="poisonAt"/> failing on
    /// every attempt. The first event's handler holds the shard until the rest are published, so events
    /// 1.. are read as one batch.
    /// </summary>
    private async Task<(BusHost Host, List<IntegrationEvent> Events, Deliveries Deliveries)> PublishOneReadBatchWithAPoisonAsync(
        int count, int poisonAt, Dictionary<string, string?> settings)
    {
        var events = Enumerable.Range(0, count).Select(i => BusHost.NewEvent("conversation-" + (i % 3), type: i == poisonAt ? "Poison" : "TestHappened")).ToList();
        var published = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var deliveries = new Deliveries
        {
            Behavior = async (e, cancellationToken) =>
            {
                if (e.Id == events[0].Id)
                {
                    await published.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
                }

                if (e.Type == "Poison")
                {
                    throw new InvalidOperationException("poison");
                }
            },
        };
        var host = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-a", settings);
        await host.Bus.PublishAsync(events[0], CancellationToken.None);
        await deliveries.WaitUntilAsync(calls => calls.Count == 1);
        foreach (var e in events.Skip(1))
        {
            await host.Bus.PublishAsync(e, CancellationToken.None);
        }

        published.SetResult();
        return (host, events, deliveries);
    }

    [Fact]
    public async Task TwoCopiesOfOneEventInOneReadBatchAreHandledOnce()
    {
        var first = BusHost.NewEvent("conversation-5");
        var published = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var deliveries = new Deliveries
        {
            Behavior = async (e, cancellationToken) =>
            {
                if (e.Id == first.Id)
                {
                    await published.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
                }
            },
        };
        await using var host = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-a", new Dictionary<string, string?>
        {
            ["Chat4All:EventBus:Shards"] = "1",
        });
        var twice = BusHost.NewEvent("conversation-5");
        var sentinel = BusHost.NewEvent("conversation-5");

        await host.Bus.PublishAsync(first, CancellationToken.None);
        await deliveries.WaitUntilAsync(calls => calls.Count == 1);
        await host.Bus.PublishAsync(twice, CancellationToken.None);
        await host.Bus.PublishAsync(twice, CancellationToken.None);
        await host.Bus.PublishAsync(sentinel, CancellationToken.None);
        published.SetResult();

        await deliveries.WaitUntilAsync(calls => calls.Any(c => c.Event.Id == sentinel.Id));
        Assert.Equal([first.Id, twice.Id, sentinel.Id], deliveries.Calls.Select(c => c.Event.Id));
        await RedisScope.WaitUntilAsync(async () => (await _redis.Database.StreamPendingAsync(_redis.Stream("conversation-5", shards: 1), BusHost.Group)).PendingMessageCount == 0);
    }

    [Fact]
    public async Task ABatchConsumerTakesAReadBatchInOneCallAndAPoisonInItSendsThatBatchOneByOneSoOnlyThePoisonIsDeadLettered()
    {
        var events = Enumerable.Range(0, 40).Select(i => BusHost.NewEvent("conversation-" + (i % 3), type: i == 17 ? "Poison" : "TestHappened")).ToList();
        var clean = Enumerable.Range(0, 20).Select(i => BusHost.NewEvent("conversation-" + (i % 3))).ToList();
        var holds = new Dictionary<Guid, (TaskCompletionSource Holding, TaskCompletionSource Released)>
        {
            [events[0].Id] = (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)),
            [clean[0].Id] = (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)),
        };
        var deliveries = new Deliveries
        {
            Behavior = async (e, cancellationToken) =>
            {
                // A held event keeps the shard busy until the events after it are published, so those are read as one batch.
                if (holds.TryGetValue(e.Id, out var hold))
                {
                    hold.Holding.TrySetResult();
                    await hold.Released.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
                }

                if (e.Type == "Poison")
                {
                    throw new InvalidOperationException("poison");
                }
            },
        };
        await using var host = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-a", new Dictionary<string, string?>
        {
            ["Chat4All:EventBus:Shards"] = "1",
            ["Chat4All:EventBus:MaxDeliveryAttempts"] = "2",
        }, batchConsumer: true);

        foreach (var burst in new[] { events, clean })
        {
            await host.Bus.PublishAsync(burst[0], CancellationToken.None);
            await holds[burst[0].Id].Holding.Task.WaitAsync(TimeSpan.FromSeconds(30));
            foreach (var e in burst.Skip(1))
            {
                await host.Bus.PublishAsync(e, CancellationToken.None);
            }

            holds[burst[0].Id].Released.SetResult();
            var committed = burst.Where(e => e.Type != "Poison").Select(e => e.Id).ToList();
            await deliveries.WaitUntilAsync(calls => committed.All(id => calls.Any(c => c.Event.Id == id)));
        }

        // Committed once each, in publish order; the poison never committed, and was dead-lettered.
        Assert.Equal(events.Concat(clean).Where(e => e.Type != "Poison").Select(e => e.Id), deliveries.Calls.Select(c => c.Event.Id));
        var deadLetter = Assert.Single(await host.Services.GetRequiredService<IDeadLetterReader>().ReadAsync(BusHost.Topic, 10, CancellationToken.None));
        Assert.Equal(events[17], deadLetter.Event);
        // The poison's batch went one by one; the clean burst after it committed as one batch.
        Assert.Equal(clean.Count - 1, deliveries.BatchSizes[^1]);
        await RedisScope.WaitUntilAsync(async () => (await _redis.Database.StreamPendingAsync(_redis.Stream("conversation-0", shards: 1), BusHost.Group)).PendingMessageCount == 0);
    }

    [Fact]
    public async Task APublishedBatchLandsInOneTransactionInItsKeysShardStreamsInOrder()
    {
        var deliveries = new Deliveries();
        await using var host = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-a");
        var events = Enumerable.Range(0, 30).Select(i => BusHost.NewEvent("conversation-batch-" + (i % 3))).ToList();

        await host.Bus.PublishBatchAsync(events, CancellationToken.None);

        await deliveries.WaitUntilAsync(calls => calls.Count == events.Count);
        foreach (var key in events.Select(e => e.PartitionKey).Distinct())
        {
            Assert.Equal(events.Where(e => e.PartitionKey == key).Select(e => e.Id),
                deliveries.Calls.Where(c => c.Event.PartitionKey == key).Select(c => c.Event.Id));
        }

        var lengths = await Task.WhenAll(events.Select(e => _redis.Stream(e.PartitionKey)).Distinct().Select(s => _redis.Database.StreamLengthAsync(s)));
        Assert.Equal(events.Count, lengths.Sum());
    }

    [Fact]
    public async Task SameEventIdPublishedTwiceIsHandledOnce()
    {
        var deliveries = new Deliveries();
        await using var host = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-a");
        var twice = BusHost.NewEvent("conversation-3");
        var sentinel = BusHost.NewEvent("conversation-3");

        await host.Bus.PublishAsync(twice, CancellationToken.None);
        await host.Bus.PublishAsync(twice, CancellationToken.None);
        await host.Bus.PublishAsync(sentinel, CancellationToken.None);

        // Same key, so the sentinel is handled only after both copies were processed.
        await deliveries.WaitUntilAsync(calls => calls.Any(c => c.Event.Id == sentinel.Id));
        Assert.Equal([twice.Id, sentinel.Id], deliveries.Calls.Select(c => c.Event.Id));
        Assert.Equal(3, await _redis.Database.StreamLengthAsync(_redis.Stream("conversation-3")));
        await RedisScope.WaitUntilAsync(async () => (await _redis.Database.StreamPendingAsync(_redis.Stream("conversation-3"), BusHost.Group)).PendingMessageCount == 0);
    }

    [Fact]
    public async Task EachEventIsHandledInADependencyScopeOfItsOwn()
    {
        var deliveries = new Deliveries();
        await using var host = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-a");

        for (var i = 0; i < 3; i++)
        {
            await host.Bus.PublishAsync(BusHost.NewEvent("conversation-4"), CancellationToken.None);
        }

        await deliveries.WaitUntilAsync(calls => calls.Count == 3);
        Assert.Equal(3, deliveries.Calls.Select(c => c.Scope).Distinct().Count());
    }
}
