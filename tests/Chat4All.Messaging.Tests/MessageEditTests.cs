using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Contracts;

namespace Chat4All.Messaging.Tests;

/// <summary>The sender edits and deletes their messages (docs/adr/0045); nobody else can, and repeats change nothing.</summary>
public sealed class MessageEditTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    [Fact]
    public async Task TheSenderEditsATextMessageAndTheEditTakesTheNextSeqAndIsKeptInItsHistory()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var (messageId, seq) = await SendAsync(pair.AsAlice, pair.ConversationId, "helo bob");

        using var edit = await EditAsync(pair.AsAlice, messageId, "hello bob");

        Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        var changed = await edit.ReadJsonAsync();
        Assert.Equal(seq, changed.GetProperty("seq").GetInt64());
        Assert.Equal(seq + 1, changed.GetProperty("change_seq").GetInt64());
        Assert.Equal("hello bob", changed.GetProperty("payload").GetProperty("text").GetString());
        var detail = await pair.AsBob.GetJsonAsync($"/v1/messages/{messageId}");
        Assert.Equal("hello bob", detail.GetProperty("payload").GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.String, detail.GetProperty("edited_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, detail.GetProperty("deleted_at").ValueKind);
        var edits = (await pair.AsBob.GetJsonAsync($"/v1/messages/{messageId}/edits")).GetProperty("edits").EnumerateArray().ToList();
        var only = Assert.Single(edits);
        Assert.Equal("helo bob", only.GetProperty("previous_text").GetString());
        Assert.Equal("hello bob", only.GetProperty("text").GetString());
        Assert.Equal(seq + 1, only.GetProperty("seq").GetInt64());
        var history = await pair.AsBob.GetJsonAsync($"/v1/conversations/{pair.ConversationId}/messages");
        var inHistory = history.GetProperty("messages").EnumerateArray().Single();
        Assert.Equal(seq, inHistory.GetProperty("seq").GetInt64());
        Assert.Equal("hello bob", inHistory.GetProperty("payload").GetProperty("text").GetString());
        // The edit is in the conversation's sequence: the next message comes after it.
        Assert.Equal(seq + 2, (await SendAsync(pair.AsBob, pair.ConversationId, "thanks")).Seq);
        var updated = await PublishedEvents.WaitForAsync(platform.Redis, platform.EventBusPrefix, Topics.MessageCreated, 1,
            e => e.GetProperty("message_id").GetGuid() == messageId && e.TryGetProperty("edited_at", out _));
        Assert.Equal(seq + 1, updated.Single().GetProperty("seq").GetInt64());
        Assert.Equal(seq, updated.Single().GetProperty("message_seq").GetInt64());
    }

    [Fact]
    public async Task RepeatingAnEditOrADeleteChangesNothingAndAnswersTheSame()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var (messageId, _) = await SendAsync(pair.AsAlice, pair.ConversationId, "draft");

        using var first = await EditAsync(pair.AsAlice, messageId, "final");
        using var again = await EditAsync(pair.AsAlice, messageId, "final");
        var firstBody = (await first.ReadJsonAsync()).GetRawText();
        var againBody = (await again.ReadJsonAsync()).GetRawText();
        using var delete = await pair.AsAlice.DeleteAsync($"/v1/messages/{messageId}");
        using var deleteAgain = await pair.AsAlice.DeleteAsync($"/v1/messages/{messageId}");
        var deleteBody = (await delete.ReadJsonAsync()).GetRawText();
        var deleteAgainBody = (await deleteAgain.ReadJsonAsync()).GetRawText();
        var next = await SendAsync(pair.AsAlice, pair.ConversationId, "after");

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(firstBody, againBody);
        Assert.True(again.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.OK, deleteAgain.StatusCode);
        Assert.Equal(deleteBody, deleteAgainBody);
        Assert.True(deleteAgain.Headers.Contains("Idempotent-Replayed"));
        // message 1, one edit (2), one delete (3): the repeats took no seq.
        Assert.Equal(4, next.Seq);
        var updates = await PublishedEvents.WaitForAsync(platform.Redis, platform.EventBusPrefix, Topics.MessageCreated, 1,
            e => e.GetProperty("message_id").GetGuid() == messageId && e.TryGetProperty("edited_at", out _));
        var deletes = await PublishedEvents.WaitForAsync(platform.Redis, platform.EventBusPrefix, Topics.MessageCreated, 1,
            e => e.GetProperty("message_id").GetGuid() == messageId && e.TryGetProperty("deleted_at", out _));
        Assert.Single(updates);
        Assert.Single(deletes);
    }

    [Fact]
    public async Task AnIdempotencyKeyReplaysItsEditAndRefusesADifferentText()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var (messageId, _) = await SendAsync(pair.AsAlice, pair.ConversationId, "one");

        using var first = await EditAsync(pair.AsAlice, messageId, "two", "edit-1");
        using var replay = await EditAsync(pair.AsAlice, messageId, "two", "edit-1");
        using var reused = await EditAsync(pair.AsAlice, messageId, "three", "edit-1");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal("idempotency_key_reused", (await reused.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Single((await pair.AsAlice.GetJsonAsync($"/v1/messages/{messageId}/edits")).GetProperty("edits").EnumerateArray());
    }

    [Fact]
    public async Task ADeletedMessageStaysInHistoryAsATombstoneWithItsSeqAndNoContent()
    {
        using var pair = await platform.Host.CreatePairAsync();
        await SendAsync(pair.AsBob, pair.ConversationId, "before");
        var (messageId, seq) = await SendAsync(pair.AsAlice, pair.ConversationId, "oops, wrong chat");
        using (await EditAsync(pair.AsAlice, messageId, "oops, still wrong"))
        {
        }

        using var delete = await pair.AsAlice.DeleteAsync($"/v1/messages/{messageId}");
        using var editDeleted = await EditAsync(pair.AsAlice, messageId, "resurrected");

        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        var tombstone = (await pair.AsBob.GetJsonAsync($"/v1/conversations/{pair.ConversationId}/messages")).GetProperty("messages")
            .EnumerateArray().Single(m => m.GetProperty("message_id").GetGuid() == messageId);
        Assert.Equal(seq, tombstone.GetProperty("seq").GetInt64());
        Assert.Equal(JsonValueKind.String, tombstone.GetProperty("deleted_at").ValueKind);
        Assert.Equal("text", tombstone.GetProperty("payload").GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, tombstone.GetProperty("payload").GetProperty("text").ValueKind);
        Assert.Empty((await pair.AsBob.GetJsonAsync($"/v1/messages/{messageId}/edits")).GetProperty("edits").EnumerateArray());
        Assert.Equal(HttpStatusCode.Conflict, editDeleted.StatusCode);
        Assert.Equal("message_deleted", (await editDeleted.ReadJsonAsync()).GetProperty("code").GetString());
        var deleted = await PublishedEvents.WaitForAsync(platform.Redis, platform.EventBusPrefix, Topics.MessageCreated, 1,
            e => e.GetProperty("message_id").GetGuid() == messageId && e.TryGetProperty("deleted_at", out _));
        Assert.Equal(seq + 2, deleted.Single().GetProperty("seq").GetInt64());
        Assert.Equal(seq, deleted.Single().GetProperty("message_seq").GetInt64());
    }

    [Fact]
    public async Task AnotherMemberANonMemberAndAnotherTenantGet404AndChangeNothing()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var (messageId, _) = await SendAsync(pair.AsAlice, pair.ConversationId, "mine");
        using var asEve = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());
        using var asMallory = await platform.CreateAuthenticatedClientAsync(await platform.Host.CreateUserInTenantAsync(Guid.NewGuid()));

        foreach (var (who, client) in new[] { ("member", pair.AsBob), ("non-member", asEve), ("other tenant", asMallory) })
        {
            using var edit = await EditAsync(client, messageId, "theirs now");
            using var delete = await client.DeleteAsync($"/v1/messages/{messageId}");
            Assert.True(edit.StatusCode == HttpStatusCode.NotFound, $"{who} edit: {(int)edit.StatusCode}");
            Assert.True(delete.StatusCode == HttpStatusCode.NotFound, $"{who} delete: {(int)delete.StatusCode}");
            Assert.Equal("message_not_found", (await edit.ReadJsonAsync()).GetProperty("code").GetString());
        }

        using var eveEdits = await asEve.GetAsync($"/v1/messages/{messageId}/edits");
        using var malloryEdits = await asMallory.GetAsync($"/v1/messages/{messageId}/edits");
        Assert.Equal(HttpStatusCode.NotFound, eveEdits.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, malloryEdits.StatusCode);
        var detail = await pair.AsAlice.GetJsonAsync($"/v1/messages/{messageId}");
        Assert.Equal("mine", detail.GetProperty("payload").GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, detail.GetProperty("edited_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, detail.GetProperty("deleted_at").ValueKind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public async Task AnEditWithoutTextIsRefusedWith400(string? text)
    {
        using var pair = await platform.Host.CreatePairAsync();
        var (messageId, _) = await SendAsync(pair.AsAlice, pair.ConversationId, "keep");

        using var response = await pair.AsAlice.PatchAsJsonAsync($"/v1/messages/{messageId}", new { text });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("keep", (await pair.AsAlice.GetJsonAsync($"/v1/messages/{messageId}")).GetProperty("payload").GetProperty("text").GetString());
    }

    [Fact]
    public async Task TheConversationListShowsTheEditedLastMessageAndCountsMessagesNotEditsAsUnread()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var (first, _) = await SendAsync(pair.AsAlice, pair.ConversationId, "first");
        var (second, _) = await SendAsync(pair.AsAlice, pair.ConversationId, "secnd");
        using (await EditAsync(pair.AsAlice, second, "second"))
        using (await EditAsync(pair.AsAlice, first, "first!"))
        {
        }

        var item = (await pair.AsBob.GetJsonAsync("/v1/conversations")).GetProperty("items").EnumerateArray()
            .Single(c => c.GetProperty("conversation_id").GetGuid() == pair.ConversationId);

        Assert.Equal(second, item.GetProperty("last_message").GetProperty("message_id").GetGuid());
        Assert.Equal("second", item.GetProperty("last_message").GetProperty("preview").GetString());
        Assert.Equal(2, item.GetProperty("unread_count").GetInt64());
    }

    [Fact]
    public async Task HistoryOffsetCountsMessagesFromTheOldestEvenWhenEditsTookSeqs()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            var (id, _) = await SendAsync(pair.AsAlice, pair.ConversationId, $"m{i}");
            ids.Add(id);
            using (await EditAsync(pair.AsAlice, id, $"m{i} edited"))
            {
            }
        }

        var page = await pair.AsAlice.GetJsonAsync($"/v1/conversations/{pair.ConversationId}/messages?offset=2&limit=2");

        Assert.Equal(ids[2..4], page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("message_id").GetGuid()));
        Assert.True(page.GetProperty("has_more").GetBoolean());
    }

    private static async Task<(Guid MessageId, long Seq)> SendAsync(HttpClient client, Guid conversationId, string text)
    {
        using var response = await client.SendTextAsync(conversationId, text);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var body = await response.ReadJsonAsync();
        return (body.GetProperty("message_id").GetGuid(), body.GetProperty("seq").GetInt64());
    }

    private static Task<HttpResponseMessage> EditAsync(HttpClient client, Guid messageId, string text, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, $"/v1/messages/{messageId}") { Content = JsonContent.Create(new { text }) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return client.SendAsync(request);
    }
}
