using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>An event a consumer group gave up on, with why and after how many attempts.</summary>
/// <param name="EntryId">Id of the entry in the dead-letter stream.</param>
/// <param name="Event">The event as it was published; null when the original entry could not be read as one.</param>
public sealed record DeadLetter(
    string EntryId,
    IntegrationEvent? Event,
    string ConsumerGroup,
    string Error,
    int Attempts,
    DateTimeOffset FailedAt,
    IReadOnlyDictionary<string, string> Fields);

/// <summary>Reads the standalone runtime's dead-letter streams (in the dapr runtime they are broker topics).</summary>
public interface IDeadLetterReader
{
    /// <summary>The oldest <paramref name="count"/> dead letters of <paramref name="topic"/>.</summary>
    Task<IReadOnlyList<DeadLetter>> ReadAsync(string topic, int count, CancellationToken cancellationToken);
}

internal sealed class RedisDeadLetterReader(IConnectionMultiplexer redis, IOptions<EventBusOptions> options) : IDeadLetterReader
{
    public async Task<IReadOnlyList<DeadLetter>> ReadAsync(string topic, int count, CancellationToken cancellationToken)
    {
        var entries = await redis.GetDatabase()
            .StreamRangeAsync(RedisStreamKeys.DeadLetterStream(options.Value.KeyPrefix, topic), count: count)
            .WaitAsync(cancellationToken);
        return [.. entries.Select(entry => ToDeadLetter(topic, entry))];
    }

    private static DeadLetter ToDeadLetter(string topic, StreamEntry entry)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in entry.Values)
        {
            fields.TryAdd(field.Name.ToString(), field.Value.ToString());
        }

        RedisStreamEntries.TryDecode(topic, entry, out var integrationEvent, out _);
        return new DeadLetter(
            entry.Id.ToString(),
            integrationEvent,
            fields.GetValueOrDefault(RedisStreamEntries.ConsumerGroup, string.Empty),
            fields.GetValueOrDefault(RedisStreamEntries.Error, string.Empty),
            int.TryParse(fields.GetValueOrDefault(RedisStreamEntries.Attempts), CultureInfo.InvariantCulture, out var attempts) ? attempts : 0,
            DateTimeOffset.TryParse(fields.GetValueOrDefault(RedisStreamEntries.FailedAt), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var failedAt)
                ? failedAt : DateTimeOffset.MinValue,
            fields);
    }
}
