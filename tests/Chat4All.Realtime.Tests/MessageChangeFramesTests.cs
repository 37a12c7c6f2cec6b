using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Chat4All.Realtime.Tests;

/// <summary>Edits and deletes are frames of the conversation's sequence: live to every member, and replayed by <c>resume</c> (docs/adr/0045).</summary>
public sealed class MessageChangeFramesTests(RealtimePlatform platform) : IClassFixture<RealtimePlatform>
{
    [Fact]
    public async Task EveryOnlineMemberGetsTheEditAndTheDeleteAfterTheMessageInSeqOrder()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        using var carol = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob, carol);
        await using var bobSocket = await bob.ConnectAsync(platform.Host);
        await using var aliceSocket = await alice.ConnectAsync(platform.Host);
        await bobSocket.NextAsync("connection.established");
        await aliceSocket.NextAsync("connection.established");

        var (messageId, seq) = await alice.SendAsync(conversationId, "lunch at 12?");
        await EditAsync(alice, messageId, "lunch at 1?");
        await DeleteAsync(alice, messageId);

        foreach (var socket in new[] { bobSocket, aliceSocket })
        {
            var frames = await ChangesOfAsync(socket, messageId, 3);
            Assert.Equal(["message.created", "message.updated", "message.deleted"], frames.Select(f => f.GetProperty("type").GetString()));
            Assert.Equal([seq, seq + 1, seq + 2], frames.Select(f => f.GetProperty("data").GetProperty("seq").GetInt64()));
            var updated = frames[1].GetProperty("data");
            Assert.Equal(seq, updated.GetProperty("message_seq").GetInt64());
            Assert.Equal("lunch at 1?", updated.GetProperty("payload").GetProperty("text").GetString());
            Assert.Equal(seq, frames[2].GetProperty("data").GetProperty("message_seq").GetInt64());
        }
    }

    [Fact]
    public async Task AMemberWhoWasOfflineGetsTheEditAndTheDeleteWhenTheyResume()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);
        Guid messageId;
        long lastSeen;
        await using (var first = await bob.ConnectAsync(platform.Host))
        {
            await first.NextAsync("connection.established");
            (messageId, lastSeen) = await alice.SendAsync(conversationId, "see you at 5");
            await first.NextAsync("message.created", d => d.GetProperty("message_id").GetGuid() == messageId);
        }

        await EditAsync(alice, messageId, "see you at 6");
        await DeleteAsync(alice, messageId);
        var (laterId, laterSeq) = await alice.SendAsync(conversationId, "never mind");
        var replayed = await ResumeUntilAsync(bob, conversationId, lastSeen, frames => frames.Count >= 3);

        Assert.Equal(["message.updated", "message.deleted", "message.created"], replayed.Select(f => f.GetProperty("type").GetString()));
        Assert.Equal([lastSeen + 1, lastSeen + 2, laterSeq], replayed.Select(f => f.GetProperty("data").GetProperty("seq").GetInt64()));
        Assert.All(replayed[..2], f => Assert.Equal(messageId, f.GetProperty("data").GetProperty("message_id").GetGuid()));
    }

    [Fact]
    public async Task AResumeFromBeforeADeletedMessageReplaysItWithoutItsContent()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);
        var (messageId, seq) = await alice.SendAsync(conversationId, "my password is hunter2");
        await EditAsync(alice, messageId, "my password is ********");
        await DeleteAsync(alice, messageId);

        var frames = await ResumeUntilAsync(bob, conversationId, 0, frames => frames.Any(f => f.GetProperty("type").GetString() == "message.deleted"));

        Assert.Equal(["message.created", "message.updated", "message.deleted"], frames.Select(f => f.GetProperty("type").GetString()));
        Assert.Equal([seq, seq + 1, seq + 2], frames.Select(f => f.GetProperty("data").GetProperty("seq").GetInt64()));
        Assert.DoesNotContain(frames, f => f.GetRawText().Contains("hunter2", StringComparison.Ordinal) || f.GetRawText().Contains("****", StringComparison.Ordinal));
    }

    /// <summary>
    /// Resumes on a fresh socket (as a reconnecting client does) until the replay satisfies
    /// <paramref name="complete"/>: events are consumed asynchronously, and edits, deletes and messages
    /// are different topics. Bounded to 100 attempts; returns the last replay.
    /// </summary>
    private async Task<List<JsonElement>> ResumeUntilAsync(Member member, Guid conversationId, long fromSeq, Func<List<JsonElement>, bool> complete)
    {
        var frames = new List<JsonElement>();
        for (var attempt = 0; attempt < 100 && !complete(frames); attempt++)
        {
            await Task.Delay(attempt == 0 ? 0 : 100);
            await using var socket = await member.ConnectAsync(platform.Host);
            await socket.NextAsync("connection.established");
            await socket.SendAsync(new { type = "resume", data = new { positions = new Dictionary<string, long> { [conversationId.ToString()] = fromSeq } } });
            frames = await ReplayedAsync(socket);
        }

        return frames;
    }

    /// <summary>The message frames a resume replays, up to its <c>resumed</c> frame.</summary>
    private static async Task<List<JsonElement>> ReplayedAsync(WsClient socket)
    {
        var frames = new List<JsonElement>();
        while (true)
        {
            var frame = await socket.NextAnyAsync();
            var type = frame.GetProperty("type").GetString()!;
            if (type == "resumed")
            {
                return frames;
            }

            if (type.StartsWith("message.", StringComparison.Ordinal))
            {
                frames.Add(frame);
            }
        }
    }

    /// <summary>The next <paramref name="count"/> message frames about <paramref name="messageId"/>, in arrival order.</summary>
    private static async Task<List<JsonElement>> ChangesOfAsync(WsClient socket, Guid messageId, int count)
    {
        var frames = new List<JsonElement>();
        while (frames.Count < count)
        {
            var frame = await socket.NextAnyAsync();
            if (frame.GetProperty("type").GetString()!.StartsWith("message.", StringComparison.Ordinal) &&
                frame.GetProperty("data").TryGetProperty("message_id", out var id) && id.GetGuid() == messageId)
            {
                frames.Add(frame);
            }
        }

        return frames;
    }

    private static async Task EditAsync(Member member, Guid messageId, string text)
    {
        using var response = await member.Client.PatchAsJsonAsync($"/v1/messages/{messageId}", new { text });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static async Task DeleteAsync(Member member, Guid messageId)
    {
        using var response = await member.Client.DeleteAsync($"/v1/messages/{messageId}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }
}
