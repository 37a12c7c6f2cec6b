using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace Chat4All.Host.Tests;

/// <summary>
/// A bare HTTP/2 client over TLS (ALPN h2) that sends header blocks exactly as built here, with no
/// client-side limit check (HttpClient refuses a header list over the server's advertised size, which
/// is the very request Kestrel's HTTP/2 rejection needs). Header fields are HPACK literals without
/// indexing and no Huffman coding, so no dynamic table is involved on the way in.
/// </summary>
internal sealed class RawHttp2 : IAsyncDisposable
{
    private const byte Data = 0x0, Headers = 0x1, Settings = 0x4, GoAway = 0x7, Continuation = 0x9;
    private const byte EndStream = 0x1, EndHeaders = 0x4, Ack = 0x1;
    private const int MaxFrame = 16_384;

    private readonly TcpClient _client;
    private readonly SslStream _stream;
    private int _nextStream = 1;

    private RawHttp2(TcpClient client, SslStream stream)
    {
        _client = client;
        _stream = stream;
    }

    public static async Task<RawHttp2> ConnectAsync(int port, SelfSignedCertificate certificate, CancellationToken cancellation)
    {
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, cancellation);
        var stream = new SslStream(client.GetStream());
        await stream.AuthenticateAsClientAsync(certificate.ClientOptions(SslProtocols.Tls13, SslApplicationProtocol.Http2), cancellation);
        Assert.Equal(SslApplicationProtocol.Http2, stream.NegotiatedApplicationProtocol);
        var connection = new RawHttp2(client, stream);
        await stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray(), cancellation);
        await connection.WriteFrameAsync(Settings, 0, 0, ReadOnlyMemory<byte>.Empty, cancellation);
        return connection;
    }

    /// <summary>Sends GET <paramref name="path"/> with the extra fields on a new stream; returns the response status and body.</summary>
    public async Task<(int Status, byte[] Body)> GetAsync(string path, IEnumerable<(string Name, string Value)> fields, CancellationToken cancellation)
    {
        var streamId = _nextStream;
        _nextStream += 2;
        var block = new MemoryStream();
        block.Write([0x82, 0x87]); // :method GET, :scheme https (static table)
        WriteLiteral(block, 4, null, path); // :path
        WriteLiteral(block, 1, null, "127.0.0.1"); // :authority
        foreach (var (name, value) in fields)
        {
            WriteLiteral(block, 0, name, value);
        }

        var bytes = block.ToArray();
        for (var offset = 0; offset < bytes.Length || offset == 0; offset += MaxFrame)
        {
            var chunk = bytes.AsMemory(offset, Math.Min(MaxFrame, bytes.Length - offset));
            var last = offset + MaxFrame >= bytes.Length;
            await WriteFrameAsync(offset == 0 ? Headers : Continuation, (byte)((offset == 0 ? EndStream : 0) | (last ? EndHeaders : 0)), streamId, chunk, cancellation);
        }

        int? status = null;
        var body = new MemoryStream();
        while (true)
        {
            var (type, flags, id, payload) = await ReadFrameAsync(cancellation);
            if (type == Settings && (flags & Ack) == 0)
            {
                await WriteFrameAsync(Settings, Ack, 0, ReadOnlyMemory<byte>.Empty, cancellation);
            }

            Assert.False(type == GoAway, "the server ended the connection with GOAWAY");
            if (id != streamId)
            {
                continue;
            }

            if (type == Headers)
            {
                status = ReadStatus(payload);
            }
            else if (type == Data)
            {
                body.Write(payload);
            }

            if ((flags & EndStream) != 0)
            {
                return (status ?? throw new InvalidDataException("no :status"), body.ToArray());
            }
        }
    }

    // The response's first field is :status: an indexed static entry (8-14) or a literal with name index 8.
    private static int ReadStatus(byte[] block)
    {
        if ((block[0] & 0x80) != 0)
        {
            return (block[0] & 0x7f) switch { 8 => 200, 9 => 204, 10 => 206, 11 => 304, 12 => 400, 13 => 404, 14 => 500, var i => throw new InvalidDataException($"index {i}") };
        }

        var prefix = (block[0] & 0x40) != 0 ? block[0] & 0x3f : block[0] & 0x0f;
        Assert.Equal(8, prefix);
        Assert.Equal(0, block[1] & 0x80); // not Huffman-coded
        return int.Parse(Encoding.ASCII.GetString(block, 2, block[1]), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void WriteLiteral(MemoryStream block, int nameIndex, string? name, string value)
    {
        WriteInteger(block, 0x00, 4, nameIndex); // literal header field without indexing
        if (name is not null)
        {
            WriteInteger(block, 0x00, 7, name.Length);
            block.Write(Encoding.ASCII.GetBytes(name.ToLowerInvariant()));
        }

        WriteInteger(block, 0x00, 7, value.Length);
        block.Write(Encoding.ASCII.GetBytes(value));
    }

    private static void WriteInteger(MemoryStream block, byte flags, int prefixBits, int value)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            block.WriteByte((byte)(flags | value));
            return;
        }

        block.WriteByte((byte)(flags | max));
        for (value -= max; value >= 0x80; value >>= 7)
        {
            block.WriteByte((byte)((value & 0x7f) | 0x80));
        }

        block.WriteByte((byte)value);
    }

    private async Task WriteFrameAsync(byte type, byte flags, int streamId, ReadOnlyMemory<byte> payload, CancellationToken cancellation)
    {
        var head = new byte[9];
        head[0] = (byte)(payload.Length >> 16);
        head[1] = (byte)(payload.Length >> 8);
        head[2] = (byte)payload.Length;
        head[3] = type;
        head[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(head.AsSpan(5), streamId);
        await _stream.WriteAsync(head, cancellation);
        await _stream.WriteAsync(payload, cancellation);
        await _stream.FlushAsync(cancellation);
    }

    private async Task<(byte Type, byte Flags, int StreamId, byte[] Payload)> ReadFrameAsync(CancellationToken cancellation)
    {
        var head = new byte[9];
        await _stream.ReadExactlyAsync(head, cancellation);
        var payload = new byte[(head[0] << 16) | (head[1] << 8) | head[2]];
        await _stream.ReadExactlyAsync(payload, cancellation);
        return (head[3], head[4], BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(5)) & 0x7fffffff, payload);
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client.Dispose();
    }
}
