using System.Net.WebSockets;
using System.Threading.Channels;
using Chat4All.Contracts.Realtime;
using Chat4All.Realtime.Fanout;

namespace Chat4All.Realtime.Connections;

/// <summary>
/// One client socket: a bounded send queue drained by one writer (a WebSocket allows one send at a
/// time, the close included), conversations the client unsubscribed from, the last seq sent per
/// conversation (so a frame is never sent twice), and, while a resume of a conversation replays
/// history, a buffer for its live frames that is flushed — minus what the replay already covered —
/// when the replay ends. A client that cannot keep up is closed with 4008 instead of being buffered
/// without bound or slowing anyone else.
/// </summary>
public sealed class RealtimeConnection : IDisposable
{
    private readonly WebSocket _socket;
    private readonly Channel<byte[]> _queue;
    private readonly RealtimeMetrics _metrics;
    private readonly Lock _gate = new();
    private readonly HashSet<Guid> _unsubscribed = [];
    private readonly Dictionary<Guid, long> _leftAtSeq = [];
    private readonly Dictionary<Guid, long> _lastSeq = [];
    private readonly Dictionary<Guid, List<(long Seq, byte[] Frame)>> _resuming = [];
    private List<(Guid Conversation, long? Seq, byte[] Frame)>? _held = [];
    private readonly DateTimeOffset _connectedAt;
    private readonly int _capacity;
    private readonly CancellationTokenSource _closing = new();
    private CloseRequest? _close;
    private long _lastPongTicks;
    private long _pingSentTicks;

