using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Chat4All.Contracts.Realtime;
using Chat4All.Contracts;

namespace Chat4All.Client;

/// <summary>
/// One event for the caller: the frame's type, its data as the contract's record
/// (<see cref="MessageCreatedData"/>, <see cref="MessageStatusUpdatedData"/>, <see cref="ConversationReadData"/>,
/// <see cref="PresenceChangedData"/>; null for types this client has no record of), the frame as sent,
/// and whether it was rebuilt from history to fill a gap.
/// </summary>
public sealed record RealtimeEvent(string Type, DateTimeOffset? Timestamp, object? Data, JsonElement Frame, Guid? ConversationId, bool FromHistory)
{
    /// <summary>The message of a <c>message.created</c> event.</summary>
    public MessageCreatedData? Message => Data as MessageCreatedData;
}

/// <summary>
/// One live view of the user's events (<c>/ws</c>) that survives disconnects: it reconnects with
/// jittered exponential backoff (0.5 s doubling to 30 s, reset once connected), refreshes the token when
/// the server closes with 4001, sends <c>resume</c> with the last contiguous seq of every conversation as
/// its first frame, and hands over each conversation's messages exactly once and in seq order. A seq
/// that jumps (a replay the server capped, a conversation first seen mid-stream) is filled from
/// <c>GET /v1/conversations/{id}/messages?after_seq=</c> before the message that revealed it. A close
/// with 4003 ends the session with a <see cref="Chat4AllApiException"/> (403).
/// </summary>
public sealed class RealtimeSession(ApiConnection api, Action<string>? notice = null)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly Dictionary<Guid, long> _positions = [];

    /// <summary>Last contiguous seq handed over per conversation (what a reconnect resumes from); read it between events, not while they flow.</summary>
    public IReadOnlyDictionary<Guid, long> Positions => _positions;

    /// <summary>Reconnects so far (after the first connection).</summary>
    public int Reconnects { get; private set; }

    /// <summary>The first backoff after a failed connection; each failure doubles it (up to 30 s).</summary>
    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Starts a conversation at a known position; conversations not tracked start at 0 when first seen.</summary>
    public void Track(Guid conversationId, long lastSeq) => _positions[conversationId] = lastSeq;

    /// <summary>The events as an async stream, until cancelled or the caller stops reading (at most one event waits in between).</summary>
    public async IAsyncEnumerable<RealtimeEvent> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var events = Channel.CreateBounded<RealtimeEvent>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        var pump = PumpAsync(events.Writer, stop.Token);
        try
        {
            // Ends with the session's own failure (a 4003 refusal), which the pump completes the channel with.
            await foreach (var e in events.Reader.ReadAllAsync(cancellationToken))
            {
                yield return e;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAny(pump);
        }
    }

    private async Task PumpAsync(ChannelWriter<RealtimeEvent> writer, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        try
        {
            await RunAsync(async e =>
            {
                await writer.WriteAsync(e, cancellationToken);
                return true;
            }, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The reader stopped, or its token was cancelled.
        }
        catch (Exception ex)
        {
            failure = ex; // handed to the reader through the channel, whatever it is: the reader must not wait forever
        }
        finally
        {
            writer.TryComplete(failure);
        }
    }

    /// <summary>Hands every event to <paramref name="onEvent"/> until it answers false or the token is cancelled.</summary>
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
            catch (HttpRequestException) when (!cancellationToken.IsCancellationRequested)
            {
                // The host is down: keep trying, as for the socket itself. Refused credentials end the session.
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
                    new ClientFrame<ResumeData>(FrameTypes.Resume, new ResumeData(new Dictionary<Guid, long>(_positions))),
                    ContractJsonContext.Default.ClientFrameResumeData), cancellationToken);
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
                case CloseCodes.Unauthorized:
                    notice?.Invoke($"disconnected ({code} {reason}); refreshing the token and reconnecting");
                    refreshToken = true;
                    break;
                case CloseCodes.Forbidden:
                    throw new Chat4AllApiException(HttpMethod.Get, "/ws", HttpStatusCode.Forbidden,
                        new ApiProblem(null, "Forbidden", 403, $"The server refused the WebSocket ({code} {reason}): this client may not receive these events.",
                            null, reason ?? "forbidden", null, null), null, null);
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
                notice?.Invoke($"no frame (not even a ping) for {silence.TotalSeconds} s; reconnecting");
                return (false, connected);
            }
            catch (WebSocketException)
            {
                return (false, connected);
            }

            ServerFrame<JsonElement> frame;
            JsonElement whole;
            try
            {
                whole = JsonSerializer.Deserialize(buffer.WrittenSpan, ContractJsonContext.Default.JsonElement);
                frame = whole.Deserialize(ContractJsonContext.Default.ServerFrameJsonElement)!;
            }
            catch (JsonException)
            {
                continue; // not a frame of the contract: ignore, as a tolerant reader should
            }

            switch (frame.Type)
            {
                case FrameTypes.Ping:
                    await SendAsync(socket, """{"type":"pong"}"""u8.ToArray(), cancellationToken);
                    break;
                case FrameTypes.ConnectionEstablished:
                    connected = true;
                    var established = frame.Data.Deserialize(ContractJsonContext.Default.ConnectionEstablishedData);
                    if (established is { HeartbeatIntervalS: > 0 })
                    {
                        silence = TimeSpan.FromSeconds((established.HeartbeatIntervalS * 2) + 10);
                    }

                    notice?.Invoke($"connected (instance {established?.ServerInstance}, resuming {_positions.Count} conversations)");
                    break;
                case FrameTypes.MessageCreated:
                    var message = frame.Data.Deserialize(ContractJsonContext.Default.MessageCreatedData)!;
                    if (!await HandleMessageAsync(new RealtimeEvent(frame.Type, frame.Timestamp, message, whole, message.ConversationId, false), onEvent,
                        cancellationToken))
                    {
                        return (true, connected);
                    }

                    break;
                case FrameTypes.Resumed:
                    var resumed = frame.Data.Deserialize(ContractJsonContext.Default.ResumedData)!;
                    if (!resumed.Recovered && !await FillAsync(resumed.ConversationId, long.MaxValue, onEvent, cancellationToken))
                    {
                        return (true, connected);
                    }

                    break;
                case FrameTypes.Error:
                    var error = frame.Data.Deserialize(ContractJsonContext.Default.ErrorData);
                    notice?.Invoke($"server error frame: {error?.Code} {error?.Message}");
                    break;
                default:
                    var data = Typed(frame);
                    if (!await onEvent(new RealtimeEvent(frame.Type, frame.Timestamp, data, whole, ConversationOf(frame.Data), false)))
                    {
                        return (true, connected);
                    }

                    break;
            }
        }

        return (false, connected);
    }

    private static object? Typed(ServerFrame<JsonElement> frame)
    {
        try
        {
            return frame.Type switch
            {
                FrameTypes.MessageStatusUpdated => frame.Data.Deserialize(ContractJsonContext.Default.MessageStatusUpdatedData),
                FrameTypes.ConversationRead => frame.Data.Deserialize(ContractJsonContext.Default.ConversationReadData),
                FrameTypes.PresenceChanged => frame.Data.Deserialize(ContractJsonContext.Default.PresenceChangedData),
                _ => null,
            };
        }
        catch (JsonException)
        {
            return null; // a newer shape than this client knows: the raw frame is still there
        }
    }

    private async Task<bool> HandleMessageAsync(RealtimeEvent e, Func<RealtimeEvent, ValueTask<bool>> onEvent, CancellationToken cancellationToken)
    {
        var message = e.Message!;
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
        return await onEvent(e);
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

            var page = await api.GetAsync($"v1/conversations/{conversationId}/messages?after_seq={after}&limit=100", ContractJsonContext.Default.MessagePage,
                cancellationToken);
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
                var now = DateTimeOffset.UtcNow;
                var frame = JsonSerializer.SerializeToElement(new ServerFrame<JsonElement>(FrameTypes.MessageCreated, now, items[i].Clone()), ContractJsonContext.Default.ServerFrameJsonElement);
                var data = new MessageCreatedData(message.MessageId, message.ConversationId, message.Seq, message.SenderId, message.Payload,
                    message.Channels ?? [], message.Status ?? "", message.CreatedAt);
                if (!await onEvent(new RealtimeEvent(FrameTypes.MessageCreated, now, data, frame, conversationId, true)))
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
        var ceiling = Math.Min(MaxBackoff.TotalMilliseconds, FirstBackoff.TotalMilliseconds * Math.Pow(2, failures));
        var delay = TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() / 2)));
        notice?.Invoke($"{why}; reconnecting in {delay.TotalSeconds:0.0} s");
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

    /// <summary>The <c>/ws</c> address of a host (<c>ws:</c> or <c>wss:</c> as the host's scheme says).</summary>
    public static Uri WebSocketUri(Uri baseAddress) =>
        new UriBuilder(new Uri(baseAddress, "ws")) { Scheme = baseAddress.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" }.Uri;
}
