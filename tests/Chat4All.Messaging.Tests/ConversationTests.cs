using System.Net;
using System.Net.Http.Json;

namespace Chat4All.Messaging.Tests;

public sealed class ConversationTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    [Fact]
    public async Task APrivateConversationHasTheCallerAndOneOtherAndTheSamePairGetsTheSameConversation()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        using var asBob = await platform.CreateAuthenticatedClientAsync(bob);

        using var created = await asAlice.PostAsJsonAsync("/v1/conversations", new { type = "private", members = new[] { bob.UserId } });
        using var again = await asBob.PostAsJsonAsync("/v1/conversations", new { type = "private", members = new[] { alice.UserId, bob.UserId } });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var conversation = await created.ReadJsonAsync();
        Assert.Equal(conversation.GetProperty("conversation_id").GetGuid(), (await again.ReadJsonAsync()).GetProperty("conversation_id").GetGuid());
        Assert.Equal("private", conversation.GetProperty("type").GetString());
        Assert.Equal(new[] { alice.UserId, bob.UserId }.Order(), conversation.GetProperty("members").EnumerateArray().Select(m => m.GetGuid()).Order());
    }

    [Fact]
    public async Task ConcurrentCreationOfTheSamePrivatePairYieldsOneConversation()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);

        var ids = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => asAlice.CreateConversationAsync("private", bob.UserId)));

        Assert.Single(ids.Distinct());
    }

    [Theory]
    [InlineData("private", 2)] // caller + 2 = 3 members
    [InlineData("group", 1)] // caller + 1 = 2 members
    [InlineData("channel", 3)]
    public async Task AConversationWithTheWrongShapeIsAValidationProblem(string type, int others)
    {
        var alice = await platform.CreateUserAsync();
        using var client = await platform.CreateAuthenticatedClientAsync(alice);

        using var response = await client.PostAsJsonAsync("/v1/conversations",
            new { type, members = Enumerable.Range(0, others).Select(_ => Guid.NewGuid()).ToArray() });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("validation_failed", (await response.ReadJsonAsync()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task AGroupOfMoreThanAHundredIsRefused()
    {
        var alice = await platform.CreateUserAsync();
        using var client = await platform.CreateAuthenticatedClientAsync(alice);

        using var response = await client.PostAsJsonAsync("/v1/conversations",
            new { type = "group", members = Enumerable.Range(0, 100).Select(_ => Guid.NewGuid()).ToArray() });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task OnlyMembersSeeAConversationAndUnknownIdsAre404()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var eve = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        using var asEve = await platform.CreateAuthenticatedClientAsync(eve);
        var conversationId = await asAlice.CreateConversationAsync("private", bob.UserId);

        using var forbidden = await asEve.GetAsync($"/v1/conversations/{conversationId}");
        using var missing = await asAlice.GetAsync($"/v1/conversations/{Guid.NewGuid()}");

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal("not_a_member", (await forbidden.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await asAlice.GetAsync($"/v1/conversations/{conversationId}")).StatusCode);
    }

    [Fact]
    public async Task TheListIsNewestActivityFirstWithLastMessageAndUnreadCountAndPagesByCursor()
    {
        var alice = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        var others = new List<TestUser>();
        var conversations = new List<Guid>();
        for (var i = 0; i < 7; i++)
        {
            var other = await platform.CreateUserAsync();
            others.Add(other);
            conversations.Add(await asAlice.CreateConversationAsync("private", other.UserId));
        }

        // Conversation 2 gets the newest activity: two messages from its other member.
        using var asOther = await platform.CreateAuthenticatedClientAsync(others[2]);
        await asOther.SendAndGetSeqAsync(conversations[2], "first");
        await asOther.SendAndGetSeqAsync(conversations[2], "second, and latest");

        var seen = new List<Guid>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await asAlice.GetJsonAsync("/v1/conversations?limit=3" + (cursor is null ? "" : "&cursor=" + cursor));
            pages++;
            if (pages == 1)
            {
                var top = page.GetProperty("items")[0];
                Assert.Equal(conversations[2], top.GetProperty("conversation_id").GetGuid());
                Assert.Equal(2, top.GetProperty("unread_count").GetInt64());
                Assert.Equal("second, and latest", top.GetProperty("last_message").GetProperty("preview").GetString());
                Assert.Equal(2, top.GetProperty("last_message").GetProperty("seq").GetInt64());
            }

            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("conversation_id").GetGuid()));
            cursor = page.GetProperty("has_more").GetBoolean() ? page.GetProperty("next_cursor").GetString() : null;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(7, seen.Count);
        Assert.Equal(conversations.Order(), seen.Order());
        Assert.Equal([conversations[2], .. conversations.Where(c => c != conversations[2]).Reverse()], seen);
    }
}
