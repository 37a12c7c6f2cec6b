using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Chat4All.HighAvailability.Tests;

/// <summary>
/// A WebSocket client as a real app writes one (the CLI's tail and the JavaScript client fill a seq
/// gap from history; this one resumes): it reconnects through HAProxy with backoff when the socket closes or goes silent (a frozen host),
/// resumes its conversation from the last seq it holds without a gap, asks for a resume on the open
/// socket when a seq arrives past a gap (live fan-out can lose a frame while Redis fails over; the
/// log it resumes from cannot), and records every message.created seq it receives, duplicates included.
/// </summary>
internal sealed class ResumingSocket(Uri api, string token, Guid conversationId, TimeProvider time) : IAsyncDisposable
{
    // The hosts ping every 2 s in these tests; three missed pings mean the far end is gone.
    private static readonly TimeSpan Silence = TimeSpan.FromSeconds(6);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<long> _received = [];
    private readonly List<(DateTimeOffset Dropped, DateTimeOffset? Resumed)> _outages = [];
    private readonly List<string> _drops = [];
    private Task _running = Task.CompletedTask;
    private readonly HashSet<long> _seen = [];
    private long _lastSeq;
    private long? _gapResumedFrom;

    public void Start() => _running = RunAsync(_stop.Token);

    /// <summary>The highest seq below which nothing is missing.</summary>
    public long LastSeq { get { lock (_lock) { return _lastSeq; } } }

    /// <summary>How often a gap in the live frames made this client resume on its open socket.</summary>
    public int GapResumes { get; private set; }

    public IReadOnlyList<long> Received { get { lock (_lock) { return [.. _received]; } } }

    /// <summary>When each connection was lost and when its replacement had resumed (null: not yet).</summary>
    public IReadOnlyList<(DateTimeOffset Dropped, DateTimeOffset? Resumed)> Outages { get { lock (_lock) { return [.. _outages]; } } }

    public bool Connected { get; private set; }

    /// <summary>Why each connection dropped, for a failure message.</summary>
    public IReadOnlyList<string> Drops { get { lock (_lock) { return [.. _drops]; } } }

    private async Task RunAsync(CancellationToken stop)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await ConnectAndReadAsync(stop);
                backoff = TimeSpan.FromMilliseconds(100);
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                // Lost, whatever the exception: a client that stops reconnecting on an unexpected one would
                // look like a socket that silently missed frames. Reconnect below, and say why it dropped.
                lock (_lock)
                {
                    _drops.Add($"{time.GetUtcNow():HH:mm:ss.f} {ex.GetType().Name}: {ex.Message}");
                }
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }

            if (Connected)
            {
                Connected = false;
            }

            lock (_lock)
            {
                if (_outages.Count == 0 || _outages[^1].Resumed is not null)
                {
                    _outages.Add((time.GetUtcNow(), null));
                }
            }

            if (stop.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Task.Delay(backoff, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
    }

    private async Task ConnectAndReadAsync(CancellationToken stop)
    {
        using var socket = new ClientWebSocket();
        var uri = new UriBuilder(api) { Scheme = "ws", Path = "/ws", Query = "token=" + Uri.EscapeDataString(token) }.Uri;
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            connectTimeout.CancelAfter(TimeSpan.FromSeconds(5));
            await socket.ConnectAsync(uri, connectTimeout.Token);
        }

        await SendAsync(socket, new
        {
            type = "resume",
            data = new { positions = new Dictionary<string, long> { [conversationId.ToString()] = LastSeq } },
        }, stop);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var silence = CancellationTokenSource.CreateLinkedTokenSource(stop);
            silence.CancelAfter(Silence);
            using var message = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, silence.Token);
                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            var frame = JsonDocument.Parse(message.ToArray()).RootElement;
            switch (frame.GetProperty("type").GetString())
            {
                case "ping":
                    await SendAsync(socket, new { type = "pong" }, stop);
                    break;
                case "resumed":
                    Connected = true;
                    lock (_lock)
                    {
                        if (_outages.Count > 0 && _outages[^1].Resumed is null)
                        {
                            _outages[^1] = (_outages[^1].Dropped, time.GetUtcNow());
                        }
                    }

                    break;
                case "message.created":
                    var data = frame.GetProperty("data");
                    if (data.GetProperty("conversation_id").GetGuid() == conversationId)
                    {
                        var seq = data.GetProperty("seq").GetInt64();
                        long? resumeFrom = null;
                        lock (_lock)
                        {
                            _received.Add(seq);
                            _seen.Add(seq);
                            while (_seen.Contains(_lastSeq + 1))
                            {
                                _lastSeq++;
                            }

                            if (seq > _lastSeq + 1 && _gapResumedFrom != _lastSeq)
                            {
                                _gapResumedFrom = resumeFrom = _lastSeq;
                            }
                        }

                        if (resumeFrom is { } from)
                        {
                            GapResumes++;
                            await SendAsync(socket, new
                            {
                                type = "resume",
                                data = new { positions = new Dictionary<string, long> { [conversationId.ToString()] = from } },
                            }, stop);
                        }
                    }

                    break;
            }
        }
    }

    private static Task SendAsync(ClientWebSocket socket, object frame, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(frame)), WebSocketMessageType.Text, true, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // a receive stuck on a frozen host; the socket is disposed with the task
        }

        _stop.Dispose();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"socket on {conversationId}: last seq {LastSeq}, {(_running.IsFaulted ? "its loop failed: " + _running.Exception?.GetBaseException().Message : "running")}; drops: {string.Join(" | ", Drops.TakeLast(5))}");
}
