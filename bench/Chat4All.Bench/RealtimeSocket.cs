using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Chat4All.Bench;

/// <summary>Counters shared by every socket of a scenario, plus the closes nobody asked for.</summary>
internal sealed class SocketStats
{
    private long framesReceived;
    private long pings;
    private long pongs;
    private long unexpectedCloses;
    private string? firstUnexpectedClose;

    public long FramesReceived => Interlocked.Read(ref framesReceived);

    public long Pings => Interlocked.Read(ref pings);

    public long Pongs => Interlocked.Read(ref pongs);

    public long UnexpectedCloses => Interlocked.Read(ref unexpectedCloses);

    public string? FirstUnexpectedClose => Volatile.Read(ref firstUnexpectedClose);

    /// <summary>Unexpected closes by reason: the close code and description, or the exception.</summary>
    public ConcurrentDictionary<string, int> UnexpectedByReason { get; } = new(StringComparer.Ordinal);

    public void FrameReceived() => Interlocked.Increment(ref framesReceived);

    public void Ping() => Interlocked.Increment(ref pings);

    public void Pong() => Interlocked.Increment(ref pongs);

    public void Unexpected(string reason)
    {
        Interlocked.Increment(ref unexpectedCloses);
        Interlocked.CompareExchange(ref firstUnexpectedClose, reason, null);
        UnexpectedByReason.AddOrUpdate(reason, 1, (_, n) => n + 1);
    }
}

/// <summary>
/// One client of <c>GET /ws?token=...</c>: connects (optionally from a given loopback source
/// address), waits for <c>connection.established</c>, then reads every frame, answers each
/// <c>{"type":"ping"}</c> with <c>{"type":"pong"}</c> (the server closes with 1001 otherwise) and hands
/// the rest to an optional callback with the tick it arrived on. A close the bench did not start is
/// counted in <see cref="SocketStats"/>. One send at a time, as a WebSocket requires.
/// Not the SDK's <c>RealtimeSession</c> (docs/adr/0054): that session reconnects, fills gaps from
/// history, drops duplicates and reorders — the very things the realtime scenarios count — and
/// cannot connect from a chosen source address.
/// </summary>
internal sealed class RealtimeSocket : IAsyncDisposable
{
    public const string ConnectionEstablished = "connection.established";
    public const string MessageCreated = "message.created";

    private const string Ping = "ping";
    private static readonly byte[] PongFrame = "{\"type\":\"pong\"}"u8.ToArray();

    // Frames from the server are small (a message.created is well under 1 KiB); larger ones are read in pieces.
    private const int ReceiveChunk = 4096;
    private const int MaxFrameBytes = 1024 * 1024;

    private readonly WebSocket socket;
    private readonly SocketStats stats;
    private readonly Action<ReadOnlyMemory<byte>, long>? onFrame;
    private readonly SemaphoreSlim sendLock = new(1, 1);
    private Task reading = Task.CompletedTask;
    private volatile bool closing;

    private RealtimeSocket(WebSocket socket, SocketStats stats, Action<ReadOnlyMemory<byte>, long>? onFrame)
    {
        this.socket = socket;
        this.stats = stats;
        this.onFrame = onFrame;
    }

    /// <summary>Ends when the socket is closed, by either side, or fails.</summary>
    public Task Completion => reading;

    /// <summary><c>data.heartbeat_interval_s</c> of <c>connection.established</c>: how often the server pings.</summary>
    public int? HeartbeatIntervalSeconds { get; private set; }

    /// <summary>Set when the socket ended without the bench closing it: the close code and reason, or the error.</summary>
    public string? EndedUnexpectedly { get; private set; }

    /// <summary>
    /// A handler that opens every connection from <paramref name="source"/> (null: the kernel picks,
    /// which on loopback is 127.0.0.1). Binding the client side to several 127.0.0.x addresses gives
    /// each its own ~28k ephemeral ports. HTTP/1.1, no proxy: the upgrade takes the connection over.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(IPAddress? source, TimeSpan connectTimeout) => new()
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = connectTimeout,
        // A WebSocket keeps its connection for good; nothing goes back to a pool.
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(1),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var target = context.DnsEndPoint;
            var address = IPAddress.TryParse(target.Host, out var parsed) ? parsed : IPAddress.Loopback;
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                if (source is not null && source.AddressFamily == address.AddressFamily)
                {
                    socket.Bind(new IPEndPoint(source, 0));
                }

