using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using Chat4All.Contracts;
using Chat4All.Contracts.Files;

namespace Chat4All.Client;

/// <summary>Where an upload stands on the server: enough to continue it from another process or after a crash.</summary>
public sealed record UploadResumePoint(Guid UploadId, long ChunkSize, int TotalChunks, string Sha256, DateTimeOffset ExpiresAt);

/// <summary>How to upload.</summary>
public sealed record UploadOptions
{
    /// <summary>Bytes per chunk (the server's default when null).</summary>
    public long? ChunkSize { get; init; }

    /// <summary>Chunks in flight at once (1 to 16).</summary>
    public int Parallelism { get; init; } = 4;

    /// <summary>An earlier upload of the same file to continue: only the chunks the server lacks are sent.</summary>
    public UploadResumePoint? Resume { get; init; }

    /// <summary>The file's SHA-256 when already known (it is computed otherwise).</summary>
    public string? Sha256 { get; init; }

    /// <summary>
    /// Called once the server has given the upload its id, with the bytes it already holds (of a resumed
    /// upload): keep the point to resume after an interruption.
    /// </summary>
    public Action<UploadResumePoint, long>? Started { get; init; }

    /// <summary>Bytes written to the socket (negative when a chunk attempt starts over).</summary>
    public Action<long>? Progress { get; init; }

    /// <summary>What the upload decided along the way (resuming, starting over), in words.</summary>
    public Action<string>? Notice { get; init; }

    /// <summary>Stops after this many chunks, as an interruption would (for tests and demos).</summary>
    public int? StopAfterChunks { get; init; }
}

/// <summary>
/// What an upload did. <see cref="Completed"/> with a <see cref="FileId"/> once assembled; otherwise
/// <see cref="Interrupted"/> (cancelled or stopped: resume from <see cref="UploadId"/>), or the
/// server's <see cref="FailureReason"/>.
/// </summary>
public sealed record UploadResult(
    bool Completed,
    bool Interrupted,
    Guid UploadId,
    Guid? FileId,
    string? FailureReason,
    long Size,
    string Sha256,
    int TotalChunks,
    int ChunksSent,
    int ChunksSkipped,
    bool Resumed);

/// <summary>What a download did: where the verified file is and how many bytes came over the wire this time.</summary>
public sealed record DownloadResult(FileMetadata Metadata, string Path, string Sha256, long BytesReceived, bool Resumed);

/// <summary>How to download.</summary>
public sealed record DownloadOptions
{
    /// <summary>Called before the bytes flow with how many a partial earlier download already holds.</summary>
    public Action<long>? Started { get; init; }

    /// <summary>Bytes received.</summary>
    public Action<long>? Progress { get; init; }
}

