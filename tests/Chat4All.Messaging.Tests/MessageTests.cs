using System.Net;
using System.Net.Http.Json;
using System.Text;
using Npgsql;

namespace Chat4All.Messaging.Tests;

public sealed class MessageTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    private async Task<(HttpClient Alice, HttpClient Bob, Guid ConversationId, TestUser AliceUser, TestUser BobUser)> PairAsync()
    {
        var pair = await platform.Host.CreatePairAsync();
        return (pair.AsAlice, pair.AsBob, pair.ConversationId, pair.Alice, pair.Bob);
    }

    private async Task<long> CountAsync(string sql, Guid id)
    {
        await using var connection = new NpgsqlConnection(platform.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("id", id);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task ASentMessageIsAcceptedWithItsSeqAndIsInTheHistoryAtOnce()
    {
        var (alice, bob, conversationId, aliceUser, _) = await PairAsync();

        using var response = await alice.SendTextAsync(conversationId, "hello bob");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.ReadJsonAsync();
        Assert.Equal("accepted", accepted.GetProperty("status").GetString());
        Assert.Equal(1, accepted.GetProperty("seq").GetInt64());
        var history = await bob.GetJsonAsync($"/v1/conversations/{conversationId}/messages");
        var message = history.GetProperty("messages").EnumerateArray().Single();
        Assert.Equal("hello bob", message.GetProperty("payload").GetProperty("text").GetString());
        Assert.Equal(aliceUser.UserId, message.GetProperty("sender_id").GetGuid());
        Assert.Equal(accepted.GetProperty("message_id").GetGuid(), message.GetProperty("message_id").GetGuid());
        var detail = await bob.GetJsonAsync($"/v1/messages/{message.GetProperty("message_id").GetGuid()}");
        Assert.Equal("accepted", detail.GetProperty("status").GetString());
        Assert.Equal(["default"], detail.GetProperty("channels").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task OneHundredConcurrentSendsGetSeqOneToOneHundredWithoutGapsInHistoryOrder()
    {
        var (alice, bob, conversationId, _, _) = await PairAsync();

        var seqs = await Task.WhenAll(Enumerable.Range(1, 100).Select(i => (i % 2 == 0 ? alice : bob).SendAndGetSeqAsync(conversationId, $"m{i}")));

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), seqs.Order());
        var history = new List<long>();
        var first = await alice.GetJsonAsync($"/v1/conversations/{conversationId}/messages?after_seq=0&limit=100");
        history.AddRange(first.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("seq").GetInt64()));
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), history);
    }

    [Fact]
    public async Task HistoryPagesBackwardFromTheNewestAndForwardFromAPosition()
    {
        var (alice, _, conversationId, _, _) = await PairAsync();
        for (var i = 1; i <= 12; i++)
        {
            await alice.SendAndGetSeqAsync(conversationId, $"m{i}");
        }

        var newest = await alice.GetJsonAsync($"/v1/conversations/{conversationId}/messages?limit=5");
        var older = await alice.GetJsonAsync($"/v1/conversations/{conversationId}/messages?limit=5&cursor={newest.GetProperty("next_cursor").GetString()}");
        var forward = await alice.GetJsonAsync($"/v1/conversations/{conversationId}/messages?after_seq=9");
        var before = await alice.GetJsonAsync($"/v1/conversations/{conversationId}/messages?before_seq=3");

        static long[] Seqs(System.Text.Json.JsonElement page) => [.. page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("seq").GetInt64())];
        Assert.Equal([8L, 9, 10, 11, 12], Seqs(newest));
        Assert.True(newest.GetProperty("has_more").GetBoolean());
        Assert.Equal([3L, 4, 5, 6, 7], Seqs(older));
        Assert.Equal([10L, 11, 12], Seqs(forward));
        Assert.False(forward.GetProperty("has_more").GetBoolean());
        Assert.Equal([1L, 2], Seqs(before));
    }

    [Fact]
    public async Task TheSameMessageIdWithTheSameBodyReplaysTheOriginalAcceptance()
    {
        var (alice, _, conversationId, _, _) = await PairAsync();
        var messageId = Guid.NewGuid();

        using var first = await alice.SendTextAsync(conversationId, "once", messageId);
        using var second = await alice.SendTextAsync(conversationId, "once", messageId);

        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal((await first.ReadJsonAsync()).GetProperty("seq").GetInt64(), (await second.ReadJsonAsync()).GetProperty("seq").GetInt64());
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM messaging.messages WHERE message_id = @id", messageId));
    }

    [Fact]
    public async Task TheSameMessageIdWithADifferentBodyIs422()
    {
        var (alice, _, conversationId, _, _) = await PairAsync();
        var messageId = Guid.NewGuid();
        (await alice.SendTextAsync(conversationId, "original", messageId)).Dispose();

        using var response = await alice.SendTextAsync(conversationId, "tampered", messageId);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("idempotency_key_reused", (await response.ReadJsonAsync()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task TwentyConcurrentCopiesOfOneMessageMakeOneRowOneEventAndNoSeqGap()
    {
        var (alice, _, conversationId, _, _) = await PairAsync();
        var messageId = Guid.NewGuid();

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => alice.SendTextAsync(conversationId, "dup", messageId)));

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Conflict, r.StatusCode.ToString()));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM messaging.messages WHERE message_id = @id", messageId));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM messaging.outbox WHERE topic = 'message.created' AND payload->>'message_id' = @id::text", messageId));
        Assert.Equal(2, await alice.SendAndGetSeqAsync(conversationId, "next")); // the duplicates took no seq
    }

    [Fact]
    public async Task AnIdempotencyKeyHeaderWorksLikeAMessageId()
    {
        var (alice, _, conversationId, _, _) = await PairAsync();
        HttpRequestMessage Request(string text) => new(HttpMethod.Post, "/v1/messages")
        {
            Content = JsonContent.Create(new { conversation_id = conversationId, payload = new { type = "text", text } }),
            Headers = { { "Idempotency-Key", "order-42" } },
        };

        using var first = await alice.SendAsync(Request("hi"));
        using var replay = await alice.SendAsync(Request("hi"));
        using var different = await alice.SendAsync(Request("bye"));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        Assert.Equal((await first.ReadJsonAsync()).GetProperty("message_id").GetGuid(), (await replay.ReadJsonAsync()).GetProperty("message_id").GetGuid());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, different.StatusCode);
    }

    [Fact]
    public async Task ANonMemberCannotSendOrReadAndNothingIsWritten()
    {
        var (_, _, conversationId, _, _) = await PairAsync();
        var eve = await platform.CreateUserAsync();
        using var asEve = await platform.CreateAuthenticatedClientAsync(eve);
        var messageId = Guid.NewGuid();

        using var send = await asEve.SendTextAsync(conversationId, "let me in", messageId);
        using var read = await asEve.GetAsync($"/v1/conversations/{conversationId}/messages");
        using var unknown = await asEve.SendTextAsync(Guid.NewGuid(), "anyone?");

        Assert.Equal(HttpStatusCode.Forbidden, send.StatusCode);
        Assert.Equal("not_a_member", (await send.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, read.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM messaging.messages WHERE message_id = @id", messageId));
    }

    public static TheoryData<string, int> InvalidBodies => new()
    {
        { """{"conversation_id":"{c}","payload":{"type":"text","text":""}}""", 400 },
        { """{"conversation_id":"{c}","payload":{"type":"text","text":"   "}}""", 400 },
        { """{"conversation_id":"{c}","payload":{"type":"text","text":"{long}"}}""", 400 },
        { """{"conversation_id":"{c}","payload":{"type":"text","text":"hi"},"channels":["carrier-pigeon"]}""", 400 },
        { """{"conversation_id":"{c}","payload":{"type":"text","text":"hi"},"channels":[]}""", 400 },
        { """{"conversation_id":"{c}","payload":{"type":"text","text":"hi"},"priority":"urgent"}""", 400 },
        { """{"conversation_id":"{c}","payload":{"type":"video","text":"hi"}}""", 400 },
        { """{"conversation_id":"{c}","payload":{"type":"text","text":42}}""", 400 },
        { """{"conversation_id":"not-a-uuid","payload":{"type":"text","text":"hi"}}""", 400 },
        { """{"conversation_id":"{c}","payload":"hi"}""", 400 },
        { """{"conversation_id":"{c}"}""", 400 },
        { """[1,2,3]""", 400 },
        { """{"conversation_id":"{c}","payload":{"type":"text","text":"hi"}""", 400 },
        { """{"conversation_id":"{c}","payload":{"type":"file","file_id":"{c}"}}""", 422 },
        { """{"conversation_id":"{c}","payload":{"type":"file"}}""", 400 },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task InvalidMessagesGetTheRight4xxProblemAndWriteNothing(string template, int status)
    {
        var (alice, _, conversationId, _, _) = await PairAsync();
        var body = template.Replace("{c}", conversationId.ToString(), StringComparison.Ordinal).Replace("{long}", new string('x', 4097), StringComparison.Ordinal);

        using var response = await alice.PostAsync("/v1/messages", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM messaging.messages WHERE conversation_id = @id", conversationId));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM messaging.outbox WHERE partition_key = @id::text AND topic = 'message.created'", conversationId));
    }

    [Fact]
    public async Task AHugeBodyIsRefusedWithoutBeingRead()
    {
        var (alice, _, conversationId, _, _) = await PairAsync();
        var body = "{\"conversation_id\":\"" + conversationId + "\",\"payload\":{\"type\":\"text\",\"text\":\"" + new string('x', 40 * 1024 * 1024) + "\"}}";

        // Expect: 100-continue lets the server refuse on the declared length alone, as a well-behaved client would ask.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
            Headers = { ExpectContinue = true },
        };
        using var response = await alice.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM messaging.messages WHERE conversation_id = @id", conversationId));
    }
}