                await socket.ConnectAsync(new IPEndPoint(address, target.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>The <c>ws://</c> URI of <c>/ws</c> under <paramref name="baseUrl"/> for <paramref name="accessToken"/>.</summary>
    public static Uri WebSocketUri(Uri baseUrl, string accessToken)
    {
        var builder = new UriBuilder(new Uri(baseUrl, Chat4AllApi.WebSocketPath))
        {
            Scheme = baseUrl.Scheme == Uri.UriSchemeHttps ? "wss" : "ws",
            Query = "token=" + Uri.EscapeDataString(accessToken),
        };
        return builder.Uri;
    }

    /// <summary>
    /// Connects and waits for <c>connection.established</c>, all within <paramref name="timeout"/>.
    /// Throws <see cref="InvalidOperationException"/> with the server's close code and reason when
    /// the server closes instead (4001 bad token, 4008 over the per-user limit), and
    /// <see cref="WebSocketException"/>, <see cref="HttpRequestException"/> or
    /// <see cref="TimeoutException"/> for a failed handshake.
    /// </summary>
    public static async Task<RealtimeSocket> OpenAsync(
        HttpMessageInvoker invoker, Uri baseUrl, string accessToken, SocketStats stats, Action<ReadOnlyMemory<byte>, long>? onFrame,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var client = new ClientWebSocket();
        // The server pings at the application level; protocol-level keep-alives would only add traffic.
        client.Options.KeepAliveInterval = TimeSpan.Zero;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await client.ConnectAsync(WebSocketUri(baseUrl, accessToken), invoker, deadline.Token);
            var first = await ReceiveFrameAsync(client, deadline.Token);
            if (first is null)
            {
                var code = client.CloseStatus is { } status ? ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";
                throw new InvalidOperationException(
                    "the server closed the socket instead of sending connection.established: close " + code + " " + client.CloseStatusDescription +
                    (client.CloseStatus == (WebSocketCloseStatus)4008 ? " (over Chat4All:Realtime:MaxConnectionsPerUser?)"
                        : client.CloseStatus == (WebSocketCloseStatus)4001 ? " (token rejected)" : string.Empty));
            }

            var type = FrameType(first.Value.Span);
            if (type != ConnectionEstablished)
            {
                throw new InvalidOperationException("the first frame was '" + type + "', expected connection.established");
            }

            stats.FrameReceived();
            var connected = new RealtimeSocket(client, stats, onFrame) { HeartbeatIntervalSeconds = HeartbeatInterval(first.Value) };
            connected.reading = Task.Run(connected.ReadAsync, CancellationToken.None);
            return connected;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            client.Abort();
            client.Dispose();
            throw new TimeoutException("no connection.established within " + timeout.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s");
        }
        catch
        {
            client.Abort();
            client.Dispose();
            throw;
        }
    }

    /// <summary>Sends one text frame (for example a subscribe).</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        await sendLock.WaitAsync(cancellationToken);
        try
        {
            await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        finally
        {
            sendLock.Release();
        }
    }

    /// <summary>
    /// Starts the close handshake and waits for the server's close frame, at most
    /// <paramref name="timeout"/>; past that the socket is aborted. True when it closed cleanly.
    /// </summary>
    public async Task<bool> CloseAsync(TimeSpan timeout)
    {
        closing = true;
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            if (socket.State == WebSocketState.Open)
            {
                await sendLock.WaitAsync(limit.Token);
                try
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bench done", limit.Token);
                }
                finally
                {
                    sendLock.Release();
                }
            }

            await reading.WaitAsync(limit.Token);
            return socket.State == WebSocketState.Closed;
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            socket.Abort();
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        closing = true;
        socket.Abort();
        try
        {
            await reading;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // aborted on purpose
        }

        socket.Dispose();
        sendLock.Dispose();
    }

    private async Task ReadAsync()
    {
        try
        {
            while (true)
            {
                var frame = await ReceiveFrameAsync(socket, CancellationToken.None);
                var arrived = Stopwatch.GetTimestamp();
                if (frame is null)
                {
                    if (!closing)
                    {
                        var code = socket.CloseStatus is { } status ? ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";
                        EndedUnexpectedly = "closed by the server: " + code + " " + socket.CloseStatusDescription;
                        stats.Unexpected(EndedUnexpectedly);
                    }

                    // Answer the server's close (if it started it), so its side finishes cleanly.
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                        await sendLock.WaitAsync(limit.Token);
                        try
                        {
                            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, limit.Token);
                        }
                        finally
                        {
                            sendLock.Release();
                        }
                    }

                    return;
                }

                stats.FrameReceived();
                var span = frame.Value.Span;
                if (FrameType(span) == Ping)
                {
                    stats.Ping();
                    await SendAsync(PongFrame, CancellationToken.None);
                    stats.Pong();
                }
                else
                {
                    onFrame?.Invoke(frame.Value, arrived);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or InvalidDataException)
        {
            if (!closing)
            {
                EndedUnexpectedly = ex.GetType().Name + ": " + ex.Message;
                stats.Unexpected(ex is WebSocketException ws ? "WebSocketException " + ws.WebSocketErrorCode : EndedUnexpectedly);
            }
        }
    }

    /// <summary>One whole message, or null for a close frame. Waits without a buffer, so an idle socket holds none.</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReceiveFrameAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        // A zero-byte read completes when a frame starts arriving: idle sockets keep no receive buffer.
        var peek = await socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken);
        if (peek.MessageType == WebSocketMessageType.Close)
        {
            return null;
        }

        if (peek.EndOfMessage)
        {
            return Array.Empty<byte>(); // an empty message
        }

        var rented = ArrayPool<byte>.Shared.Rent(ReceiveChunk);
        try
        {
            var written = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                if (written == rented.Length)
                {
                    if (rented.Length >= MaxFrameBytes)
                    {
                        throw new InvalidDataException("a frame from the server exceeded " + MaxFrameBytes + " bytes");
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(rented.Length * 2);
                    rented.AsSpan(0, written).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(rented);
                    rented = larger;
                }

                result = await socket.ReceiveAsync(rented.AsMemory(written), cancellationToken);
                written += result.Count;
            }
            while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            // Copied out so the pooled buffer goes back at once; frames are small.
            return rented.AsSpan(0, written).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The top-level <c>type</c> of a frame, or null when it is not a JSON object with one.</summary>
    public static string? FrameType(ReadOnlySpan<byte> frame)
    {
        try
        {
            var reader = new Utf8JsonReader(frame);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    return reader.Read() && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Read();
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // not JSON: no type
        }

        return null;
    }

    private static int? HeartbeatInterval(ReadOnlyMemory<byte> established)
    {
        try
        {
            using var json = JsonDocument.Parse(established);
            return json.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object &&
                data.TryGetProperty("heartbeat_interval_s", out var interval) && interval.TryGetInt32(out var seconds)
                    ? seconds
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string Describe(ReadOnlySpan<byte> frame) =>
        frame.Length <= 200 ? Encoding.UTF8.GetString(frame) : Encoding.UTF8.GetString(frame[..200]) + "...";
}
