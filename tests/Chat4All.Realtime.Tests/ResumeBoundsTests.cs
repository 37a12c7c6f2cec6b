namespace Chat4All.Realtime.Tests;

/// <summary>One <c>resume</c> frame's work is bounded: duplicates merge, too many conversations are refused before any query.</summary>
public sealed class ResumeBoundsTests(RealtimePlatform platform) : IClassFixture<RealtimePlatform>
{
    [Fact]
    public async Task AResumeNamingOneConversation350TimesReplaysItOnce()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);
        for (var i = 0; i < 5; i++)
        {
            await alice.SendAsync(conversationId, $"m{i}");
        }

        await using var socket = await bob.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");
        // The same key 350 times (14 KB), as no serializer would write it; the lowest position wins.
        var positions = string.Join(',', Enumerable.Range(0, 350).Select(i => $"\"{conversationId}\":{(i == 349 ? 0 : 3)}"));
        await socket.SendRawAsync("""{"type":"resume","data":{"positions":{""" + positions + "}}}");

        var frames = await socket.DrainAsync(TimeSpan.FromSeconds(2));

        var resumed = Assert.Single(frames, f => f.GetProperty("type").GetString() == "resumed");
        Assert.Equal(0, resumed.GetProperty("data").GetProperty("from_seq").GetInt64());
        Assert.Equal([1L, 2, 3, 4, 5], frames.Where(f => f.GetProperty("type").GetString() == "message.created")
            .Select(f => f.GetProperty("data").GetProperty("seq").GetInt64()));
        Assert.Null(socket.CloseStatus);
    }

    [Fact]
    public async Task AResumeNamingMoreThanAHundredConversationsIsRefusedWhole()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);

        await using var socket = await bob.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");
        var positions = new Dictionary<string, long> { [conversationId.ToString()] = 0 };
        for (var i = 0; i < 100; i++)
        {
            positions[Guid.NewGuid().ToString()] = 0;
        }

        await socket.SendAsync(new { type = "resume", data = new { positions } });
        var frames = await socket.DrainAsync(TimeSpan.FromSeconds(2));

        var error = Assert.Single(frames, f => f.GetProperty("type").GetString() == "error");
        Assert.Equal("too_many_positions", error.GetProperty("data").GetProperty("code").GetString());
        Assert.DoesNotContain(frames, f => f.GetProperty("type").GetString() == "resumed");
    }
}

/// <summary>A platform whose <c>resume</c> replays at most three messages per conversation.</summary>
public sealed class ShortReplayPlatform : RealtimePlatform
{
    public ShortReplayPlatform()
    {
        ExtraSettings["Chat4All:Realtime:MaxReplayPerConversation"] = "3";
    }
}

/// <summary>However long the gap, one <c>resume</c> replays a bounded number of messages and says where it stopped.</summary>
public sealed class ReplayBoundTests(ShortReplayPlatform platform) : IClassFixture<ShortReplayPlatform>
{
    [Fact]
    public async Task AResumeReplaysAtMostTheBoundAndReportsNotRecoveredWithWhereItStopped()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);
        await using (var first = await bob.ConnectAsync(platform.Host))
        {
            // Once the fifth message is live, realtime's message log (written before the fan-out) has all five.
            await first.NextAsync("connection.established");
            for (var i = 0; i < 5; i++)
            {
                await alice.SendAsync(conversationId, $"m{i}");
            }

            await first.NextAsync("message.created", d => d.GetProperty("seq").GetInt64() == 5);
        }

        await using var socket = await bob.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");
        await socket.SendAsync(new { type = "resume", data = new { positions = new Dictionary<string, long> { [conversationId.ToString()] = 0 } } });
        var frames = await socket.DrainAsync(TimeSpan.FromSeconds(2));

        Assert.Equal([1L, 2, 3], frames.Where(f => f.GetProperty("type").GetString() == "message.created")
            .Select(f => f.GetProperty("data").GetProperty("seq").GetInt64()));
        var resumed = Assert.Single(frames, f => f.GetProperty("type").GetString() == "resumed").GetProperty("data");
        Assert.Equal((0L, 3L, false), (resumed.GetProperty("from_seq").GetInt64(), resumed.GetProperty("to_seq").GetInt64(), resumed.GetProperty("recovered").GetBoolean()));
    }
}
