using System.Globalization;
using Chat4All.BuildingBlocks.Hosting;
using Chat4All.BuildingBlocks.Retention;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// Streams do not grow forever: entries every consumer group of a stream has acknowledged, and that
/// are older than the rule's age, are trimmed (<c>XTRIM MINID</c>). The floor of a group is its
/// oldest pending entry, or the entry after the last one it read; a stream's floor is the lowest of
/// its groups' floors and of the age cutoff. A stream no group reads yet is left alone, and so are
/// dead-letter streams (they are not consumer streams). Each process trims the streams of the topics
/// it consumes; standalone runtime only (Kafka retention is the broker's).
/// </summary>
internal static class ConsumedStreamTrimming
{
    public static RetentionRule Rule { get; } = new(RetentionRules.ConsumedStreamEntries, async (services, cutoff, _, cancellationToken) =>
    {
        if (services.GetRequiredService<IOptions<Chat4AllOptions>>().Value.Runtime is Chat4AllRuntime.Dapr)
        {
            return 0;
        }

        var settings = services.GetRequiredService<IOptions<EventBusOptions>>().Value;
        var database = services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var streams = services.GetServices<EventSubscription>()
            .Select(s => s.Topic).Distinct(StringComparer.Ordinal)
            .SelectMany(topic => Enumerable.Range(0, settings.Shards).Select(shard => RedisStreamKeys.Stream(settings.KeyPrefix, topic, shard)));
        long trimmed = 0;
        foreach (var stream in streams)
        {
            cancellationToken.ThrowIfCancellationRequested();
            trimmed += await TrimAsync(database, stream, new StreamId(cutoff.ToUnixTimeMilliseconds(), 0));
        }

        return (int)Math.Min(trimmed, int.MaxValue);
    });

    private static async Task<long> TrimAsync(IDatabase database, string stream, StreamId floor)
    {
        if (!await database.KeyExistsAsync(stream))
        {
            return 0;
        }

        var groups = await database.StreamGroupInfoAsync(stream);
        if (groups.Length == 0)
        {
            return 0;
        }

        foreach (var group in groups)
        {
            var needed = StreamId.Parse(group.LastDeliveredId).Next();
            if (group.PendingMessageCount > 0)
            {
                var pending = await database.StreamPendingAsync(stream, group.Name);
                needed = StreamId.Min(needed, StreamId.Parse(pending.LowestPendingMessageId));
            }

            floor = StreamId.Min(floor, needed);
        }

        return (long)await database.ExecuteAsync("XTRIM", stream, "MINID", floor.ToString());
    }

    /// <summary>A stream entry id, <c>ms-seq</c>, compared numerically.</summary>
    private readonly record struct StreamId(long Milliseconds, long Sequence)
    {
        public static StreamId Parse(RedisValue id)
        {
            var text = id.IsNullOrEmpty ? "0-0" : id.ToString();
            var dash = text.IndexOf('-', StringComparison.Ordinal);
            return dash < 0
                ? new StreamId(long.Parse(text, CultureInfo.InvariantCulture), 0)
                : new StreamId(long.Parse(text.AsSpan(0, dash), CultureInfo.InvariantCulture), long.Parse(text.AsSpan(dash + 1), CultureInfo.InvariantCulture));
        }

        public static StreamId Min(StreamId a, StreamId b) =>
            a.Milliseconds < b.Milliseconds || (a.Milliseconds == b.Milliseconds && a.Sequence <= b.Sequence) ? a : b;

        public StreamId Next() => new(Milliseconds, Sequence + 1);

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Milliseconds}-{Sequence}");
    }
}
