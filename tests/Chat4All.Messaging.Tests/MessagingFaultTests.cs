using System.Collections.Concurrent;
using System.Net;
using Chat4All.Contracts;

namespace Chat4All.Messaging.Tests;

/// <summary>
/// Accepted messages survive the broker going away and the host being killed. These run against a
/// private Redis (stopped mid-test) and the real host binary (SIGKILLed mid-stream).
/// </summary>
public sealed class MessagingFaultTests : IAsyncLifetime
{
    private readonly RedisServerProcess _redis = new();
    private readonly TemporaryDirectory _data = new();
    private readonly string _prefix = "c4a-fault-" + Guid.NewGuid().ToString("N")[..8];
    private TestDatabase _database = null!;

    public async Task InitializeAsync()
    {
        await _redis.StartAsync();
        _database = await TestDatabase.CreateAsync();
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _database.DisposeAsync();
        _data.Dispose();
    }

    private Dictionary<string, string?> Settings => new()
    {
        ["Chat4All:RateLimiting:Enabled"] = "false",
        ["Chat4All:EventBus:KeyPrefix"] = _prefix,
        ["Chat4All:Outbox:InitialRetryDelay"] = "00:00:00.200",
        ["Chat4All:Outbox:MaxRetryDelay"] = "00:00:01",
    };

    [Fact]
    public async Task MessagesAcceptedWhileRedisIsDownArePublishedInSeqOrderWhenItReturns()
    {
        await using var host = await new Chat4AllHost(_database.ConnectionString, _redis.ConnectionString, _data.Path, Settings).StartAsync();
        using var pair = await host.CreatePairAsync();
        var (asAlice, conversationId) = (pair.AsAlice, pair.ConversationId);

        await _redis.StopAsync();
        for (var i = 1; i <= 50; i++)
        {
            Assert.Equal(i, await asAlice.SendAndGetSeqAsync(conversationId, $"while down {i}"));
        }

        await _redis.StartAsync();

        var events = await PublishedEvents.WaitForAsync(_redis.ConnectionString, _prefix, Topics.MessageCreated, 50,
            e => e.GetProperty("conversation_id").GetGuid() == conversationId);
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), events.Select(e => e.GetProperty("seq").GetInt64()));
    }

    [Fact]
    public async Task NoAcceptedMessageIsLostWhenTheHostIsKilledMidStream()
    {
        var environment = HostProcess.Environment(_database.ConnectionString, _redis.ConnectionString, _data.Path, _prefix);
        foreach (var (key, value) in Settings)
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value!;
        }

        Assert.Equal(0, (await HostProcess.RunAsync(environment, "migrate")).ExitCode);
        var alice = await HostProcess.CreateUserAsync(environment);
        var bob = await HostProcess.CreateUserAsync(environment);
        var accepted = new ConcurrentBag<Guid>();
        Guid conversationId;

        using (var first = HostProcess.Start(environment, "--urls", HostProcess.AnyLoopbackPort))
        {
            using var asAlice = await first.CreateAuthenticatedClientAsync(alice);
            conversationId = await asAlice.CreateConversationAsync("private", bob.UserId);

            // Four senders stream messages; the host dies under them.
            using var stop = new CancellationTokenSource();
            var senders = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested && i < 10_000; i++)
                {
                    try
                    {
                        using var response = await asAlice.SendTextAsync(conversationId, $"w{w}-{i}");
                        if (response.StatusCode == HttpStatusCode.Accepted)
                        {
                            accepted.Add((await response.ReadJsonAsync()).GetProperty("message_id").GetGuid());
                        }
                    }
                    catch (HttpRequestException)
                    {
                        return; // the host is gone
                    }
                }
            })).ToList();
            while (accepted.Count < 100)
            {
                await Task.Delay(10);
            }

            first.Kill();
            await stop.CancelAsync();
            await Task.WhenAll(senders);
        }

        using var second = HostProcess.Start(environment, "--urls", HostProcess.AnyLoopbackPort);
        using var client = await second.CreateAuthenticatedClientAsync(alice);
        var stored = new HashSet<Guid>();
        var cursorPath = $"/v1/conversations/{conversationId}/messages?after_seq=0&limit=100";
        while (cursorPath is not null)
        {
            var page = await client.GetJsonAsync(cursorPath);
            stored.UnionWith(page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("message_id").GetGuid()));
            cursorPath = page.GetProperty("has_more").GetBoolean()
                ? $"/v1/conversations/{conversationId}/messages?limit=100&cursor={page.GetProperty("next_cursor").GetString()}"
                : null;
        }

        Assert.Superset(accepted.ToHashSet(), stored);
        var published = await PublishedEvents.WaitForAsync(_redis.ConnectionString, _prefix, Topics.MessageCreated, stored.Count,
            e => e.GetProperty("conversation_id").GetGuid() == conversationId);
        Assert.Superset(stored, published.Select(e => e.GetProperty("message_id").GetGuid()).ToHashSet());
    }
}
