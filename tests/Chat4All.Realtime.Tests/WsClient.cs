using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Chat4All.Realtime.Tests;

/// <summary>
/// A real WebSocket client: reads every frame into a queue, answers pings with pongs (unless told
/// not to), and remembers how the server closed the connection.
/// </summary>
internal sealed class WsClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly Channel<JsonElement> _frames = Channel.CreateUnbounded<JsonElement>();
    private readonly CancellationTokenSource _stop = new();
    private Task _reading = Task.CompletedTask;

    public bool AnswerPings { get; init; } = true;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseDescription => _socket.CloseStatusDescription;

    public Task Closed => _reading;

    public static async Task<WsClient> ConnectAsync(Uri baseAddress, string? token, bool answerPings = true)
    {
        var client = new WsClient { AnswerPings = answerPings };
        var uri = new UriBuilder(baseAddress) { Scheme = "ws", Path = "/ws", Query = token is null ? "" : "token=" + Uri.EscapeDataString(token) }.Uri;
        await client._socket.ConnectAsync(uri, CancellationToken.None);
        client._reading = client.ReadAsync();
        return client;
    }

    /// <summary>The next frame of <paramref name="type"/> matching <paramref name="match"/>; frames before it are skipped.</summary>
    public async Task<JsonElement> NextAsync(string type, Func<JsonElement, bool>? match = null, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        try
        {
            while (true)
            {
                var frame = await _frames.Reader.ReadAsync(cancel.Token);
                if (frame.GetProperty("type").GetString() == type && (match is null || match(frame.GetProperty("data"))))
                {
                    return frame;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No '{type}' frame arrived in time (socket {_socket.State}, close {CloseStatus} {CloseDescription}).");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"The socket closed ({CloseStatus} {CloseDescription}) before a '{type}' frame arrived.");
        }
    }

    /// <summary>The next frame, whatever its type.</summary>
    public async Task<JsonElement> NextAnyAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        return await _frames.Reader.ReadAsync(cancel.Token);
    }

    /// <summary>Every frame received from now until <paramref name="quiet"/> passes without one.</summary>
    public async Task<List<JsonElement>> DrainAsync(TimeSpan quiet)
    {
        var frames = new List<JsonElement>();
        while (true)
        {
            using var cancel = new CancellationTokenSource(quiet);
            try
            {
                frames.Add(await _frames.Reader.ReadAsync(cancel.Token));
            }
            catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
            {
                return frames;
            }
        }
    }

    public Task SendAsync(object frame) => SendRawAsync(JsonSerializer.Serialize(frame));

    public Task SendRawAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    public Task SendBytesAsync(byte[] bytes) => _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>Waits until the server has closed the socket; returns its close status.</summary>
    public async Task<WebSocketCloseStatus?> WaitForCloseAsync(TimeSpan? timeout = null)
    {
        await _reading.WaitAsync(timeout ?? TimeSpan.FromSeconds(20));
        return CloseStatus;
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // already gone
            }
        }

        await _stop.CancelAsync();
        try
        {
            await _reading.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or WebSocketException)
        {
            // the reader ends with the socket
        }

        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer, _stop.Token);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var frame = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
                if (AnswerPings && frame.GetProperty("type").GetString() == "ping")
                {
                    await SendAsync(new { type = "pong" });
                }

                await _frames.Writer.WriteAsync(frame);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // closed under us
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }
}
