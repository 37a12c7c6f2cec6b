using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Chat4All.Realtime.Tests;

/// <summary>The platform with a one-second heartbeat and a half-second pong timeout, so a silent client is found in seconds.</summary>
public sealed class ShortHeartbeatPlatform : RealtimePlatform
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Chat4All:Realtime:HeartbeatInterval"] = "00:00:01",
        ["Chat4All:Realtime:PongTimeout"] = "00:00:00.500",
    };
}

/// <summary>A socket that stops answering pings is closed with 1001 <c>pong_timeout</c> within a bounded time.</summary>
public sealed class PongTimeoutTests(ShortHeartbeatPlatform platform) : IClassFixture<ShortHeartbeatPlatform>
{
    [Fact]
    public async Task AClientThatReadsButNeverAnswersPingsIsClosedWithPongTimeout()
    {
        using var bob = await platform.CreateMemberAsync();
        var watch = Stopwatch.StartNew();
        await using var socket = await bob.ConnectAsync(platform.Host, answerPings: false);

        await socket.NextAsync("ping");
        var status = await socket.WaitForCloseAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, status); // 1001
        Assert.Equal("pong_timeout", socket.CloseDescription);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task AClientThatAnswersPingsStaysOpenPastSeveralHeartbeats()
    {
        using var bob = await platform.CreateMemberAsync();
        await using var socket = await bob.ConnectAsync(platform.Host);

        await socket.NextAsync("ping");
        await socket.NextAsync("ping");
        await socket.NextAsync("ping");

        Assert.Null(socket.CloseStatus);
    }

    [Fact]
    public async Task AClientThatStopsReadingAltogetherFindsTheServersCloseWhenItReadsAgain()
    {
        using var bob = await platform.CreateMemberAsync();
        using var raw = new ClientWebSocket();
        // No automatic protocol-level keep-alive from the client either: it is silent.
        raw.Options.KeepAliveInterval = TimeSpan.Zero;
        var uri = new UriBuilder(platform.Host.BaseAddress) { Scheme = "ws", Path = "/ws", Query = "token=" + Uri.EscapeDataString(bob.Token) }.Uri;
        await raw.ConnectAsync(uri, CancellationToken.None);

        // Not reading for longer than a heartbeat plus the pong timeout (the server waits five more
        // seconds for the close handshake before it drops the socket, so the close frame is still there).
        await Task.Delay(TimeSpan.FromSeconds(3));
        var types = new List<string>();
        var buffer = new byte[64 * 1024];
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            var result = await raw.ReceiveAsync(buffer, bounded.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                break;
            }

            types.Add(JsonDocument.Parse(Encoding.UTF8.GetString(buffer, 0, result.Count)).RootElement.GetProperty("type").GetString()!);
        }

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, raw.CloseStatus);
        Assert.Equal("pong_timeout", raw.CloseStatusDescription);
        Assert.Equal(["connection.established", "ping"], types.Distinct());
    }
}
