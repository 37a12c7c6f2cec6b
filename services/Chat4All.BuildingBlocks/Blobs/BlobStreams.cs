using System.Security.Cryptography;

namespace Chat4All.BuildingBlocks.Blobs;

/// <summary>
/// A read-only, forward-only view of at most <c>length</c> bytes of another stream (a range read).
/// Disposing it disposes the inner stream and <c>owner</c> (e.g. the S3 response the stream belongs to).
/// </summary>
internal sealed class BoundedReadStream(Stream inner, long? length, IDisposable? owner = null) : Stream
{
    private long _remaining = length ?? long.MaxValue;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_remaining == 0 || buffer.IsEmpty)
        {
            return 0;
        }

        var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        Advance(read);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_remaining == 0 || buffer.IsEmpty)
        {
            return 0;
        }

        var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken);
        Advance(read);
        return read;
    }

    private void Advance(int read)
    {
        _remaining -= read;
        _position += read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            owner?.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// What an S3 part upload reads: exactly <c>length</c> bytes of the request body, SHA-256-hashed and
/// counted on the way, never buffered. A body that ends early fails the read (the upload is aborted);
/// whether it is longer is known only after the last byte, so <see cref="EnsureEndedAsync"/> checks it.
/// Disposing it disposes neither the body (the caller's) nor the hash (the adapter's).
/// </summary>
internal sealed class PartContentStream(Stream content, long length, IncrementalHash sha256) : Stream
{
    private long _read;
    private bool _endChecked;

    /// <summary>Set when the body was shorter or longer than announced.</summary>
    public BlobLengthMismatchException? Mismatch { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    /// <summary>The announced length: what the SDK sends as Content-Length.</summary>
    public override long Length => length;

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Mismatch is not null)
        {
            throw Mismatch;
        }

        if (_read == length)
        {
            await EnsureEndedAsync(cancellationToken);
            return 0;
        }

        if (buffer.IsEmpty)
        {
            return 0;
        }

        var read = await content.ReadAsync(buffer[..(int)Math.Min(buffer.Length, length - _read)], cancellationToken);
        if (read == 0)
        {
            throw Mismatch = new BlobLengthMismatchException(length, _read);
        }

        sha256.AppendData(buffer.Span[..read]);
        _read += read;
        return read;
    }

    /// <summary>After all <c>length</c> bytes: throws <see cref="BlobLengthMismatchException"/> when the body goes on.</summary>
    public async ValueTask EnsureEndedAsync(CancellationToken cancellationToken)
    {
        if (_endChecked)
        {
            return;
        }

        if (_read != length)
        {
            throw Mismatch ??= new BlobLengthMismatchException(length, _read);
        }

        var probe = new byte[1];
        if (await content.ReadAsync(probe, cancellationToken) > 0)
        {
            throw Mismatch = new BlobLengthMismatchException(length, length + 1);
        }

        _endChecked = true;
    }

    /// <summary>SHA-256 of the bytes read, lowercase hex.</summary>
    public string Sha256() => Convert.ToHexStringLower(sha256.GetCurrentHash());

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