    public RealtimeConnection(WebSocket socket, Guid userId, DateTimeOffset? tokenExpiresAt, int queueCapacity, RealtimeMetrics metrics, DateTimeOffset now)
    {
        _socket = socket;
        _metrics = metrics;
        UserId = userId;
        TokenExpiresAt = tokenExpiresAt;
        _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(queueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _lastPongTicks = now.UtcTicks;
        _pingSentTicks = now.UtcTicks;
        _connectedAt = now;
        _capacity = queueCapacity;
    }

    /// <summary>How long after connecting conversation frames wait for a <c>resume</c> (or any first client frame).</summary>
    public static readonly TimeSpan ResumeGrace = TimeSpan.FromSeconds(1);

    public string Id { get; } = Guid.CreateVersion7().ToString("N");

    public Guid UserId { get; }

    public DateTimeOffset? TokenExpiresAt { get; }

    /// <summary>Cancelled once the server decided to close this connection.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>The close the server asked for, if any. Set without the gate, so <see cref="Send"/> may run under it.</summary>
    public CloseRequest? CloseRequested => Volatile.Read(ref _close);

    /// <summary>Queues a frame; false (and the connection is being closed) if the client is too slow.</summary>
    public bool Send(byte[] frame)
    {
        if (_closing.IsCancellationRequested)
        {
            return false; // closing: nothing more goes out
        }

        if (_queue.Writer.TryWrite(frame))
        {
            _metrics.FrameOut();
            return true;
        }

        if (!_closing.IsCancellationRequested)
        {
            _metrics.Overflowed();
            Close(CloseCodes.PolicyViolation, "send_queue_overflow");
        }

        return false;
    }

    /// <summary>A frame from the fan-out: dropped if unsubscribed or already sent, held back while its conversation is being resumed.</summary>
    public void Deliver(Guid? conversationId, long? seq, byte[] frame)
    {
        if (conversationId is { } conversation)
        {
            lock (_gate)
            {
                if (_unsubscribed.Contains(conversation))
                {
                    return;
                }

                // The user left: only what was sent before they did (a seq up to the one they left at) still comes.
                if (_leftAtSeq.TryGetValue(conversation, out var leftAt) && (seq is not { } numbered || numbered > leftAt))
                {
                    return;
                }

                // Just connected: the client's resume may be on its way, and frames sent now would
                // overtake the replay. Hold them until it arrives (or the grace period ends).
                if (_held is { } held)
                {
                    if (held.Count < _capacity)
                    {
                        held.Add((conversation, seq, frame));
                        return;
                    }

                    ReleaseHeldLocked(); // a flood while waiting: stop waiting rather than hold without bound
                }

                if (seq is { } s)
                {
                    if (_resuming.TryGetValue(conversation, out var waiting))
                    {
                        waiting.Add((s, frame));
                        return;
                    }

                    if (_lastSeq.TryGetValue(conversation, out var last) && s <= last)
                    {
                        return;
                    }

                    _lastSeq[conversation] = s;
                }
            }
        }

        Send(frame);
    }

    /// <summary>The user left <paramref name="conversationId"/> at <paramref name="leftAtSeq"/>: later frames of it are dropped, even from an instance whose member list is stale.</summary>
    public void Leave(Guid conversationId, long leftAtSeq)
    {
        lock (_gate)
        {
            _leftAtSeq[conversationId] = leftAtSeq;
        }
    }

    /// <summary>The user is a member of <paramref name="conversationId"/> again.</summary>
    public void Rejoin(Guid conversationId)
    {
        lock (_gate)
        {
            _leftAtSeq.Remove(conversationId);
        }
    }

    public void Subscribe(Guid conversationId)
    {
        lock (_gate)
        {
            _unsubscribed.Remove(conversationId);
        }
    }

    public void Unsubscribe(Guid conversationId)
    {
        lock (_gate)
        {
            _unsubscribed.Add(conversationId);
        }
    }

    /// <summary>
    /// From now until <see cref="EndResume"/>, live frames of these conversations wait (including the
    /// ones held since connecting); the replay goes first. Frames held for other conversations go out.
    /// </summary>
    public void BeginResume(IReadOnlyCollection<Guid> conversationIds)
    {
        lock (_gate)
        {
            foreach (var conversationId in conversationIds)
            {
                _unsubscribed.Remove(conversationId);
                _resuming[conversationId] = [];
            }

            ReleaseHeldLocked();
        }
    }

    /// <summary>Ends the wait for a resume: frames held since connecting go out in order.</summary>
    public void ReleaseHeld()
    {
        lock (_gate)
        {
            ReleaseHeldLocked();
        }
    }

    private void ReleaseHeldLocked()
    {
        if (_held is not { } held)
        {
            return;
        }

        _held = null;
        foreach (var (conversation, seq, frame) in held)
        {
            if (seq is { } s)
            {
                if (_resuming.TryGetValue(conversation, out var waiting))
                {
                    waiting.Add((s, frame));
                    continue;
                }

                if (_lastSeq.TryGetValue(conversation, out var last) && s <= last)
                {
                    continue;
                }

                _lastSeq[conversation] = s;
            }

            Send(frame);
        }
    }

    /// <summary>Sends a replayed frame, remembering its seq.</summary>
    public void Replay(Guid conversationId, long seq, byte[] frame)
    {
        lock (_gate)
        {
            if (_lastSeq.TryGetValue(conversationId, out var last) && seq <= last)
            {
                return;
            }

            _lastSeq[conversationId] = seq;
        }

        Send(frame);
    }

    /// <summary>Flushes the live frames held during the replay that it did not cover, in order; returns the last seq sent.</summary>
    public long EndResume(Guid conversationId, long fromSeq)
    {
        lock (_gate)
        {
            var held = _resuming.Remove(conversationId, out var frames) ? frames : [];
            var last = _lastSeq.GetValueOrDefault(conversationId, fromSeq);
            foreach (var (seq, frame) in held.OrderBy(h => h.Seq))
            {
                if (seq > last)
                {
                    last = seq;
                    Send(frame);
                }
            }

            _lastSeq[conversationId] = Math.Max(last, fromSeq);
            return last;
        }
    }

    public void PongReceived(DateTimeOffset now) => Interlocked.Exchange(ref _lastPongTicks, now.UtcTicks);

    /// <summary>
    /// Called by the heartbeat about once a second: pings every <paramref name="interval"/>, closes
    /// with 1001 when a ping went unanswered for <paramref name="pongTimeout"/>, and with 4001 when
    /// the token the connection was opened with expires.
    /// </summary>
    public void Tick(DateTimeOffset now, TimeSpan interval, TimeSpan pongTimeout, byte[] ping)
    {
        if (_closing.IsCancellationRequested)
        {
            return;
        }

        if (now - _connectedAt >= ResumeGrace && Volatile.Read(ref _held) is not null)
        {
            ReleaseHeld();
        }

        if (TokenExpiresAt is { } expires && now >= expires)
        {
            Close(CloseCodes.Unauthorized, "token_expired");
            return;
        }

        var pingSent = new DateTimeOffset(Interlocked.Read(ref _pingSentTicks), TimeSpan.Zero);
        var lastPong = new DateTimeOffset(Interlocked.Read(ref _lastPongTicks), TimeSpan.Zero);
        if (lastPong < pingSent && now - pingSent > pongTimeout)
        {
            Close(CloseCodes.GoingAway, "pong_timeout");
            return;
        }

        if (now - pingSent >= interval && lastPong >= pingSent)
        {
            Interlocked.Exchange(ref _pingSentTicks, now.UtcTicks);
            Send(ping);
        }
    }

    /// <summary>Asks the writer to close the socket with this code (the first request wins).</summary>
    public void Close(int code, string reason)
    {
        if (Interlocked.CompareExchange(ref _close, new CloseRequest(code, reason), null) is not null)
        {
            return;
        }

        _metrics.ClosedByServer(code);
        _closing.Cancel();
    }

    /// <summary>Sends queued frames until the connection closes, then performs the close handshake the server asked for.</summary>
    public async Task WriteAsync(CancellationToken aborted)
    {
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token, aborted);
            await foreach (var frame in _queue.Reader.ReadAllAsync(linked.Token))
            {
                await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, aborted);
            }
        }
        catch (OperationCanceledException)
        {
            // closing, or the request was aborted
        }
        catch (WebSocketException)
        {
            return; // the client went away
        }

        if (CloseRequested is { } close && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _socket.CloseOutputAsync((WebSocketCloseStatus)close.Code, close.Reason, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // the client went away first
            }
        }
    }

    public void Complete() => _queue.Writer.TryComplete();

    public void Dispose() => _closing.Dispose();
}

public sealed record CloseRequest(int Code, string Reason);
