using System.Text.Json;
using Npgsql;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Chat4All.Realtime.Tests;

/// <summary>
/// The live fan-out (Redis pub/sub) is at most once: a frame published while an instance's
/// subscription is being re-established is lost. The server repairs that itself from the message
/// log, so a client that never resumes still sees every seq in order. The loss is made exactly: a
/// message is logged as realtime's consumer logs it, and its frame is never published.
/// </summary>
public sealed class FanoutGapRepairTests(FanoutGapRepairTests.Platform platform) : IClassFixture<FanoutGapRepairTests.Platform>
{
    [Fact]
    public async Task AFrameLostOnTheFanOutIsReplayedFromTheLogBeforeTheFrameAfterIt()
    {
        var (bob, conversationId, socket) = await ConversationWithOneLiveFrameAsync();
        await using var _ = socket;

        await platform.LogWithoutPublishingAsync(conversationId, 2);
        await platform.LogWithoutPublishingAsync(conversationId, 3);
        await platform.PublishAsync(bob.Id, conversationId, 3); // seq 2's frame never came

        var frames = await socket.DrainAsync(TimeSpan.FromSeconds(2));
        Assert.Equal([2L, 3], Seqs(frames));
        Assert.DoesNotContain(frames, f => f.GetProperty("type").GetString() is "resumed" or "error");
    }

    [Fact]
    public async Task FramesLostWhileTheFanOutWasDisconnectedArriveWhenItReconnectsWithNoLaterFrame()
    {
        var (_, conversationId, socket) = await ConversationWithOneLiveFrameAsync();
        await using var __ = socket;

        await platform.LogWithoutPublishingAsync(conversationId, 2); // published while the subscription was down
        await platform.KillFanoutSubscriptionAsync();

        var frame = await socket.NextAsync("message.created", d => d.GetProperty("conversation_id").GetGuid() == conversationId,
            TimeSpan.FromSeconds(15));
        Assert.Equal(2, frame.GetProperty("data").GetProperty("seq").GetInt64());
    }

    private async Task<(Member Bob, Guid ConversationId, WsClient Socket)> ConversationWithOneLiveFrameAsync()
    {
        using var alice = await platform.CreateMemberAsync();
        var bob = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);
        var socket = await bob.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");
        await alice.SendAsync(conversationId, "one");
        var first = await socket.NextAsync("message.created", d => d.GetProperty("conversation_id").GetGuid() == conversationId);
        Assert.Equal(1, first.GetProperty("data").GetProperty("seq").GetInt64());
        return (bob, conversationId, socket);
    }

    private static List<long> Seqs(IEnumerable<JsonElement> frames) =>
        [.. frames.Where(f => f.GetProperty("type").GetString() == "message.created").Select(f => f.GetProperty("data").GetProperty("seq").GetInt64())];

    /// <summary>The platform with a Redis client name of its own, so a test can cut exactly this host's subscription.</summary>
    public sealed class Platform : RealtimePlatform
    {
        private readonly string _clientName = "c4a-gap-" + Guid.NewGuid().ToString("N")[..8];

        public override async Task InitializeAsync()
        {
            ExtraSettings["ConnectionStrings:Redis"] = await TestInfrastructure.RedisConnectionStringAsync() + ",name=" + _clientName;
            await base.InitializeAsync();
        }

        /// <summary>Logs a message at <paramref name="seq"/> as realtime's consumer does, without publishing its frame.</summary>
        public async Task LogWithoutPublishingAsync(Guid conversationId, long seq)
        {
            await using var connection = new NpgsqlConnection(Database.ConnectionString);
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand(
                "INSERT INTO realtime.message_log (conversation_id, seq, message_id, data, created_at) VALUES (@c, @s, @m, @d::jsonb, now())", connection);
            var messageId = Guid.CreateVersion7();
            insert.Parameters.AddWithValue("c", conversationId);
            insert.Parameters.AddWithValue("s", seq);
            insert.Parameters.AddWithValue("m", messageId);
            insert.Parameters.AddWithValue("d", FrameData(messageId, conversationId, seq));
            await insert.ExecuteNonQueryAsync();
        }

        /// <summary>Publishes a message frame to <paramref name="userId"/>'s fan-out channel, as realtime's consumer does.</summary>
        public async Task PublishAsync(Guid userId, Guid conversationId, long seq)
        {
            var frame = $$"""{"type":"message.created","data":{{FrameData(Guid.CreateVersion7(), conversationId, seq)}},"ts":"{{DateTimeOffset.UtcNow:O}}"}""";
            var envelope = JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["f"] = frame, ["c"] = conversationId, ["s"] = seq, ["t"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            });
            var redis = Host.Services.GetRequiredService<IConnectionMultiplexer>();
            var receivers = await redis.GetSubscriber().PublishAsync(RedisChannel.Literal($"{EventBusPrefix}:rt:user:{userId:N}"), envelope);
            Assert.Equal(1, receivers);
        }

        /// <summary>Closes this host's pub/sub connection on the Redis side; the client library reconnects and re-subscribes.</summary>
        public async Task KillFanoutSubscriptionAsync()
        {
            await using var admin = await ConnectionMultiplexer.ConnectAsync(await TestInfrastructure.RedisConnectionStringAsync() + ",allowAdmin=true");
            var server = admin.GetServers()[0];
            var clients = await server.ClientListAsync();
            var ours = clients.Where(c => c.Name == _clientName && c.ClientType == ClientType.PubSub).ToList();
            Assert.NotEmpty(ours);
            foreach (var client in ours)
            {
                await server.ClientKillAsync(client.Id, clientType: ClientType.PubSub);
            }
        }

        private static string FrameData(Guid messageId, Guid conversationId, long seq) => JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["message_id"] = messageId, ["conversation_id"] = conversationId, ["seq"] = seq, ["sender_id"] = Guid.Empty,
            ["payload"] = new Dictionary<string, object?> { ["type"] = "text", ["text"] = $"logged {seq}" }, ["channels"] = new[] { "all" },
            ["status"] = "accepted", ["created_at"] = DateTimeOffset.UtcNow,
        });
    }
}
