using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.RateLimiting;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Presence;
using Chat4All.Contracts;
using Chat4All.Contracts.Realtime;
using Chat4All.Realtime.Data;
using Chat4All.Realtime.Fanout;
using Chat4All.Realtime.Presence;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;

namespace Chat4All.Realtime.Connections;

/// <summary>
/// <c>GET /ws</c> (docs/api.md §7). The socket is accepted first so that every refusal is a
/// close code the client can read: 4001 for a missing, invalid or expired token (checked before any
/// event flows), 4008 over the per-user connection limit. Then <c>connection.established</c>, and
/// events of all the user's conversations — the fan-out targets members, so conversations created
/// while connected are included — until the client unsubscribes. Client frames are rate limited
/// (4008), size limited (1009), and a malformed one gets an <c>error</c> frame, never a crash.
/// </summary>
public static partial class WebSocketEndpoint
{
    public static IEndpointRouteBuilder MapWebSocketEndpoint(this IEndpointRouteBuilder endpoints)
    {
        endpoints.Map("/ws", HandleAsync)
            .AllowAnonymous() // the token is checked after the upgrade, so a refusal is a close code (4001)
            .WithTags("Realtime").WithName("WebSocket");
        return endpoints;
    }

    public static async Task HandleAsync(HttpContext http, RealtimeFanout fanout, IPresenceTracker presence, PresenceAnnouncer announcer,
        RealtimeMetrics metrics, IOptions<RealtimeOptions> options, IServiceScopeFactory scopes, TimeProvider time, ILoggerFactory loggers)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            await Problems.Problem(StatusCodes.Status400BadRequest, "websocket_required", "GET /ws must be a WebSocket upgrade.").ExecuteAsync(http);
            return;
        }

        var settings = options.Value;
        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        var aborted = http.RequestAborted;
        if (http.User.Identity?.IsAuthenticated != true || http.User.FindFirst(ChatClaims.Subject)?.Value is not { } subject
            || !Guid.TryParse(subject, out var userId))
        {
            await CloseAsync(socket, CloseCodes.Unauthorized, "unauthorized", metrics);
            return;
        }

        var expires = http.User.GetExpirationDate(); // OpenIddict keeps the token's exp as its own claim
        using var connection = new RealtimeConnection(socket, userId, expires, settings.SendQueueCapacity, metrics, time.GetUtcNow());
        var logger = loggers.CreateLogger(typeof(WebSocketEndpoint).FullName!);
        var joined = await presence.ConnectAsync(userId, connection.Id, fanout.InstanceId, settings.MaxConnectionsPerUser, aborted);
        if (!joined.Accepted)
        {
            await CloseAsync(socket, CloseCodes.PolicyViolation, "connection_limit", metrics);
            return;
        }

        metrics.Opened();
        try
        {
            // Queued before the connection is visible to the heartbeat and the fan-out, so it is always the first frame.
            connection.Send(Bytes(Frames.Serialize(FrameTypes.ConnectionEstablished, new ConnectionEstablishedData(
                userId, connection.Id, fanout.InstanceId, (int)settings.HeartbeatInterval.TotalSeconds), time.GetUtcNow())));
            await fanout.AddAsync(connection);
            await announcer.AnnounceAsync(joined.Change, aborted);

            // Replay is the one kind of work whose cost grows with data; it is paced by a budget of its own,
            // waited for rather than refused, so a long replay slows this connection down instead of the host.
            using var replayBudget = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = settings.ReplayPagesPerSecond * 2,
                TokensPerPeriod = settings.ReplayPagesPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = settings.ReplayPagesPerSecond * 2,
                AutoReplenishment = true,
            });
            var writing = connection.WriteAsync(aborted);
            var reading = ReadAsync(socket, connection, settings, replayBudget, scopes, metrics, time, logger, aborted);
            var catchingUp = CatchUpAsync(connection, settings, replayBudget, scopes, time, logger, aborted);
            var closing = Task.Delay(Timeout.Infinite, connection.Closing).ContinueWith(_ => { }, TaskScheduler.Default);
            await Task.WhenAny(reading, writing, closing);
            // Once either side has closed, the other gets a few seconds to finish the handshake (send
            // our close frame, read the client's) before the socket is dropped. A pending receive is
            // never cancelled for this, because that would abort the socket before our close frame
            // went out; a client that stopped reading cannot block the close for more than that.
            var both = Task.WhenAll(reading, writing);
            await Task.WhenAny(both, Task.Delay(TimeSpan.FromSeconds(5), time, CancellationToken.None));
            if (!both.IsCompleted)
            {
                socket.Abort();
            }

            connection.Complete();
            await both;
            await catchingUp;
        }
        finally
        {
            metrics.Gone();
            await fanout.RemoveAsync(connection);
            try
            {
                var left = await presence.DisconnectAsync(userId, connection.Id, CancellationToken.None);
                await announcer.AnnounceAsync(left.Change, CancellationToken.None);
            }
            catch (Exception ex)
            {
                // The heartbeat stops renewing this connection, so presence expires it anyway.
                LogPresenceLeaveFailed(logger, ex, userId);
            }
        }
    }

    private static async Task ReadAsync(WebSocket socket, RealtimeConnection connection, RealtimeOptions settings, RateLimiter replayBudget,
        IServiceScopeFactory scopes, RealtimeMetrics metrics, TimeProvider time, ILogger logger, CancellationToken aborted)
    {
        using var limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = settings.InboundFramesPerSecond * 2,
            TokensPerPeriod = settings.InboundFramesPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
        var buffer = new ArrayBufferWriter<byte>(1024);
        try
        {
            while (!aborted.IsCancellationRequested && connection.CloseRequested is null)
            {
                // Wait for data without holding a buffer: idle connections cost no receive memory.
                if ((await socket.ReceiveAsync(Memory<byte>.Empty, aborted)).MessageType == WebSocketMessageType.Close)
                {
                    connection.Close(CloseCodes.Normal, "closed by client");
                    return;
                }

                buffer.ResetWrittenCount();
                ValueWebSocketReceiveResult result;
                do
                {
                    if (buffer.WrittenCount >= settings.MaxInboundFrameBytes)
                    {
                        connection.Close(CloseCodes.MessageTooBig, "frame_too_large");
                        return;
                    }

                    result = await socket.ReceiveAsync(buffer.GetMemory(1024), aborted);
                    buffer.Advance(result.Count);
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    connection.Close(CloseCodes.Normal, "closed by client");
                    return;
                }

                if (buffer.WrittenCount > settings.MaxInboundFrameBytes)
                {
                    connection.Close(CloseCodes.MessageTooBig, "frame_too_large");
                    return;
                }

                metrics.FrameIn();
                using var lease = limiter.AttemptAcquire();
                if (!lease.IsAcquired)
                {
                    connection.Close(CloseCodes.PolicyViolation, "rate_limited");
                    return;
                }

                await HandleFrameAsync(connection, buffer.WrittenSpan.ToArray(), result.MessageType, settings, replayBudget, scopes, time, aborted);
            }
        }
        catch (OperationCanceledException)
        {
            // closing, or the client's request was aborted
        }
        catch (WebSocketException ex)
        {
            LogSocketFailed(logger, ex, connection.UserId, connection.Id);
        }
    }

    private static async Task HandleFrameAsync(RealtimeConnection connection, byte[] frame, WebSocketMessageType type, RealtimeOptions settings,
        RateLimiter replayBudget, IServiceScopeFactory scopes, TimeProvider time, CancellationToken cancellationToken)
    {
        ClientFrame? parsed;
        try
        {
            parsed = type == WebSocketMessageType.Text ? JsonSerializer.Deserialize<ClientFrame>(frame, ClientFrameJson.Options) : null;
        }
        catch (JsonException)
        {
            parsed = null;
        }

        if (parsed?.Type is not { } frameType)
        {
            SendError(connection, "invalid_frame", "Frames are JSON text: {\"type\": ..., \"data\": {...}}.", time);
            return;
        }

        if (frameType != FrameTypes.Resume)
        {
            connection.ReleaseHeld(); // the client is not resuming first: nothing to wait for
        }

        switch (frameType)
        {
            case FrameTypes.Pong:
                connection.PongReceived(time.GetUtcNow());
                break;
            case FrameTypes.Subscribe or FrameTypes.Unsubscribe:
                if (ConversationOf(parsed.Data) is not { } conversationId)
                {
                    SendError(connection, "invalid_frame", $"{frameType} needs data.conversation_id.", time);
                    break;
                }

                if (frameType == FrameTypes.Unsubscribe)
                {
                    connection.Unsubscribe(conversationId);
                }
                else if (await IsMemberAsync(scopes, conversationId, connection.UserId, cancellationToken))
                {
                    connection.Subscribe(conversationId);
                }
                else
                {
                    SendError(connection, "not_a_member", "You are not a member of this conversation.", time);
                }

                break;
            case FrameTypes.Resume:
                await ResumeAsync(connection, parsed.Data, settings, replayBudget, scopes, time, cancellationToken);
                break;
            default:
                SendError(connection, "unknown_frame_type", $"Unknown frame type '{frameType}'.", time);
                break;
        }
    }

    /// <summary>
    /// Replays every logged frame (messages, edits, deletes) after each given position, in seq order, then
    /// hands over to live frames: live frames of the conversation are held from before the replay
    /// query, and only those past the replay's last seq are sent after it — no gap, no duplicate.
    /// A conversation named twice is resumed once, from its lowest position; more than
    /// <see cref="RealtimeOptions.MaxResumeConversations"/> conversations refuse the frame before any
    /// query, and membership of all of them is one query (docs/adr/0029).
    /// </summary>
    private static async Task ResumeAsync(RealtimeConnection connection, JsonElement? data, RealtimeOptions settings, RateLimiter replayBudget,
        IServiceScopeFactory scopes, TimeProvider time, CancellationToken cancellationToken)
    {
        if (data is not { ValueKind: JsonValueKind.Object } body || !body.TryGetProperty("positions", out var positions)
            || positions.ValueKind != JsonValueKind.Object)
        {
            SendError(connection, "invalid_frame", "resume needs data.positions: {conversation_id: last_seq}.", time);
            return;
        }

        var requested = new Dictionary<Guid, long>();
        foreach (var position in positions.EnumerateObject())
        {
            if (!Guid.TryParse(position.Name, out var conversationId) || position.Value.ValueKind != JsonValueKind.Number
                || !position.Value.TryGetInt64(out var fromSeq) || fromSeq < 0)
            {
                SendError(connection, "invalid_frame", $"'{position.Name}' is not a conversation id with a non-negative seq.", time);
                continue;
            }

            requested[conversationId] = requested.TryGetValue(conversationId, out var earlier) ? Math.Min(earlier, fromSeq) : fromSeq;
            if (requested.Count > settings.MaxResumeConversations)
            {
                SendError(connection, "too_many_positions",
                    $"resume names at most {settings.MaxResumeConversations} conversations; resume the rest in another frame.", time);
                return;
            }
        }

        var memberOf = await MemberOfAsync(scopes, connection.UserId, [.. requested.Keys], cancellationToken);
        var wanted = new List<(Guid ConversationId, long FromSeq)>();
        foreach (var (conversationId, fromSeq) in requested)
        {
            if (memberOf.Contains(conversationId))
            {
                wanted.Add((conversationId, fromSeq));
            }
            else
            {
                SendError(connection, "not_a_member", $"You are not a member of conversation {conversationId}.", time);
            }
        }

        connection.BeginResume([.. wanted.Select(w => w.ConversationId)]);
        foreach (var (conversationId, fromSeq) in wanted)
        {
            var after = fromSeq;
            var truncated = false;
            try
            {
                (after, truncated) = await ReplayAsync(connection, conversationId, fromSeq, settings, replayBudget, scopes, time, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                connection.EndResume(conversationId, fromSeq); // never leave live frames held back
                SendError(connection, "resume_failed", $"Could not replay conversation {conversationId}; resume again.", time);
                continue;
            }

            // Past a truncated replay the client pages history for the rest (recovered: false).
            var sent = connection.EndResume(conversationId, fromSeq);
            connection.Send(Bytes(Frames.Serialize(FrameTypes.Resumed,
                new ResumedData(conversationId, fromSeq, truncated ? after : sent, !truncated), time.GetUtcNow())));
        }
    }

    /// <summary>
    /// Runs the connection's server-side catch-ups (<see cref="RealtimeConnection.CatchUps"/>): the
    /// missing seqs are replayed from the message log, then the live frames held behind them go out.
    /// A failed replay still releases them, so the client sees the gap and resumes on its own.
    /// </summary>
    private static async Task CatchUpAsync(RealtimeConnection connection, RealtimeOptions settings, RateLimiter replayBudget,
        IServiceScopeFactory scopes, TimeProvider time, ILogger logger, CancellationToken aborted)
    {
        try
        {
            await foreach (var (conversationId, afterSeq) in connection.CatchUps.ReadAllAsync(aborted))
            {
                try
                {
                    await ReplayAsync(connection, conversationId, afterSeq, settings, replayBudget, scopes, time, aborted);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogCatchUpFailed(logger, ex, conversationId, connection.Id);
                }
                finally
                {
                    connection.EndResume(conversationId, afterSeq);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the connection is gone
        }
    }

    /// <summary>
    /// Sends the logged frames after <paramref name="fromSeq"/> in pages, each page
    /// waiting for the connection's replay budget; returns the last seq and whether the cap cut it short.
    /// </summary>
    private static async Task<(long Last, bool Truncated)> ReplayAsync(RealtimeConnection connection, Guid conversationId, long fromSeq,
        RealtimeOptions settings, RateLimiter replayBudget, IServiceScopeFactory scopes, TimeProvider time, CancellationToken cancellationToken)
    {
        const int PageSize = 100;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RealtimeDbContext>();
        var after = fromSeq;
        var replayed = 0;
        while (true)
        {
            using (var lease = await replayBudget.AcquireAsync(1, cancellationToken))
            {
                if (!lease.IsAcquired)
                {
                    return (after, true); // the budget's queue is full: page history instead
                }
            }

            var page = await db.MessageLog.AsNoTracking()
                .Where(m => m.ConversationId == conversationId && m.Seq > after)
                .OrderBy(m => m.Seq).Take(PageSize).Select(m => new { m.Seq, m.FrameType, m.Data })
                .ToListAsync(cancellationToken);
            foreach (var message in page)
            {
                if (replayed == settings.MaxReplayPerConversation)
                {
                    return (after, true);
                }

                connection.Replay(conversationId, message.Seq, Bytes(Frames.SerializeRaw(message.FrameType, message.Data, time.GetUtcNow())));
                after = message.Seq;
                replayed++;
            }

            if (page.Count < PageSize)
            {
                return (after, false);
            }
        }
    }

    private static async Task<HashSet<Guid>> MemberOfAsync(IServiceScopeFactory scopes, Guid userId, Guid[] ids, CancellationToken cancellationToken)
    {
        if (ids.Length == 0)
        {
            return [];
        }

        await using var scope = scopes.CreateAsyncScope();
        return [.. await scope.ServiceProvider.GetRequiredService<RealtimeDbContext>().Memberships
            .Where(m => m.UserId == userId && ids.Contains(m.ConversationId) && m.LeftAtSeq == null).Select(m => m.ConversationId).ToListAsync(cancellationToken)];
    }

    private static async Task<bool> IsMemberAsync(IServiceScopeFactory scopes, Guid conversationId, Guid userId, CancellationToken cancellationToken) =>
        (await MemberOfAsync(scopes, userId, [conversationId], cancellationToken)).Count > 0;

    private static Guid? ConversationOf(JsonElement? data) =>
        data is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty("conversation_id", out var id) && id.ValueKind == JsonValueKind.String
        && Guid.TryParse(id.GetString(), out var conversationId)
            ? conversationId
            : null;

    private static void SendError(RealtimeConnection connection, string code, string message, TimeProvider time) =>
        connection.Send(Bytes(Frames.Serialize(FrameTypes.Error, new ErrorData(code, message), time.GetUtcNow())));

    private static async Task CloseAsync(WebSocket socket, int code, string reason, RealtimeMetrics metrics)
    {
        metrics.ClosedByServer(code);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // the client went away first
        }
    }

    internal static byte[] Bytes(string frame) => System.Text.Encoding.UTF8.GetBytes(frame);

    [LoggerMessage(Level = LogLevel.Debug, Message = "WebSocket of user {UserId} ({ConnectionId}) failed")]
    private static partial void LogSocketFailed(ILogger logger, Exception exception, Guid userId, string connectionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record that user {UserId} left; presence will expire the connection")]
    private static partial void LogPresenceLeaveFailed(ILogger logger, Exception exception, Guid userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Catching up conversation {ConversationId} on connection {ConnectionId} failed; its held frames go out")]
    private static partial void LogCatchUpFailed(ILogger logger, Exception exception, Guid conversationId, string connectionId);

    private sealed record ClientFrame(string? Type, JsonElement? Data);

    private static class ClientFrameJson
    {
        public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
    }
}
