using System.Text.Json;

namespace Chat4All.Realtime.Tests;

/// <summary>A reconnecting client loses nothing and gets nothing twice.</summary>
public sealed class ResumeTests(RealtimePlatform platform) : IClassFixture<RealtimePlatform>
{
    [Fact]
    public async Task AClientThatMissedThirtyMessagesGetsExactlyThoseInOrderThenLiveOnes()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);
        long lastSeen;
        await using (var first = await bob.ConnectAsync(platform.Host))
        {
            await first.NextAsync("connection.established");
            var (messageId, seq) = await alice.SendAsync(conversationId, "before the gap");
            await first.NextAsync("message.created", d => d.GetProperty("message_id").GetGuid() == messageId);
            lastSeen = seq;
        }

        var missed = new List<long>();
        for (var i = 0; i < 30; i++)
        {
            missed.Add((await alice.SendAsync(conversationId, $"missed {i}")).Seq);
        }

        await using var second = await bob.ConnectAsync(platform.Host);
        await second.NextAsync("connection.established");
        await second.SendAsync(new { type = "resume", data = new { positions = new Dictionary<string, long> { [conversationId.ToString()] = lastSeen } } });
        // Frames in arrival order: the replayed message.created frames come before "resumed".
        var received = new List<long>();
        JsonElement resumed;
        while (true)
        {
            var frame = await second.NextAnyAsync();
            var type = frame.GetProperty("type").GetString();
            if (type == "message.created")
            {
                received.Add(frame.GetProperty("data").GetProperty("seq").GetInt64());
            }
            else if (type == "resumed")
            {
                resumed = frame;
                break;
            }
        }

        var live = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            live.Add((await alice.SendAsync(conversationId, $"live {i}")).Seq);
        }

        // Then, past what the replay covered, live frames.
        while (received.Count == 0 || received[^1] < live[^1])
        {
            var frame = await second.NextAsync("message.created", d => d.GetProperty("conversation_id").GetGuid() == conversationId);
            received.Add(frame.GetProperty("data").GetProperty("seq").GetInt64());
        }

        var extra = await second.DrainAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(Enumerable.Range((int)lastSeen + 1, 35).Select(i => (long)i), [.. missed, .. live]);
        Assert.Equal([.. missed, .. live], received);
        Assert.DoesNotContain(extra, f => f.GetProperty("type").GetString() == "message.created");
        Assert.Equal(lastSeen, resumed.GetProperty("data").GetProperty("from_seq").GetInt64());
        Assert.InRange(resumed.GetProperty("data").GetProperty("to_seq").GetInt64(), lastSeen, missed[^1]);
        Assert.True(resumed.GetProperty("data").GetProperty("recovered").GetBoolean());
    }

    [Fact]
    public async Task ResumingWhileMessagesKeepArrivingLeavesNoGapAndNoDuplicateAtTheSeam()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);
        for (var i = 0; i < 20; i++)
        {
            await alice.SendAsync(conversationId, $"early {i}");
        }

        await using var socket = await bob.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");
        // As a client does it: resume right after connecting; new messages keep coming meanwhile, so
        // the replay from PostgreSQL and the live frames overlap.
        await socket.SendAsync(new { type = "resume", data = new { positions = new Dictionary<string, long> { [conversationId.ToString()] = 0 } } });
        for (var i = 0; i < 40; i++)
        {
            await alice.SendAsync(conversationId, $"during {i}");
        }


        var frames = new List<JsonElement>();
        while (!frames.Any(f => Seq(f) == 60))
        {
            var more = await socket.DrainAsync(TimeSpan.FromSeconds(3));
            if (more.Count == 0)
            {
                break; // nothing for 3 s: what we have is all there is
            }

            frames.AddRange(more);
        }

        frames.AddRange(await socket.DrainAsync(TimeSpan.FromSeconds(1)));
        var seqs = frames.Where(f => f.GetProperty("type").GetString() == "message.created").Select(Seq).ToList();
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), seqs);
    }

    private static long Seq(JsonElement frame) =>
        frame.GetProperty("type").GetString() == "message.created" ? frame.GetProperty("data").GetProperty("seq").GetInt64() : -1;

    [Fact]
    public async Task ResumingAConversationOfOthersOrWithGarbagePositionsGetsErrorFrames()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        using var eve = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);
        await alice.SendAsync(conversationId, "private");
        await using var socket = await eve.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");

        await socket.SendAsync(new { type = "resume", data = new { positions = new Dictionary<string, long> { [conversationId.ToString()] = 0 } } });
        var notMember = await socket.NextAsync("error");
        await socket.SendRawAsync("""{"type":"resume","data":{"positions":{"not-a-uuid":"x"}}}""");
        var invalid = await socket.NextAsync("error");

        Assert.Equal("not_a_member", notMember.GetProperty("data").GetProperty("code").GetString());
        Assert.Equal("invalid_frame", invalid.GetProperty("data").GetProperty("code").GetString());
        Assert.DoesNotContain(await socket.DrainAsync(TimeSpan.FromMilliseconds(500)), f => f.GetProperty("type").GetString() == "message.created");
    }
}