/// <summary>
/// Resumable, parallel uploads through the chunk API (initiate, chunks with their SHA-256 in any order,
/// complete, wait for assembly) and downloads checked against the SHA-256 the server recorded.
/// </summary>
public sealed class FileTransfers(ApiConnection api)
{
    /// <summary>
    /// Uploads a file into a conversation. With <see cref="UploadOptions.Resume"/> it asks the server
    /// which chunks it holds (<c>received_chunks</c>) and sends only the others; an expired, purged or
    /// failed upload starts over. Chunks go <see cref="UploadOptions.Parallelism"/> at a time; one refusal
    /// stops the rest. Cancelling leaves the upload resumable.
    /// </summary>
    public async Task<UploadResult> UploadAsync(string path, Guid conversationId, string mimeType, UploadOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new UploadOptions();
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"No such file: {path}", path);
        }

        var point = options.Resume;
        UploadStatusResponse? status = null;
        if (point is not null)
        {
            status = await StatusOrNullAsync(point.UploadId, cancellationToken);
            if (status is null or { Status: "failed" } || (status.Status != "completed" && status.ExpiresAt <= DateTimeOffset.UtcNow))
            {
                options.Notice?.Invoke($"the earlier upload {point.UploadId} is {status?.Status ?? "gone"}; starting a new upload");
                point = null;
                status = null;
            }
        }

        var resumed = point is not null;
        if (point is null)
        {
            var sha256 = options.Sha256 ?? await Sha256Async(path, null, cancellationToken);
            var initiated = await InitiateAsync(new InitiateUploadRequest(conversationId, info.Name, info.Length, mimeType, sha256, options.ChunkSize),
                cancellationToken);
            point = new UploadResumePoint(initiated.UploadId, initiated.ChunkSize, initiated.TotalChunks, sha256, initiated.ExpiresAt);
        }

        var missing = Missing(point, status);
        var skipped = point.TotalChunks - missing.Count;
        options.Started?.Invoke(point, info.Length - missing.Sum(n => ChunkLength(point, info.Length, n)));
        if (resumed)
        {
            options.Notice?.Invoke($"resuming upload {point.UploadId}: {skipped} of {point.TotalChunks} chunks already stored");
        }

        var sent = 0;
        if (status?.Status is not ("completed" or "merging"))
        {
            (sent, var interrupted) = await SendChunksAsync(path, info.Length, point, missing, options, cancellationToken);
            if (interrupted)
            {
                return new UploadResult(false, true, point.UploadId, null, null, info.Length, point.Sha256, point.TotalChunks, sent, skipped, resumed);
            }

            using var _ = await api.SendRawAsync(HttpMethod.Post, $"v1/files/{point.UploadId}/complete", null, RetryMode.SafeToRepeat,
                HttpCompletionOption.ResponseContentRead, null, cancellationToken);
        }

        var final = await WaitForAssemblyAsync(point.UploadId, cancellationToken);
        var completed = final.Status == "completed" && final.FileId is not null;
        return new UploadResult(completed, false, point.UploadId, final.FileId, completed ? null : final.FailureReason ?? final.Status, info.Length,
            point.Sha256, point.TotalChunks, sent, skipped, resumed);
    }

    /// <summary>An upload's state on the server.</summary>
    public async Task<UploadStatusResponse> GetUploadStatusAsync(Guid uploadId, CancellationToken cancellationToken = default) =>
        (await api.GetAsync($"v1/files/{uploadId}/status", ContractJsonContext.Default.UploadStatusResponse, cancellationToken)).Value;

    /// <summary>A file's metadata (name, size, type, SHA-256).</summary>
    public async Task<FileMetadata> GetMetadataAsync(Guid fileId, CancellationToken cancellationToken = default) =>
        (await api.GetAsync($"v1/files/{fileId}", ContractJsonContext.Default.FileMetadata, cancellationToken)).Value;

    /// <summary>
    /// Downloads a file to <paramref name="destination"/> through <c>destination.part</c>: a partial
    /// earlier download is continued with a <c>Range</c> request, the whole is checked against the
    /// file's SHA-256, and only then renamed into place (replacing what was there). A mismatch deletes the
    /// partial file and throws <see cref="Chat4AllChecksumException"/>.
    /// </summary>
    public async Task<DownloadResult> DownloadToFileAsync(FileMetadata metadata, string destination, DownloadOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var partial = destination + ".part";
        var existing = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (existing > metadata.Size)
        {
            existing = 0;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        bool resuming;
        using (var response = await api.SendRawAsync(HttpMethod.Get, $"v1/files/{metadata.FileId}/content", null, RetryMode.SafeToRepeat,
            HttpCompletionOption.ResponseHeadersRead,
            request =>
            {
                if (existing > 0 && existing < metadata.Size)
                {
                    request.Headers.Range = new RangeHeaderValue(existing, null);
                }
            },
            cancellationToken))
        {
            resuming = response.StatusCode == HttpStatusCode.PartialContent && existing > 0;
            await using var output = new FileStream(partial, resuming ? FileMode.Open : FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16,
                FileOptions.Asynchronous);
            var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
            try
            {
                if (resuming)
                {
                    // Hash what the earlier attempt stored, then append after it.
                    int read;
                    while ((read = await output.ReadAsync(buffer.AsMemory(0, 1 << 16), cancellationToken)) > 0)
                    {
                        hash.AppendData(buffer, 0, read);
                    }
                }

                options?.Started?.Invoke(resuming ? existing : 0);
                await using var content = await response.Content.ReadAsStreamAsync(cancellationToken);
                int n;
                while ((n = await content.ReadAsync(buffer.AsMemory(0, 1 << 16), cancellationToken)) > 0)
                {
                    await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                    hash.AppendData(buffer, 0, n);
                    received += n;
                    options?.Progress?.Invoke(n);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (!string.Equals(sha256, metadata.ChecksumSha256, StringComparison.OrdinalIgnoreCase))
        {
            File.Delete(partial);
            throw new Chat4AllChecksumException(metadata.FileId, metadata.ChecksumSha256, sha256);
        }

        File.Move(partial, destination, overwrite: true);
        return new DownloadResult(metadata, destination, sha256, received, resuming);
    }

    /// <summary>The SHA-256 of a file, lower-case hex; <paramref name="progress"/> gets the bytes read.</summary>
    public static async Task<string> Sha256Async(string path, Action<long>? progress, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer.AsMemory(0, 1 << 20), cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                progress?.Invoke(read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The chunks to send: all of a new upload; of a resumed one, those the server has not received.</summary>
    private static List<int> Missing(UploadResumePoint point, UploadStatusResponse? status)
    {
        if (status is null)
        {
            return [.. Enumerable.Range(1, point.TotalChunks)];
        }

        if (status.ReceivedChunks is { } received)
        {
            var held = received.ToHashSet();
            return [.. Enumerable.Range(1, point.TotalChunks).Where(n => !held.Contains(n))];
        }

        return [.. status.MissingChunks ?? []];
    }

    private async Task<(int Sent, bool Interrupted)> SendChunksAsync(string path, long size, UploadResumePoint point, List<int> missing, UploadOptions options,
        CancellationToken cancellationToken)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var next = -1;
        var sent = 0;
        var budget = options.StopAfterChunks ?? int.MaxValue;
        Exception? failure = null;
        var workers = Enumerable.Range(0, Math.Clamp(options.Parallelism, 1, 16)).Select(async _ =>
        {
            try
            {
                while (true)
                {
                    var index = Interlocked.Increment(ref next);
                    if (index >= missing.Count || index >= budget)
                    {
                        return;
                    }

                    await SendChunkAsync(handle, size, point, missing[index], options.Progress, stop.Token);
                    Interlocked.Increment(ref sent);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // interrupted, or another worker failed
            }
            catch (Exception ex) when (ex is Chat4AllApiException or HttpRequestException or IOException or UnauthorizedAccessException)
            {
                Interlocked.CompareExchange(ref failure, ex, null);
                await stop.CancelAsync(); // one refusal stops the others: no point sending the rest
            }
        }).ToList();
        await Task.WhenAll(workers);
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        return (sent, cancellationToken.IsCancellationRequested || sent < missing.Count);
    }

    private async Task SendChunkAsync(SafeFileHandle handle, long size, UploadResumePoint point, int number, Action<long>? progress,
        CancellationToken cancellationToken)
    {
        var offset = (number - 1) * point.ChunkSize;
        var length = (int)ChunkLength(point, size, number);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        var reported = new ChunkProgress(progress);
        try
        {
            var read = 0;
            while (read < length)
            {
                var n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(read, length - read), offset + read, cancellationToken);
                if (n == 0)
                {
                    throw new IOException("The file became shorter while uploading; upload it again.");
                }

                read += n;
            }

            var checksum = Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, length)));
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    using var response = await api.SendRawAsync(HttpMethod.Post,
                        $"v1/files/{point.UploadId}/chunks?chunk_number={number}&checksum_sha256={checksum}",
                        () =>
                        {
                            reported.Reset(); // a retry starts the chunk over
                            return new ChunkContent(buffer, length, reported);
                        },
                        RetryMode.SafeToRepeat, // the same bytes again are a 200
                        HttpCompletionOption.ResponseContentRead, null, cancellationToken);
                    return;
                }
                catch (Chat4AllApiException ex) when (ex.Code == "chunk_in_progress" && attempt < 30)
                {
                    // An earlier attempt (aborted, or from an interrupted run) still holds the chunk's claim until it lapses.
                    reported.Reset();
                    await Task.Delay(ex.RetryAfter ?? TimeSpan.FromSeconds(1), cancellationToken);
                }
            }
        }
        catch
        {
            reported.Reset();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<InitiatedUpload> InitiateAsync(InitiateUploadRequest request, CancellationToken cancellationToken)
    {
        // The files service learns a new conversation's members from an event, so an upload into a
        // conversation created a moment ago can get 404 for a few milliseconds.
        var deadline = DateTimeOffset.UtcNow.AddSeconds(5);
        while (true)
        {
            try
            {
                return (await api.SendJsonAsync(HttpMethod.Post, "v1/files/initiate", request, ContractJsonContext.Default.InitiateUploadRequest,
                    ContractJsonContext.Default.InitiatedUpload, RetryMode.Never, cancellationToken)).Value;
            }
            catch (Chat4AllApiException ex) when (ex.Status == HttpStatusCode.NotFound && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(250, cancellationToken);
            }
        }
    }

    private async Task<UploadStatusResponse> WaitForAssemblyAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        var deadline = DateTimeOffset.UtcNow.AddMinutes(10);
        while (true)
        {
            var status = await GetUploadStatusAsync(uploadId, cancellationToken);
            if (status.Status is "completed" or "failed")
            {
                return status;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"The upload {uploadId} is still {status.Status} after 10 minutes; check its status later.");
            }

            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
        }
    }

    private async Task<UploadStatusResponse?> StatusOrNullAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        try
        {
            return await GetUploadStatusAsync(uploadId, cancellationToken);
        }
        catch (Chat4AllApiException ex) when (Chat4AllClient.IsGone(ex))
        {
            return null; // purged after expiry
        }
    }

    private static long ChunkLength(UploadResumePoint point, long size, int number) => Math.Min(point.ChunkSize, size - ((number - 1) * point.ChunkSize));

    /// <summary>The bytes of one chunk attempt, reported as they are written to the socket, and taken back when the attempt starts over.</summary>
    private sealed class ChunkProgress(Action<long>? progress)
    {
        private long _reported;

        public void Add(long bytes)
        {
            Interlocked.Add(ref _reported, bytes);
            progress?.Invoke(bytes);
        }

        public void Reset()
        {
            var taken = Interlocked.Exchange(ref _reported, 0);
            if (taken != 0)
            {
                progress?.Invoke(-taken);
            }
        }
    }

    private sealed class ChunkContent : HttpContent
    {
        private const int Slice = 256 * 1024;
        private readonly byte[] _buffer;
        private readonly int _length;
        private readonly ChunkProgress _progress;

        public ChunkContent(byte[] buffer, int length, ChunkProgress progress)
        {
            _buffer = buffer;
            _length = length;
            _progress = progress;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            for (var offset = 0; offset < _length; offset += Slice)
            {
                var count = Math.Min(Slice, _length - offset);
                await stream.WriteAsync(_buffer.AsMemory(offset, count), cancellationToken);
                _progress.Add(count);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }
}
