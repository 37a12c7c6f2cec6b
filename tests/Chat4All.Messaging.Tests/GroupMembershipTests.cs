using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Chat4All.Messaging.Tests;

/// <summary>Group membership over REST: the owner adds, removes and renames; members leave; a former member keeps history up to their leaving.</summary>
public sealed class GroupMembershipTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    [Fact]
    public async Task TheOwnerAddsUsersOfTheTenantWhoThenTakePartAndUnknownIdsAre422()
    {
        using var group = await CreateGroupAsync();
        var dave = await platform.CreateUserAsync();
        var mallory = await platform.Host.CreateUserInTenantAsync(Guid.NewGuid());
        var nobody = Guid.NewGuid();

        using var refused = await group.AsOwner.PostAsJsonAsync(Members(group), new { user_ids = new[] { dave.UserId, mallory.UserId, nobody } });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal(new[] { mallory.UserId, nobody }.Order(), (await refused.ReadJsonAsync()).GetProperty("user_ids").EnumerateArray().Select(u => u.GetGuid()).Order());
        Assert.DoesNotContain(dave.UserId, await MembersOfAsync(group.AsOwner, group.ConversationId));

        using var added = await group.AsOwner.PostAsJsonAsync(Members(group), new { user_ids = new[] { dave.UserId, group.Bob.UserId } });
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.Equal(4, (await added.ReadJsonAsync()).GetProperty("members").GetArrayLength());

        using var asDave = await platform.CreateAuthenticatedClientAsync(dave);
        await asDave.SendAndGetSeqAsync(group.ConversationId, "hi, I'm new");
        Assert.Contains(dave.UserId, await MembersOfAsync(group.AsBob, group.ConversationId));
    }

    [Fact]
    public async Task AMemberWhoIsNotTheOwnerCannotAddRemoveOrRenameButMayLeave()
    {
        using var group = await CreateGroupAsync();
        var dave = await platform.CreateUserAsync();

        using var add = await group.AsBob.PostAsJsonAsync(Members(group), new { user_ids = new[] { dave.UserId } });
        using var remove = await group.AsBob.DeleteAsync($"{Members(group)}/{group.Carol.UserId}");
        using var rename = await group.AsBob.PatchAsJsonAsync($"/v1/conversations/{group.ConversationId}", new { name = "bob's now" });
        Assert.Equal([HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden], [add.StatusCode, remove.StatusCode, rename.StatusCode]);
        Assert.Equal("not_owner", (await add.ReadJsonAsync()).GetProperty("code").GetString());

        using var leave = await group.AsBob.DeleteAsync($"{Members(group)}/{group.Bob.UserId}");
        Assert.Equal(HttpStatusCode.NoContent, leave.StatusCode);

        // Gone at once: the conversation, sending, reading receipts and the list refuse or omit it.
        using var get = await group.AsBob.GetAsync($"/v1/conversations/{group.ConversationId}");
        using var send = await group.AsBob.SendTextAsync(group.ConversationId, "still here?");
        using var read = await group.AsBob.PostAsJsonAsync($"/v1/conversations/{group.ConversationId}/read", new { });
        using var again = await group.AsBob.DeleteAsync($"{Members(group)}/{group.Bob.UserId}");
        Assert.Equal([HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden],
            [get.StatusCode, send.StatusCode, read.StatusCode, again.StatusCode]);
        Assert.DoesNotContain(group.ConversationId, (await group.AsBob.GetJsonAsync("/v1/conversations")).GetProperty("items").EnumerateArray()
            .Select(c => c.GetProperty("conversation_id").GetGuid()));
        Assert.DoesNotContain(group.Bob.UserId, await MembersOfAsync(group.AsOwner, group.ConversationId));
    }

    [Fact]
    public async Task NonMembersGet403AndOtherTenantsGet404OnEveryMembershipEndpoint()
    {
        using var group = await CreateGroupAsync();
        var eve = await platform.CreateUserAsync();
        var mallory = await platform.Host.CreateUserInTenantAsync(Guid.NewGuid());
        using var asEve = await platform.CreateAuthenticatedClientAsync(eve);
        using var asMallory = await platform.CreateAuthenticatedClientAsync(mallory);

        foreach (var (client, self, expected) in new[] { (asEve, eve.UserId, HttpStatusCode.Forbidden), (asMallory, mallory.UserId, HttpStatusCode.NotFound) })
        {
            using var add = await client.PostAsJsonAsync(Members(group), new { user_ids = new[] { self } });
            using var remove = await client.DeleteAsync($"{Members(group)}/{group.Bob.UserId}");
            using var leave = await client.DeleteAsync($"{Members(group)}/{self}");
            using var rename = await client.PatchAsJsonAsync($"/v1/conversations/{group.ConversationId}", new { name = "mine" });
            Assert.Equal([expected, expected, expected, expected], [add.StatusCode, remove.StatusCode, leave.StatusCode, rename.StatusCode]);
        }

        Assert.Equal(3, (await MembersOfAsync(group.AsOwner, group.ConversationId)).Count);
    }

    [Fact]
    public async Task TheOwnerRenamesTheGroupAndSetsItsDescription()
    {
        using var group = await CreateGroupAsync();

        using var renamed = await group.AsOwner.PatchAsJsonAsync($"/v1/conversations/{group.ConversationId}", new { name = "Book club", description = "Tuesdays" });
        using var described = await group.AsOwner.PatchAsJsonAsync($"/v1/conversations/{group.ConversationId}", new { description = "Thursdays now" });
        using var empty = await group.AsOwner.PatchAsJsonAsync($"/v1/conversations/{group.ConversationId}", new { });
        using var tooLong = await group.AsOwner.PatchAsJsonAsync($"/v1/conversations/{group.ConversationId}", new { name = new string('n', 201) });

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.BadRequest],
            [renamed.StatusCode, described.StatusCode, empty.StatusCode, tooLong.StatusCode]);
        var metadata = (await group.AsBob.GetJsonAsync($"/v1/conversations/{group.ConversationId}")).GetProperty("metadata");
        Assert.Equal("Book club", metadata.GetProperty("name").GetString());
        Assert.Equal("Thursdays now", metadata.GetProperty("description").GetString());
    }

    [Fact]
    public async Task APrivateConversationKeepsItsTwoMembersAndTheOwnerCannotLeaveAGroup()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var carol = await platform.CreateUserAsync();
        using var add = await pair.AsAlice.PostAsJsonAsync($"/v1/conversations/{pair.ConversationId}/members", new { user_ids = new[] { carol.UserId } });
        using var leave = await pair.AsAlice.DeleteAsync($"/v1/conversations/{pair.ConversationId}/members/{pair.Alice.UserId}");
        Assert.Equal([HttpStatusCode.Conflict, HttpStatusCode.Conflict], [add.StatusCode, leave.StatusCode]);
        Assert.Equal("not_a_group", (await add.ReadJsonAsync()).GetProperty("code").GetString());

        using var group = await CreateGroupAsync();
        using var ownerLeaves = await group.AsOwner.DeleteAsync($"{Members(group)}/{group.Owner.UserId}");
        using var notAMember = await group.AsOwner.DeleteAsync($"{Members(group)}/{carol.UserId}");
        Assert.Equal([HttpStatusCode.Conflict, HttpStatusCode.NotFound], [ownerLeaves.StatusCode, notAMember.StatusCode]);
        Assert.Equal("owner_cannot_leave", (await ownerLeaves.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Equal("member_not_found", (await notAMember.ReadJsonAsync()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task ARemovedMembersHistoryEndsAtTheSeqTheyWereRemovedAtUntilTheyAreAddedAgain()
    {
        using var group = await CreateGroupAsync();
        await group.AsOwner.SendAndGetSeqAsync(group.ConversationId, "one");
        var second = await group.AsBob.SendAndGetSeqAsync(group.ConversationId, "two");
        using (var removed = await group.AsOwner.DeleteAsync($"{Members(group)}/{group.Bob.UserId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        var third = await group.AsOwner.SendAndGetSeqAsync(group.ConversationId, "three, after bob");
        var history = await group.AsBob.GetJsonAsync($"/v1/conversations/{group.ConversationId}/messages");
        var forward = await group.AsBob.GetJsonAsync($"/v1/conversations/{group.ConversationId}/messages?after_seq=1");
        var ownerHistory = await group.AsOwner.GetJsonAsync($"/v1/conversations/{group.ConversationId}/messages");
        var afterId = ownerHistory.GetProperty("messages").EnumerateArray().Single(m => m.GetProperty("seq").GetInt64() == third).GetProperty("message_id").GetGuid();
        var beforeId = ownerHistory.GetProperty("messages").EnumerateArray().Single(m => m.GetProperty("seq").GetInt64() == second).GetProperty("message_id").GetGuid();

        Assert.Equal(["one", "two"], Texts(history));
        Assert.Equal(["two"], Texts(forward));
        Assert.Equal(["one", "two", "three, after bob"], Texts(ownerHistory));
        using (var after = await group.AsBob.GetAsync($"/v1/messages/{afterId}"))
        using (var before = await group.AsBob.GetAsync($"/v1/messages/{beforeId}"))
        {
            Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.OK], [after.StatusCode, before.StatusCode]);
        }

        using (var readded = await group.AsOwner.PostAsJsonAsync(Members(group), new { user_ids = new[] { group.Bob.UserId } }))
        {
            Assert.Equal(HttpStatusCode.OK, readded.StatusCode);
        }

        Assert.Equal(["one", "two", "three, after bob"], Texts(await group.AsBob.GetJsonAsync($"/v1/conversations/{group.ConversationId}/messages")));
    }

    private async Task<Group> CreateGroupAsync()
    {
        var owner = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var carol = await platform.CreateUserAsync();
        var asOwner = await platform.CreateAuthenticatedClientAsync(owner);
        var asBob = await platform.CreateAuthenticatedClientAsync(bob);
        return new Group(owner, bob, carol, asOwner, asBob, await asOwner.CreateConversationAsync("group", bob.UserId, carol.UserId));
    }

    private static string Members(Group group) => $"/v1/conversations/{group.ConversationId}/members";

    private static async Task<List<Guid>> MembersOfAsync(HttpClient client, Guid conversationId) =>
        [.. (await client.GetJsonAsync($"/v1/conversations/{conversationId}")).GetProperty("members").EnumerateArray().Select(m => m.GetGuid())];

    private static List<string?> Texts(JsonElement page) =>
        [.. page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("payload").GetProperty("text").GetString())];

    private sealed record Group(TestUser Owner, TestUser Bob, TestUser Carol, HttpClient AsOwner, HttpClient AsBob, Guid ConversationId) : IDisposable
    {
        public void Dispose()
        {
            AsOwner.Dispose();
            AsBob.Dispose();
        }
    }
}
