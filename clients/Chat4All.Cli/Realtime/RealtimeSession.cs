using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using Chat4All.Cli.Api;

namespace Chat4All.Cli.Realtime;

/// <summary>A frame for the caller: as received, or rebuilt from history to fill a gap (<see cref="FromHistory"/>).</summary>
public sealed record RealtimeEvent(string Type, JsonElement Frame, Guid? ConversationId, Message? Message, bool FromHistory);

/// <summary>
/// One live view of the user's events that survives disconnects: it reconnects with jittered
/// exponential backoff (0.5 s doubling to 30 s, reset once connected), refreshes the token when the
/// server closes with 4001, sends <c>resume</c> with the last contiguous seq of every conversation as
/// its first frame, and hands over each conversation's messages exactly once and in seq order. A seq
/// that jumps (a replay the server capped, a conversation first seen mid-stream) is filled from
/// <c>GET /v1/conversations/{id}/messages?after_seq=</c> before the message that revealed it.
/// </summary>
public sealed class RealtimeSession(ApiClient api, TextWriter notices)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly Dictionary<Guid, long> _positions = [];

    /// <summary>Last contiguous seq per conversation (what a reconnect resumes from).</summary>
    public IReadOnlyDictionary<Guid, long> Positions => _positions;

    /// <summary>Reconnects so far (after the first connection).</summary>
    public int Reconnects { get; private set; }

    /// <summary>Starts conversations at known positions; conversations not listed start at 0 when first seen.</summary>
    public void Track(Guid conversationId, long lastSeq) => _positions[conversationId] = lastSeq;

    public async Task RunAsync(Func<RealtimeEvent, ValueTask<bool>> onEvent, CancellationToken cancellationToken)
    {
        var failures = 0;
        var connections = 0;
        var refreshToken = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            string token;
            try
            {
                token = await api.Tokens.GetAccessTokenAsync(refreshToken, cancellationToken);
            }
            catch (CliException ex) when (ex.ExitCode == ExitCodes.Unavailable)
            {
                // The host is down: keep trying, as for the socket itself. Refused credentials end the tail.
                await BackoffAsync(failures++, "cannot refresh the token (host unreachable)", cancellationToken);
                continue;
            }

            refreshToken = false;
            using var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
            try
            {
                await socket.ConnectAsync(WebSocketUri(api.Http.BaseAddress!), cancellationToken);
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                await BackoffAsync(failures++, $"cannot connect ({ex.Message})", cancellationToken);
                continue;
            }

            if (connections++ > 0)
            {
                Reconnects++;
            }

            // Resume first: the server holds live frames for a moment after connecting, waiting for it.
            if (_positions.Count > 0)
            {
                await SendAsync(socket, JsonSerializer.SerializeToUtf8Bytes(
                    new ClientFrame<ResumeData>("resume", new ResumeData(new Dictionary<Guid, long>(_positions))), CliJson.Default.ClientFrameResumeData),
                    cancellationToken);
            }

            var (stop, connected) = await ReceiveAsync(socket, onEvent, cancellationToken);
            if (stop || cancellationToken.IsCancellationRequested)
            {
                await CloseQuietlyAsync(socket);
                return;
            }

            if (connected)
            {
                failures = 0;
            }

            var code = (int?)socket.CloseStatus;
            var reason = socket.CloseStatusDescription;
            switch (code)
            {
                case 4001:
                    await notices.WriteLineAsync($"chat4all: disconnected ({code} {reason}); refreshing the token and reconnecting");
                    refreshToken = true;
                    break;
                case 4003:
                    throw new CliException($"The server refused the WebSocket ({code} {reason}): this client may not receive these events.", ExitCodes.Auth);
                default:
                    await BackoffAsync(failures++, code is null ? "connection lost" : $"disconnected ({code} {reason})", cancellationToken);
                    break;
            }
        }
    }

    private async Task<(bool Stop, bool Connected)> ReceiveAsync(ClientWebSocket socket, Func<RealtimeEvent, ValueTask<bool>> onEvent,
        CancellationToken cancellationToken)
    {
        var connected = false;
        var silence = TimeSpan.FromSeconds(70);
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (socket.State == WebSocketState.Open)
        {
            // The server pings every heartbeat interval; total silence for two of them means a dead link.
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            quiet.CancelAfter(silence);
            buffer.ResetWrittenCount();
            try
            {
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer.GetMemory(4096), quiet.Token);
                    buffer.Advance(result.Count);
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return (false, connected);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Abort();
                await notices.WriteLineAsync("chat4all: no frame (not even a ping) for " + silence.TotalSeconds + " s; reconnecting");
                return (false, connected);
            }
            catch (WebSocketException)
            {
                return (false, connected);
            }

            Frame frame;
            JsonElement whole;
            try
            {
                whole = JsonSerializer.Deserialize(buffer.WrittenSpan, CliJson.Default.JsonElement);
                frame = whole.Deserialize(CliJson.Default.Frame)!;
            }
            catch (JsonException)
            {
                continue; // not a frame of the contract: ignore, as a tolerant reader should
            }

            switch (frame.Type)
            {
                case "ping":
                    await SendAsync(socket, """{"type":"pong"}"""u8.ToArray(), cancellationToken);
                    break;
                case "connection.established":
                    connected = true;
                    var established = frame.Data.Deserialize(CliJson.Default.ConnectionEstablished);
                    if (established is { HeartbeatIntervalS: > 0 })
                    {
                        silence = TimeSpan.FromSeconds((established.HeartbeatIntervalS * 2) + 10);
                    }

                    await notices.WriteLineAsync($"chat4all: connected (instance {established?.ServerInstance}, resuming {_positions.Count} conversations)");
                    break;
                case "message.created":
                    var message = frame.Data.Deserialize(CliJson.Default.Message)!;
                    if (!await HandleMessageAsync(message, whole, onEvent, cancellationToken))
                    {
                        return (true, connected);
                    }

                    break;
                case "resumed":
                    var resumed = frame.Data.Deserialize(CliJson.Default.ResumedData)!;
                    if (!resumed.Recovered && !await FillAsync(resumed.ConversationId, long.MaxValue, onEvent, cancellationToken))
                    {
                        return (true, connected);
                    }

                    break;
                case "error":
                    var error = frame.Data.Deserialize(CliJson.Default.CloseCodeError);
                    await notices.WriteLineAsync($"chat4all: server error frame: {error?.Code} {error?.Message}");
                    break;
                default:
                    if (!await onEvent(new RealtimeEvent(frame.Type, whole, ConversationOf(frame.Data), null, false)))
                    {
                        return (true, connected);
                    }

                    break;
            }
        }

        return (false, connected);
    }

    private async Task<bool> HandleMessageAsync(Message message, JsonElement frame, Func<RealtimeEvent, ValueTask<bool>> onEvent, CancellationToken cancellationToken)
    {
        var last = _positions.GetValueOrDefault(message.ConversationId);
        if (message.Seq <= last)
        {
            return true; // already handed over (a replay overlapping what arrived live)
        }

        if (message.Seq > last + 1 && !await FillAsync(message.ConversationId, message.Seq - 1, onEvent, cancellationToken))
        {
            return false;
        }

        if (message.Seq <= _positions.GetValueOrDefault(message.ConversationId))
        {
            return true;
        }

        _positions[message.ConversationId] = message.Seq;
        return await onEvent(new RealtimeEvent("message.created", frame, message.ConversationId, message, false));
    }

    /// <summary>Hands over history after the conversation's position up to <paramref name="upToSeq"/> (inclusive).</summary>
    private async Task<bool> FillAsync(Guid conversationId, long upToSeq, Func<RealtimeEvent, ValueTask<bool>> onEvent, CancellationToken cancellationToken)
    {
        while (true)
        {
            var after = _positions.GetValueOrDefault(conversationId);
            if (after >= upToSeq)
            {
                return true;
            }

            var page = await api.GetAsync($"v1/conversations/{conversationId}/messages?after_seq={after}&limit=100", CliJson.Default.MessagePage, cancellationToken);
            using var raw = JsonDocument.Parse(page.Raw);
            var items = raw.RootElement.GetProperty("messages").EnumerateArray().ToList();
            var progressed = false;
            for (var i = 0; i < page.Value.Messages.Count; i++)
            {
                var message = page.Value.Messages[i];
                if (message.Seq <= _positions.GetValueOrDefault(conversationId) || message.Seq > upToSeq)
                {
                    continue;
                }

                _positions[conversationId] = message.Seq;
                progressed = true;
                var frame = JsonSerializer.SerializeToElement(new Frame("message.created", DateTimeOffset.UtcNow, items[i].Clone()), CliJson.Default.Frame);
                if (!await onEvent(new RealtimeEvent("message.created", frame, conversationId, message, true)))
                {
                    return false;
                }
            }

            if (!progressed || !page.Value.HasMore)
            {
                return true;
            }
        }
    }

    private async Task BackoffAsync(int failures, string why, CancellationToken cancellationToken)
    {
        var ceiling = Math.Min(MaxBackoff.TotalMilliseconds, 500 * Math.Pow(2, failures));
        var delay = TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() / 2)));
        await notices.WriteLineAsync($"chat4all: {why}; reconnecting in {delay.TotalSeconds:0.0} s");
        await Task.Delay(delay, cancellationToken);
    }

    private static async Task SendAsync(ClientWebSocket socket, byte[] frame, CancellationToken cancellationToken)
    {
        try
        {
            await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        catch (WebSocketException)
        {
            // The receive loop notices the broken socket and reconnects.
        }
    }

    private static async Task CloseQuietlyAsync(ClientWebSocket socket)
    {
        if (socket.State != WebSocketState.Open)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            socket.Abort();
        }
    }

    private static Guid? ConversationOf(JsonElement data) =>
        data.ValueKind == JsonValueKind.Object && data.TryGetProperty("conversation_id", out var id) && id.ValueKind == JsonValueKind.String
        && Guid.TryParse(id.GetString(), out var conversationId) ? conversationId : null;

    public static Uri WebSocketUri(Uri baseAddress) =>
        new UriBuilder(new Uri(baseAddress, "ws")) { Scheme = baseAddress.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" }.Uri;
}
