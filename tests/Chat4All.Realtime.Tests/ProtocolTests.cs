using System.Net.WebSockets;
using Chat4All.Contracts;

namespace Chat4All.Realtime.Tests;

/// <summary>Bad clients get the close codes and error frames of the contract, and everyone else keeps being served.</summary>
public sealed class ProtocolTests(RealtimePlatform platform) : IClassFixture<RealtimePlatform>
{
    [Theory]
    [InlineData(null)]
    [InlineData("not-a-jwt")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")]
    public async Task AMissingOrInvalidTokenIsClosedWith4001BeforeAnyEvent(string? token)
    {
        await using var socket = await WsClient.ConnectAsync(platform.Host.BaseAddress, token);

        var status = await socket.WaitForCloseAsync();
        var frames = await socket.DrainAsync(TimeSpan.FromMilliseconds(100));

        Assert.Equal(4001, (int?)status);
        Assert.Empty(frames);
    }

    [Fact]
    public async Task ThePlainHttpRequestToTheWebSocketPathIsABadRequest()
    {
        using var member = await platform.CreateMemberAsync();

        using var response = await member.Client.GetAsync("/ws");

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("websocket_required", (await response.ReadJsonAsync()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task TheEleventhConnectionOfAUserIsClosedWith4008AndTheOtherTenStayOpen()
    {
        using var member = await platform.CreateMemberAsync();
        var sockets = new List<WsClient>();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                var socket = await member.ConnectAsync(platform.Host);
                await socket.NextAsync("connection.established");
                sockets.Add(socket);
            }

            await using var eleventh = await member.ConnectAsync(platform.Host);
            Assert.Equal(4008, (int?)await eleventh.WaitForCloseAsync());
            Assert.Equal("connection_limit", eleventh.CloseDescription);
            Assert.All(sockets, s => Assert.Null(s.CloseStatus));

            // One leaves, and a new one is let in.
            await sockets[0].DisposeAsync();
            sockets.RemoveAt(0);
            await Task.Delay(300);
            var replacement = await member.ConnectAsync(platform.Host);
            sockets.Add(replacement);
            await replacement.NextAsync("connection.established");
        }
        finally
        {
            foreach (var socket in sockets)
            {
                await socket.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task SubscribingToSomeoneElsesConversationGetsANotAMemberErrorFrame()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        using var eve = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);
        await using var socket = await eve.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");

        await socket.SendAsync(new { type = "subscribe", data = new { conversation_id = conversationId } });
        var error = await socket.NextAsync("error");
        await alice.SendAsync(conversationId, "not for eve");

        Assert.Equal("not_a_member", error.GetProperty("data").GetProperty("code").GetString());
        Assert.DoesNotContain(await socket.DrainAsync(TimeSpan.FromSeconds(1)), f => f.GetProperty("type").GetString() == "message.created");
    }

    [Fact]
    public async Task AUserOfAnotherTenantGetsNotAMemberForEveryConversationFrameAndNothingOfTheConversationOrItsMembers()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        using var mallory = await platform.CreateMemberAsync(tenantId: Guid.NewGuid());
        var conversationId = await alice.CreateConversationAsync(bob);
        await alice.SendAsync(conversationId, "before mallory");
        await using var socket = await mallory.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");

        await socket.SendAsync(new { type = "subscribe", data = new { conversation_id = conversationId } });
        var subscribe = await socket.NextAsync("error");
        await socket.SendAsync(new { type = "resume", data = new { positions = new Dictionary<string, long> { [conversationId.ToString()] = 0 } } });
        var resume = await socket.NextAsync("error");
        await using (var bobOnline = await bob.ConnectAsync(platform.Host))
        {
            await bobOnline.NextAsync("connection.established");
            await alice.SendAsync(conversationId, "not for mallory");
            await bobOnline.NextAsync("message.created");
        }

        Assert.Equal(("not_a_member", "not_a_member"), (subscribe.GetProperty("data").GetProperty("code").GetString(), resume.GetProperty("data").GetProperty("code").GetString()));
        var seen = await socket.DrainAsync(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(seen, f => f.GetRawText().Contains(conversationId.ToString(), StringComparison.OrdinalIgnoreCase) && f.GetProperty("type").GetString() != "error");
        Assert.DoesNotContain(seen, f => f.GetRawText().Contains(alice.Id.ToString(), StringComparison.OrdinalIgnoreCase) || f.GetRawText().Contains(bob.Id.ToString(), StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task GarbageFramesGetErrorFramesAndTheConnectionKeepsWorking()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);
        await using var socket = await bob.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");

        string[] garbage = ["not json", "{}", "[1,2]", """{"type":42}""", """{"type":"teleport"}""", """{"type":"subscribe","data":{"conversation_id":"nope"}}"""];
        foreach (var frame in garbage)
        {
            await socket.SendRawAsync(frame);
        }

        var codes = new List<string>();
        for (var i = 0; i < garbage.Length; i++)
        {
            codes.Add((await socket.NextAsync("error")).GetProperty("data").GetProperty("code").GetString()!);
        }

        var (messageId, _) = await alice.SendAsync(conversationId, "still here?");
        await socket.NextAsync("message.created", d => d.GetProperty("message_id").GetGuid() == messageId);
        Assert.Equal(["invalid_frame", "invalid_frame", "invalid_frame", "invalid_frame", "unknown_frame_type", "invalid_frame"], codes);
    }

    [Fact]
    public async Task AnOversizedFrameClosesWith1009AndOtherClientsAreUnaffected()
    {
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        var conversationId = await alice.CreateConversationAsync(bob);
        await using var bystander = await bob.ConnectAsync(platform.Host);
        await bystander.NextAsync("connection.established");
        await using var offender = await alice.ConnectAsync(platform.Host);
        await offender.NextAsync("connection.established");

        await offender.SendBytesAsync(new byte[64 * 1024]);

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await offender.WaitForCloseAsync());
        var (messageId, _) = await alice.SendAsync(conversationId, "the others are fine");
        await bystander.NextAsync("message.created", d => d.GetProperty("message_id").GetGuid() == messageId);
    }

    [Fact]
    public async Task AClientFloodingFramesIsClosedWith4008()
    {
        using var member = await platform.CreateMemberAsync();
        await using var socket = await member.ConnectAsync(platform.Host);
        await socket.NextAsync("connection.established");

        for (var i = 0; i < 200 && socket.CloseStatus is null; i++)
        {
            try
            {
                await socket.SendAsync(new { type = "pong" });
            }
            catch (WebSocketException)
            {
                break; // closed under us
            }
        }

        Assert.Equal(4008, (int?)await socket.WaitForCloseAsync());
        Assert.Equal("rate_limited", socket.CloseDescription);
    }
}
