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
/// <para>
/// The live fan-out is at most once (Redis pub/sub drops what is published while a subscription is
/// being re-established, e.g. across a Redis failover), so a connection repairs its own gaps: a
/// frame whose seq skips past the last one sent is held, and a catch-up replays the missing seqs
/// from the message log before it goes out (<see cref="CatchUps"/>; docs/adr/0039).
/// </para>
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
    private readonly Dictionary<Guid, ReplayHold> _resuming = [];
    private readonly Channel<CatchUp> _catchUps = Channel.CreateUnbounded<CatchUp>(new UnboundedChannelOptions { SingleReader = true });
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

                if (seq is { } s && !AdmitLocked(conversation, s, frame))
                {
                    return;
                }
            }
        }

        Send(frame);
    }

    /// <summary>
    /// Whether a numbered frame goes out now: not while its conversation is being replayed (it waits
    /// for the replay's end), not if that seq was sent already, and not past a gap, which it waits
    /// behind while a catch-up fetches the missing seqs. Callers hold the gate.
    /// </summary>
    private bool AdmitLocked(Guid conversation, long seq, byte[] frame)
    {
        if (_resuming.TryGetValue(conversation, out var hold))
        {
            hold.Frames.Add((seq, frame));
            return false;
        }

        if (_lastSeq.TryGetValue(conversation, out var last))
        {
            if (seq <= last)
            {
                return false;
            }

            if (seq > last + 1)
            {
                StartCatchUpLocked(conversation, last).Frames.Add((seq, frame));
                return false;
            }
        }

        _lastSeq[conversation] = seq;
        return true;
    }

    /// <summary>Holds the conversation's live frames and queues a replay of what came after <paramref name="afterSeq"/>.</summary>
    private ReplayHold StartCatchUpLocked(Guid conversation, long afterSeq)
    {
        var hold = HoldLocked(conversation);
        _catchUps.Writer.TryWrite(new CatchUp(conversation, afterSeq));
        _metrics.GapDetected();
        return hold;
    }

    private ReplayHold HoldLocked(Guid conversation)
    {
        if (!_resuming.TryGetValue(conversation, out var hold))
        {
            _resuming[conversation] = hold = new ReplayHold();
        }

        hold.Replays++;
        return hold;
    }

    /// <summary>Server-side replays this connection needs: a conversation and the last seq it has sent of it.</summary>
    public ChannelReader<CatchUp> CatchUps => _catchUps.Reader;

    /// <summary>
    /// Asks for a catch-up of <paramref name="conversationId"/> if this connection is behind
    /// <paramref name="latestSeq"/> (what the message log holds), e.g. after the fan-out's subscription
    /// was re-established and frames published meanwhile were lost. Returns whether one was asked for.
    /// </summary>
    public bool CatchUpIfBehind(Guid conversationId, long latestSeq)
    {
        lock (_gate)
        {
            if (_unsubscribed.Contains(conversationId) || _resuming.ContainsKey(conversationId)
                || !_lastSeq.TryGetValue(conversationId, out var last) || last >= latestSeq)
            {
                return false;
            }

            StartCatchUpLocked(conversationId, last);
            return true;
        }
    }

    /// <summary>The conversations this connection has sent numbered frames of, with the last seq of each.</summary>
    public IReadOnlyList<KeyValuePair<Guid, long>> Positions()
    {
        lock (_gate)
        {
            return [.. _lastSeq];
        }
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
            // What was said while they were away is not theirs: no catch-up across that stretch.
            _leftAtSeq.Remove(conversationId);
            _lastSeq.Remove(conversationId);
        }
    }

    public void Subscribe(Guid conversationId)
    {
        lock (_gate)
        {
            // Frames dropped while unsubscribed were not wanted: the next one starts afresh, not a catch-up.
            if (_unsubscribed.Remove(conversationId))
            {
                _lastSeq.Remove(conversationId);
            }
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
                HoldLocked(conversationId);
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
            if (seq is not { } s || AdmitLocked(conversation, s, frame))
            {
                Send(frame);
            }
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

            if (_leftAtSeq.TryGetValue(conversationId, out var leftAt) && seq > leftAt)
            {
                return; // they left meanwhile: nothing after that is theirs
            }

            _lastSeq[conversationId] = seq;
        }

        Send(frame);
    }

    /// <summary>
    /// Ends one replay of the conversation; when it was the last one running, flushes the live frames
    /// held meanwhile that the replays did not cover, in order. Returns the last seq sent.
    /// </summary>
    public long EndResume(Guid conversationId, long fromSeq)
    {
        lock (_gate)
        {
            var last = Math.Max(_lastSeq.GetValueOrDefault(conversationId, fromSeq), fromSeq);
            if (!_resuming.TryGetValue(conversationId, out var hold) || --hold.Replays > 0)
            {
                return last; // another replay of it is still running; it flushes at its end
            }

            _resuming.Remove(conversationId);
            foreach (var (seq, frame) in hold.Frames.OrderBy(h => h.Seq))
            {
                // Past what the replay found, a gap means the log had not caught up yet: send in order anyway.
                if (seq > last)
                {
                    last = seq;
                    Send(frame);
                }
            }

            _lastSeq[conversationId] = last;
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

    public void Complete()
    {
        _queue.Writer.TryComplete();
        _catchUps.Writer.TryComplete();
    }

    public void Dispose() => _closing.Dispose();
}

public sealed record CloseRequest(int Code, string Reason);

/// <summary>A server-side replay to run: <paramref name="ConversationId"/> after <paramref name="AfterSeq"/>.</summary>
public sealed record CatchUp(Guid ConversationId, long AfterSeq);

/// <summary>Live frames of a conversation held while <see cref="Replays"/> replays of it run.</summary>
internal sealed class ReplayHold
{
    public int Replays { get; set; }

    public List<(long Seq, byte[] Frame)> Frames { get; } = [];
}
