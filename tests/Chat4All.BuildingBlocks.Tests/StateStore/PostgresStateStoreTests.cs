using System.Diagnostics;
using System.Text.Json;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Tests.StateStore;

/// <summary>
/// The standalone state store against a real PostgreSQL: values, ETags and conditions, and the
/// outbox rows that commit (or not) with them. Each test works on keys of its own.
/// </summary>
public sealed class PostgresStateStoreTests(StateDatabase database) : IClassFixture<StateDatabase>, IDisposable
{
    private static readonly string Topic = Topics.MessageStatusChanged;
    private readonly OutboxSignal _signal = new();
    private readonly string _prefix = "t-" + Guid.NewGuid().ToString("N")[..8] + ":";

    public void Dispose() => _signal.Dispose();

    [Fact]
    public async Task AnUpsertedRecordReadsBackWithItsValueAndAnETagThatChangesOnEveryWrite()
    {
        var key = Key("delivery");
        var record = new DeliveryRecord(Guid.NewGuid(), "whatsapp", "sent", 1);

        await ExecuteAsync([new StateUpsert(key, record)]);
        var first = await GetAsync<DeliveryRecord>(key);
        await ExecuteAsync([new StateUpsert(key, record with { Status = "delivered" }, first!.ETag)]);
        var second = await GetAsync<DeliveryRecord>(key);

        Assert.Equal(record, first.Value);
        Assert.Equal(record with { Status = "delivered" }, second!.Value);
        Assert.True(long.TryParse(first.ETag, out _), first.ETag);
        Assert.NotEqual(first.ETag, second.ETag);
        // Stored as snake_case jsonb, the same bytes the dapr runtime keeps.
        await using var db = Open();
        var stored = await db.Database.SqlQueryRaw<string>(
            "SELECT value::text AS \"Value\" FROM statetest.state WHERE key = {0}", key).SingleAsync();
        Assert.Equal(record.MessageId, JsonDocument.Parse(stored).RootElement.GetProperty("message_id").GetGuid());
    }

    [Fact]
    public async Task GetOfAMissingKeyReturnsNull() =>
        Assert.Null(await GetAsync<DeliveryRecord>(Key("missing")));

