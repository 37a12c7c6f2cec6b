using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.BuildingBlocks.Presence;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Realtime.Tests;

/// <summary>Presence follows connections across instances, and a dead instance's connections expire.</summary>
public sealed class PresenceTests(RealtimePlatform platform) : IClassFixture<RealtimePlatform>
{
    [Fact]
    public async Task AUserIsOnlineWhileConnectedAndOfflineAfterTheLastConnectionClosesAndContactsSeeBoth()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        await using var aliceSocket = await alice.ConnectAsync(platform.Host);
        await aliceSocket.NextAsync("connection.established");
        await BecomeContactsAsync(alice, bob, aliceSocket);

        var first = await bob.ConnectAsync(platform.Host);
        var second = await bob.ConnectAsync(platform.Host);
        await aliceSocket.NextAsync("presence.changed", d => d.GetProperty("user_id").GetGuid() == bob.Id && d.GetProperty("status").GetString() == "online");
        var whileOnline = await PresenceOfAsync(alice, bob.Id);
        await first.DisposeAsync();
        var afterOne = await PresenceOfAsync(alice, bob.Id);
        await second.DisposeAsync();
        var offline = await aliceSocket.NextAsync("presence.changed",
            d => d.GetProperty("user_id").GetGuid() == bob.Id && d.GetProperty("status").GetString() == "offline");
        var afterBoth = await PresenceOfAsync(alice, bob.Id);

        Assert.Equal(("online", 2), (whileOnline.GetProperty("status").GetString(), whileOnline.GetProperty("connections").GetInt32()));
        Assert.Equal("online", afterOne.GetProperty("status").GetString());
        Assert.Equal("offline", afterBoth.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.String, offline.GetProperty("data").GetProperty("last_seen_at").ValueKind);
        Assert.Equal(JsonValueKind.String, afterBoth.GetProperty("last_seen_at").ValueKind);
    }

    [Fact]
    public async Task TheConnectionsOfAnInstanceThatDiedExpireAndTheUserGoesOffline()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        await using var aliceSocket = await alice.ConnectAsync(platform.Host);
        await aliceSocket.NextAsync("connection.established");
        await BecomeContactsAsync(alice, bob, aliceSocket);

        // Bob is connected through an instance that then dies: nobody renews his connection.
        var tracker = platform.Host.Services.GetRequiredService<IPresenceTracker>();
        var joined = await tracker.ConnectAsync(bob.Id, "conn-on-dead-instance", "dead-instance", 10, CancellationToken.None);
        Assert.True(joined.Accepted);
        Assert.Equal("online", (await PresenceOfAsync(alice, bob.Id)).GetProperty("status").GetString());

        await aliceSocket.NextAsync("presence.changed",
            d => d.GetProperty("user_id").GetGuid() == bob.Id && d.GetProperty("status").GetString() == "offline", TimeSpan.FromSeconds(30));
        Assert.Equal("offline", (await PresenceOfAsync(alice, bob.Id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AStrangerWhoWritesFirstSeesNoPresenceUntilTheOtherAnswers()
    {
        using var alice = await platform.CreateMemberAsync();
        using var stranger = await platform.CreateMemberAsync();
        await using var strangerSocket = await stranger.ConnectAsync(platform.Host);
        await strangerSocket.NextAsync("connection.established");
        var conversationId = await stranger.CreateConversationAsync(alice);
        var (hello, _) = await stranger.SendAsync(conversationId, "hello, you don't know me");
        await strangerSocket.NextAsync("message.created", d => d.GetProperty("message_id").GetGuid() == hello);

        var beforeAnswer = await stranger.Client.GetFromJsonAsync<JsonElement>($"/v1/presence?user_ids={alice.Id}");
        await using var aliceSocket = await alice.ConnectAsync(platform.Host);
        await aliceSocket.NextAsync("connection.established");
        var framesBeforeAnswer = await strangerSocket.DrainAsync(TimeSpan.FromSeconds(1));
        var (answer, _) = await alice.SendAsync(conversationId, "hi?");
        await strangerSocket.NextAsync("message.created", d => d.GetProperty("message_id").GetGuid() == answer);
        var afterAnswer = await PresenceOfAsync(stranger, alice.Id);

        Assert.Empty(beforeAnswer.GetProperty("items").EnumerateArray());
        Assert.DoesNotContain(framesBeforeAnswer, f => f.GetProperty("type").GetString() == "presence.changed");
        Assert.Equal("online", afterAnswer.GetProperty("status").GetString());
    }

    [Fact]
    public async Task PresenceShowsContactsOnlyAndChecksItsInput()
    {
        using var alice = await platform.CreateMemberAsync();
        using var stranger = await platform.CreateMemberAsync();
        await using var strangerSocket = await stranger.ConnectAsync(platform.Host);
        await strangerSocket.NextAsync("connection.established");

        var list = await alice.Client.GetFromJsonAsync<JsonElement>($"/v1/presence?user_ids={stranger.Id},{alice.Id}");
        using var bad = await alice.Client.GetAsync("/v1/presence?user_ids=nope");
        using var none = await alice.Client.GetAsync("/v1/presence");

        Assert.Equal([alice.Id], list.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("user_id").GetGuid()));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, none.StatusCode);
    }

    /// <summary>A conversation between the two, a message each way, the reply seen live: realtime knows they have exchanged messages.</summary>
    private static async Task BecomeContactsAsync(Member alice, Member bob, WsClient aliceSocket)
    {
        var conversationId = await alice.CreateConversationAsync(bob);
        await alice.SendAsync(conversationId, "hi");
        var (reply, _) = await bob.SendAsync(conversationId, "hi back");
        await aliceSocket.NextAsync("message.created", d => d.GetProperty("message_id").GetGuid() == reply);
    }

    private static async Task<JsonElement> PresenceOfAsync(Member viewer, Guid userId) =>
        (await viewer.Client.GetFromJsonAsync<JsonElement>($"/v1/presence?user_ids={userId}")).GetProperty("items").EnumerateArray().Single();
}
