using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Contracts;

namespace Chat4All.Realtime.Tests;

/// <summary>Messages, read receipts and delivery statuses reach the members' sockets, on whichever instance holds them.</summary>
public sealed class LiveEventsTests(RealtimePlatform platform) : IClassFixture<RealtimePlatform>
{
    [Fact]
    public async Task TheConnectionIsEstablishedWithTheUserAndHeartbeatInterval()
    {
        using var alice = await platform.CreateMemberAsync();
        await using var socket = await alice.ConnectAsync(platform.Host);

        var established = await socket.NextAsync("connection.established");

        var data = established.GetProperty("data");
        Assert.Equal(alice.Id, data.GetProperty("user_id").GetGuid());
        Assert.Equal(30, data.GetProperty("heartbeat_interval_s").GetInt32());
        Assert.False(string.IsNullOrEmpty(data.GetProperty("connection_id").GetString()));
        Assert.True(established.TryGetProperty("timestamp", out _));
    }

    [Fact]
    public async Task AMessageFromAliceReachesBobsSocketWithItsSeqAndBobsReadReachesAlice()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        await using var aliceSocket = await alice.ConnectAsync(platform.Host);
        await using var bobSocket = await bob.ConnectAsync(platform.Host);
        await bobSocket.NextAsync("connection.established");
        var conversationId = await alice.CreateConversationAsync(bob);

        var (messageId, seq) = await alice.SendAsync(conversationId, "hello bob");
        var created = await bobSocket.NextAsync("message.created", d => d.GetProperty("message_id").GetGuid() == messageId);
        using var read = await bob.Client.PostAsJsonAsync($"/v1/conversations/{conversationId}/read", new { });
        var receipt = await aliceSocket.NextAsync("conversation.read", d => d.GetProperty("conversation_id").GetGuid() == conversationId);

        var message = created.GetProperty("data");
        Assert.Equal(seq, message.GetProperty("seq").GetInt64());
        Assert.Equal(alice.Id, message.GetProperty("sender_id").GetGuid());
        Assert.Equal("hello bob", message.GetProperty("payload").GetProperty("text").GetString());
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(bob.Id, receipt.GetProperty("data").GetProperty("user_id").GetGuid());
        Assert.Equal(seq, receipt.GetProperty("data").GetProperty("read_up_to_seq").GetInt64());
    }

    [Fact]
    public async Task DeliveryStatusesReachTheSendersSocket()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        using (var set = await bob.Client.PutAsJsonAsync("/v1/me/channels/sms", new { address = "+1777" + Random.Shared.NextInt64(1_000_000_000, 9_999_999_999) }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        await using var aliceSocket = await alice.ConnectAsync(platform.Host);
        await aliceSocket.NextAsync("connection.established");
        var conversationId = await alice.CreateConversationAsync(bob);

        var (messageId, _) = await alice.SendAsync(conversationId, "by sms", [Channels.Sms]);

        var sent = await aliceSocket.NextAsync("message.status_updated",
            d => d.GetProperty("message_id").GetGuid() == messageId && d.GetProperty("new_status").GetString() == "sent");
        var delivered = await aliceSocket.NextAsync("message.status_updated",
            d => d.GetProperty("message_id").GetGuid() == messageId && d.GetProperty("new_status").GetString() == "delivered");
        Assert.Equal(bob.Id, sent.GetProperty("data").GetProperty("recipient_id").GetGuid());
        Assert.Equal("sms", delivered.GetProperty("data").GetProperty("channel").GetString());
        Assert.Equal("sent", delivered.GetProperty("data").GetProperty("old_status").GetString());
    }

    [Fact]
    public async Task AnEventCausedThroughOneInstanceReachesASocketHeldByAnother()
    {
        var second = await platform.StartAnotherInstanceAsync();
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        await using var bobSocket = await bob.ConnectAsync(second);
        var established = await bobSocket.NextAsync("connection.established");
        var conversationId = await alice.CreateConversationAsync(bob);

        var (messageId, _) = await alice.SendAsync(conversationId, "across instances");

        await bobSocket.NextAsync("message.created", d => d.GetProperty("message_id").GetGuid() == messageId);
        Assert.NotNull(established.GetProperty("data").GetProperty("server_instance").GetString());
    }

    [Fact]
    public async Task AConversationCreatedWhileConnectedIsIncludedAndUnsubscribeStopsItsFrames()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        await using var bobSocket = await bob.ConnectAsync(platform.Host);
        await bobSocket.NextAsync("connection.established");
        var conversationId = await alice.CreateConversationAsync(bob);
        var (first, _) = await alice.SendAsync(conversationId, "first");
        await bobSocket.NextAsync("message.created", d => d.GetProperty("message_id").GetGuid() == first);

        await bobSocket.SendAsync(new { type = "unsubscribe", data = new { conversation_id = conversationId } });
        await Task.Delay(300);
        var (second, _) = await alice.SendAsync(conversationId, "second");
        var quiet = await bobSocket.DrainAsync(TimeSpan.FromSeconds(2));
        await bobSocket.SendAsync(new { type = "subscribe", data = new { conversation_id = conversationId } });
        await Task.Delay(300);
        var (third, _) = await alice.SendAsync(conversationId, "third");

        Assert.DoesNotContain(quiet, f => f.GetProperty("type").GetString() == "message.created"
            && f.GetProperty("data").GetProperty("message_id").GetGuid() == second);
        await bobSocket.NextAsync("message.created", d => d.GetProperty("message_id").GetGuid() == third);
    }
}