    [Fact]
    public async Task GetManyReturnsOnlyTheKeysThatExistInOneQuery()
    {
        var (a, b) = (Key("a"), Key("b"));
        await ExecuteAsync([new StateUpsert(a, Record("sent")), new StateUpsert(b, Record("read"))]);
        var log = new CommandLog();
        await using var db = StateTestDbContext.Open(database.ConnectionString, log);

        var items = await Store(db).GetManyAsync<DeliveryRecord>([a, Key("missing"), b, a], CancellationToken.None);

        Assert.Equal([a, b], items.Select(i => i.Key).Order(StringComparer.Ordinal));
        Assert.Equal("read", items.Single(i => i.Key == b).Value.Status);
        var query = Assert.Single(log.Commands);
        Assert.Contains("= ANY (", query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStaleETagThrowsAndTheWholeTransactionIncludingItsEventIsRolledBack()
    {
        var (a, b) = (Key("a"), Key("b"));
        await ExecuteAsync([new StateUpsert(a, Record("sent")), new StateUpsert(b, Record("sent"))]);
        var before = (await GetAsync<DeliveryRecord>(a))!;
        var stale = (await GetAsync<DeliveryRecord>(b))!.ETag;
        await ExecuteAsync([new StateUpsert(b, Record("delivered"), stale)]);
        var outboxBefore = (await OutboxAsync()).Count;

        // The first upsert applies, the second's ETag is stale: neither, nor the event, may stay.
        await Assert.ThrowsAsync<StateConcurrencyException>(() => ExecuteAsync(
            [new StateUpsert(a, Record("read")), new StateUpsert(b, Record("read"), stale)],
            [Event(a, "read")]));

        Assert.Equal(before, await GetAsync<DeliveryRecord>(a));
        Assert.Equal("delivered", (await GetAsync<DeliveryRecord>(b))!.Value.Status);
        Assert.Equal(outboxBefore, (await OutboxAsync()).Count);
    }

    [Fact]
    public async Task ABatchOfManyConditionalWritesCommitsEveryWriteAndEventOrNoneWhenOneETagIsStale()
    {
        var keys = Enumerable.Range(0, 64).Select(i => Key("batch-" + i)).ToList();
        await ExecuteAsync([.. keys.Select(k => new StateUpsert(k, Record("pending")))]);
        var current = new List<StateItem<DeliveryRecord>>();
        foreach (var key in keys)
        {
            current.Add((await GetAsync<DeliveryRecord>(key))!);
        }

        var outboxBefore = (await OutboxAsync()).Count;
        // One record moves on first: the batch that still carries its old ETag writes nothing at all.
        await ExecuteAsync([new StateUpsert(keys[40], Record("delivered"), current[40].ETag)]);
        await Assert.ThrowsAsync<StateConcurrencyException>(() => ExecuteAsync(
            [.. current.Select(i => new StateUpsert(i.Key, Record("sent"), i.ETag))], [.. keys.Select(k => Event(k, "sent"))]));
        Assert.Equal("pending", (await GetAsync<DeliveryRecord>(keys[0]))!.Value.Status);
        Assert.Equal(outboxBefore + 1, (await OutboxAsync()).Count);

        // Without the moved record, the other 63 writes and their events land together.
        var rest = current.Where(i => i.Key != keys[40]).ToList();
        await ExecuteAsync([.. rest.Select(i => new StateUpsert(i.Key, Record("sent"), i.ETag))], [.. rest.Select(i => Event(i.Key, "sent"))]);
        foreach (var item in rest)
        {
            Assert.Equal("sent", (await GetAsync<DeliveryRecord>(item.Key))!.Value.Status);
        }

        Assert.Equal("delivered", (await GetAsync<DeliveryRecord>(keys[40]))!.Value.Status);
        Assert.Equal(outboxBefore + 1 + rest.Count, (await OutboxAsync()).Count);
    }

    [Fact]
    public async Task AnETagThisStoreNeverIssuedIsAConflict()
    {
        var key = Key("k");
        await ExecuteAsync([new StateUpsert(key, Record("sent"))]);

        await Assert.ThrowsAsync<StateConcurrencyException>(() => ExecuteAsync([new StateUpsert(key, Record("read"), "not-an-etag")]));
        await Assert.ThrowsAsync<StateConcurrencyException>(() => ExecuteAsync([new StateUpsert(Key("absent"), Record("read"), "1")]));
    }

    [Fact]
    public async Task OnlyIfAbsentWritesANewKeyAndConflictsWhenTheKeyExists()
    {
        var key = Key("first");

        await ExecuteAsync([new StateUpsert(key, Record("sent"), OnlyIfAbsent: true)], [Event(key, "sent")]);
        await Assert.ThrowsAsync<StateConcurrencyException>(() =>
            ExecuteAsync([new StateUpsert(key, Record("read"), OnlyIfAbsent: true)], [Event(key, "read")]));

        Assert.Equal("sent", (await GetAsync<DeliveryRecord>(key))!.Value.Status);
        Assert.Equal(["sent"], (await OutboxAsync()).Select(m => JsonDocument.Parse(m.Payload).RootElement.GetProperty("new_status").GetString()));
    }

    [Fact]
    public async Task DeleteWithAStaleETagConflictsAndWithTheCurrentOneRemovesTheKey()
    {
        var key = Key("gone");
        await ExecuteAsync([new StateUpsert(key, Record("sent"))]);
        var stale = (await GetAsync<DeliveryRecord>(key))!.ETag;
        await ExecuteAsync([new StateUpsert(key, Record("delivered"))]);
        var current = (await GetAsync<DeliveryRecord>(key))!.ETag;

        await Assert.ThrowsAsync<StateConcurrencyException>(() => ExecuteAsync([new StateDelete(key, stale)]));
        Assert.NotNull(await GetAsync<DeliveryRecord>(key));

        await ExecuteAsync([new StateDelete(key, current)]);
        Assert.Null(await GetAsync<DeliveryRecord>(key));
        await ExecuteAsync([new StateDelete(key)]); // unconditioned: deleting what is not there is fine
        await Assert.ThrowsAsync<StateConcurrencyException>(() => ExecuteAsync([new StateDelete(key, current)]));
    }

    [Fact]
    public async Task EventsLandInTheOutboxWithTheirIdTopicTypePartitionKeyBucketPayloadAndTraceParent()
    {
        var (a, b) = (Key("a"), Key("b"));
        var sent = Event(a, "sent");
        var read = Event(b, "read");
        using var activity = new Activity("state-write").SetIdFormat(ActivityIdFormat.W3C).Start();

        await ExecuteAsync([new StateUpsert(a, Record("sent")), new StateUpsert(b, Record("read")), new StateDelete(Key("other"))], [sent, read]);

        var rows = await OutboxAsync();
        Assert.Equal([sent.EventId, read.EventId], rows.Select(r => r.EventId));
        foreach (var (row, expected) in rows.Zip([sent, read]))
        {
            Assert.Equal(Topic, row.Topic);
            Assert.Equal(nameof(DeliveryStatusChanged), row.Type);
            Assert.Equal(expected.PartitionKey, row.PartitionKey);
            Assert.Equal(OutboxWriter.BucketOf(expected.PartitionKey), row.Bucket);
            Assert.Equal(JsonDocument.Parse(expected.Data).RootElement.GetProperty("new_status").GetString(),
                JsonDocument.Parse(row.Payload).RootElement.GetProperty("new_status").GetString());
            Assert.Equal(activity.Id, row.TraceParent);
            Assert.Null(row.PublishedAt);
            Assert.Equal(row.CreatedAt, row.NextAttemptAt);
        }
    }

    [Fact]
    public async Task AnEventWithoutAnUpsertOfItsKeyIsRefusedAndNothingIsWritten()
    {
        var (a, b) = (Key("a"), Key("b"));

        await Assert.ThrowsAsync<ArgumentException>(() => ExecuteAsync([new StateUpsert(a, Record("sent")), new StateDelete(b)], [Event(b, "sent")]));
        await Assert.ThrowsAsync<ArgumentException>(() => ExecuteAsync([new StateUpsert(a, Record("sent"))], [Event(a, "sent"), Event(a, "read")]));

        Assert.Null(await GetAsync<DeliveryRecord>(a));
        Assert.Empty(await OutboxAsync());
    }

    [Fact]
    public async Task QueryFindsTheItemsWhoseFieldHasTheValueUpToTheLimit()
    {
        var (a, b, c) = (Key("q-a"), Key("q-b"), Key("q-c"));
        var channel = "channel-" + Key("q");
        await ExecuteAsync([
            new StateUpsert(a, Record("pending") with { Channel = channel }),
            new StateUpsert(b, Record("sent") with { Channel = channel }),
            new StateUpsert(c, Record("pending") with { Channel = channel }),
        ]);

        await using var db = Open();
        var pending = await Store(db).QueryAsync<DeliveryRecord>("channel", channel, 10, CancellationToken.None);
        var one = await Store(db).QueryAsync<DeliveryRecord>("channel", channel, 1, CancellationToken.None);
        var none = await Store(db).QueryAsync<DeliveryRecord>("channel", "no-such-channel", 10, CancellationToken.None);

        Assert.Equal([a, b, c], pending.Select(i => i.Key).Order());
        Assert.Equal(["pending", "sent", "pending"], pending.OrderBy(i => i.Key).Select(i => i.Value.Status));
        Assert.Single(one);
        Assert.Empty(none);
    }

    [Fact]
    public async Task AnUpsertWithoutAnEventIsRefusedAndNothingIsWritten()
    {
        var (a, b) = (Key("silent-a"), Key("silent-b"));
        await using var db = Open();

        await Assert.ThrowsAsync<ArgumentException>(() =>
            Store(db).ExecuteAsync([new StateUpsert(a, Record("sent")), new StateUpsert(b, Record("sent"))], [Event(a, "sent")], CancellationToken.None));

        Assert.Null(await GetAsync<DeliveryRecord>(a));
        Assert.Null(await GetAsync<DeliveryRecord>(b));
    }

    [Fact]
    public async Task AnEventForAnotherTopicThanTheOutboxTopicIsRefusedAsInTheDaprRuntime()
    {
        var key = Key("k");

        await Assert.ThrowsAsync<InvalidOperationException>(() => ExecuteAsync([new StateUpsert(key, Record("sent"))],
            [StateEvent.Create(key, Topics.MessageCreated, _prefix + "conversation", new DeliveryStatusChanged(Guid.NewGuid(), "sms", "sent"), DateTimeOffset.UtcNow)]));

        Assert.Null(await GetAsync<DeliveryRecord>(key));
    }

    private string Key(string name) => _prefix + name;

    private static DeliveryRecord Record(string status) => new(Guid.Parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"), "whatsapp", status, 1);

    private StateEvent Event(string key, string status) =>
        StateEvent.Create(key, Topic, _prefix + "conversation", new DeliveryStatusChanged(Guid.NewGuid(), "whatsapp", status), DateTimeOffset.UtcNow);

    private StateTestDbContext Open() => StateTestDbContext.Open(database.ConnectionString);

    private PostgresStateStore<StateTestDbContext> Store(StateTestDbContext db) =>
        new PostgresStateStore<StateTestDbContext>(db, _signal, TimeProvider.System, Options.Create(new StateStoreOptions()));

    /// <summary>Every upsert must carry an event; the ones a test does not care about get a generic one.</summary>
    private async Task ExecuteAsync(IReadOnlyList<StateOperation> operations, IReadOnlyList<StateEvent>? events = null)
    {
        var all = (events ?? []).ToList();
        all.AddRange(operations.OfType<StateUpsert>().Where(u => all.All(e => e.Key != u.Key)).Select(u => Event(u.Key, "accepted")));
        await using var db = Open();
        await Store(db).ExecuteAsync(operations, all, CancellationToken.None);
    }

    private async Task<StateItem<T>?> GetAsync<T>(string key)
    {
        await using var db = Open();
        return await Store(db).GetAsync<T>(key, CancellationToken.None);
    }

    private async Task<List<OutboxMessage>> OutboxAsync()
    {
        await using var db = Open();
        return await db.Set<OutboxMessage>().AsNoTracking()
            .Where(m => m.PartitionKey == _prefix + "conversation").OrderBy(m => m.Position).ToListAsync();
    }
}
