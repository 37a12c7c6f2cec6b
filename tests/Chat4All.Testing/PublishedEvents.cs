using System.Text.Json;
using StackExchange.Redis;

namespace Chat4All.Testing;

/// <summary>Reads what actually reached the standalone broker (Redis Streams), as any consumer would see it.</summary>
public static class PublishedEvents
{
    public static async Task<List<JsonElement>> ReadAsync(string redis, string prefix, string topic, Func<JsonElement, bool> filter)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis);
        var db = connection.GetDatabase();
        var events = new List<JsonElement>();
        for (var shard = 0; shard < 8; shard++)
        {
            foreach (var entry in await db.StreamRangeAsync($"{prefix}:stream:{topic}:{shard}"))
            {
                var data = JsonDocument.Parse((string)entry["data"]!).RootElement;
                if (filter(data))
                {
                    events.Add(data);
                }
            }
        }

        return events;
    }

    /// <summary>Polls until <paramref name="count"/> matching events are there (or 30 s pass) and returns them in stream order.</summary>
    public static async Task<List<JsonElement>> WaitForAsync(string redis, string prefix, string topic, int count, Func<JsonElement, bool> filter)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var events = await ReadAsync(redis, prefix, topic, filter);
            if (events.Count >= count || DateTime.UtcNow > deadline)
            {
                return events;
            }

            await Task.Delay(100);
        }
    }
}
