using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Chat4All.Realtime.Tests;

/// <summary>Membership changes reach open sockets: a removed member's socket goes quiet for the conversation, an added one starts hearing it.</summary>
public sealed class GroupMembershipLiveTests(RealtimePlatform platform) : IClassFixture<RealtimePlatform>
{
    [Fact]
    public async Task ARemovedMembersSocketOpenedBeforeTheRemovalGetsNoFrameOfTheConversationAfterIt()
    {
        var second = await platform.StartAnotherInstanceAsync();
        using var owner = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        using var carol = await platform.CreateMemberAsync();
        // Bob's socket is on the other instance: whichever instance consumes an event, its member list must be current.
        await using var bobSocket = await bob.ConnectAsync(second);
        await using var carolSocket = await carol.ConnectAsync(platform.Host);
        await bobSocket.NextAsync("connection.established");
        await carolSocket.NextAsync("connection.established");
        var conversationId = await owner.CreateConversationAsync(bob, carol);
        bool OfConversation(JsonElement data) => data.GetProperty("conversation_id").GetGuid() == conversationId;

        // Before the removal Bob hears everything: a message and a read receipt (which realtime fans out from its member list).
        var (_, before) = await owner.SendAsync(conversationId, "before", channels: ["whatsapp"]);
        await bobSocket.NextAsync("message.created", d => OfConversation(d) && d.GetProperty("seq").GetInt64() == before);
        await MarkReadAsync(carol, conversationId);
        await bobSocket.NextAsync("conversation.read", OfConversation);

        using (var removed = await owner.Client.DeleteAsync($"/v1/conversations/{conversationId}/members/{bob.Id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        var removal = await bobSocket.NextAsync("conversation.member_removed", OfConversation);
        Assert.Equal(bob.Id, removal.GetProperty("data").GetProperty("user_id").GetGuid());
        Assert.Equal(before, removal.GetProperty("data").GetProperty("left_at_seq").GetInt64());
        await carolSocket.NextAsync("conversation.member_removed", OfConversation);

        var (_, after) = await owner.SendAsync(conversationId, "after", channels: ["whatsapp"]);
        await carolSocket.NextAsync("message.created", d => OfConversation(d) && d.GetProperty("seq").GetInt64() == after);
        await MarkReadAsync(carol, conversationId);
        await carolSocket.NextAsync("conversation.read", d => OfConversation(d) && d.GetProperty("read_up_to_seq").GetInt64() == after);
        using (var renamed = await owner.Client.PatchAsJsonAsync($"/v1/conversations/{conversationId}", new { name = "without bob" }))
        {
            Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        }

        await carolSocket.NextAsync("conversation.updated", OfConversation);

        // Carol has had every frame; Bob's would have been published with hers. Let a moment pass for stragglers.
        var late = await bobSocket.DrainAsync(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(late, f => f.GetProperty("data").ValueKind == JsonValueKind.Object &&
            f.GetProperty("data").TryGetProperty("conversation_id", out var id) && id.GetGuid() == conversationId);
    }

    [Fact]
    public async Task AFormerMemberCannotResumeTheConversation()
    {
        using var owner = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        using var carol = await platform.CreateMemberAsync();
        var conversationId = await owner.CreateConversationAsync(bob, carol);
        await owner.SendAsync(conversationId, "before");
        await using (var before = await bob.ConnectAsync(platform.Host))
        {
            await before.NextAsync("connection.established");
            using var leave = await bob.Client.DeleteAsync($"/v1/conversations/{conversationId}/members/{bob.Id}");
            Assert.Equal(HttpStatusCode.NoContent, leave.StatusCode);
            await before.NextAsync("conversation.member_removed", d => d.GetProperty("conversation_id").GetGuid() == conversationId);
        }

        await using var socket = await bob.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");
        await socket.SendAsync(new { type = "resume", data = new { positions = new Dictionary<string, long> { [conversationId.ToString()] = 0 } } });

        var error = await socket.NextAsync("error");
        Assert.Equal("not_a_member", error.GetProperty("data").GetProperty("code").GetString());
    }

    [Fact]
    public async Task AnAddedMembersOpenSocketHearsTheConversationFromTheAdditionOn()
    {
        using var owner = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        using var carol = await platform.CreateMemberAsync();
        using var dave = await platform.CreateMemberAsync();
        await using var daveSocket = await dave.ConnectAsync(platform.Host);
        await daveSocket.NextAsync("connection.established");
        var conversationId = await owner.CreateConversationAsync(bob, carol);
        await owner.SendAsync(conversationId, "before dave");
        await MarkReadAsync(bob, conversationId); // realtime now holds the member list without dave

        using (var added = await owner.Client.PostAsJsonAsync($"/v1/conversations/{conversationId}/members", new { user_ids = new[] { dave.Id } }))
        {
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        var addition = await daveSocket.NextAsync("conversation.member_added", d => d.GetProperty("conversation_id").GetGuid() == conversationId);
        Assert.Equal([dave.Id], addition.GetProperty("data").GetProperty("user_ids").EnumerateArray().Select(u => u.GetGuid()));
        var (_, seq) = await owner.SendAsync(conversationId, "welcome dave");
        await daveSocket.NextAsync("message.created", d => d.GetProperty("seq").GetInt64() == seq && d.GetProperty("conversation_id").GetGuid() == conversationId);
        await MarkReadAsync(bob, conversationId);
        await daveSocket.NextAsync("conversation.read", d => d.GetProperty("conversation_id").GetGuid() == conversationId && d.GetProperty("user_id").GetGuid() == bob.Id);
    }

    private static async Task MarkReadAsync(Member member, Guid conversationId)
    {
        using var read = await member.Client.PostAsJsonAsync($"/v1/conversations/{conversationId}/read", new { });
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }
}
