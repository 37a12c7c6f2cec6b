using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Chat4All.Cli.Api;
using Microsoft.Win32.SafeHandles;

namespace Chat4All.Cli.Files;

public sealed record UploadRequest(string FilePath, Guid ConversationId, string? MimeType, long ChunkSize, int Parallel, int? StopAfterChunks);

public sealed record UploadOutcome(
    bool Completed,
    Guid UploadId,
    Guid? FileId,
    string Filename,
    long Size,
    string Sha256,
    int TotalChunks,
    int ChunksSent,
    int ChunksSkipped,
    bool Resumed,
    long BytesSent,
    TimeSpan Elapsed);

/// <summary>
/// A resumable, parallel upload (docs/api.md §6): initiate once per file and conversation (the
/// upload id is kept in <see cref="UploadStateStore"/>), then send only the chunks the server's
/// status reports missing, several at a time, each with its SHA-256; complete, and wait for the
/// assembly. Interrupted — Ctrl-C or <see cref="UploadRequest.StopAfterChunks"/> — it leaves the
/// state behind, so running it again continues where it stopped.
/// </summary>
public sealed class Uploader(ApiClient api, UploadStateStore states, TextWriter notices, bool terminal)
{
    public async Task<UploadOutcome> UploadAsync(UploadRequest request, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(request.FilePath);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new CliException($"No such file: {path}", ExitCodes.Usage);
        }

        var url = api.Http.BaseAddress!.ToString();
        var statePath = states.PathFor(url, request.ConversationId, path);
        var state = UploadStateStore.Load(statePath);
        if (state is not null && (state.Size != info.Length || state.LastWriteUtc != info.LastWriteTimeUtc))
        {
            await notices.WriteLineAsync("chat4all: the file changed since its upload started; starting a new upload");
            state = null;
        }

        UploadStatus? status = null;
        if (state is not null)
        {
            status = await StatusOrNullAsync(state.UploadId, cancellationToken);
            if (status is null or { Status: "failed" } || (status.Status != "completed" && status.ExpiresAt <= DateTimeOffset.UtcNow))
            {
                await notices.WriteLineAsync($"chat4all: the earlier upload {state.UploadId} is {status?.Status ?? "gone"}; starting a new upload");
                state = null;
                status = null;
            }
        }

        var resumed = state is not null;
        if (state is null)
        {
            var mimeType = await CheckTypeAsync(path, request.MimeType ?? MimeTypeMap.For(path), cancellationToken);
            var sha256 = await HashAsync(path, info.Length, cancellationToken);
            var initiated = await InitiateAsync(new InitiateUploadRequest(request.ConversationId, info.Name, info.Length, mimeType, sha256, request.ChunkSize),
                cancellationToken);
            state = new UploadState(initiated.UploadId, url, request.ConversationId, path, info.Length, info.LastWriteTimeUtc, sha256, mimeType,
                initiated.ChunkSize, initiated.TotalChunks, initiated.ExpiresAt);
            UploadStateStore.Save(statePath, state);
        }

        var missing = status is null ? Enumerable.Range(1, state.TotalChunks).ToList() : (status.MissingChunks ?? []).ToList();
        var skipped = state.TotalChunks - missing.Count;
        if (resumed)
        {
            await notices.WriteLineAsync($"chat4all: resuming upload {state.UploadId}: {skipped} of {state.TotalChunks} chunks already stored");
        }

        var missingBytes = missing.Sum(n => ChunkLength(state, n));
        var progress = new ProgressBar(notices, terminal, "upload", state.Size, state.Size - missingBytes);
        var sent = 0;
        if (status?.Status is not ("completed" or "merging"))
        {
            (sent, var interrupted) = await SendChunksAsync(state, missing, request, progress, cancellationToken);
            progress.Finish();
            if (interrupted)
            {
                return Outcome(state, completed: false, fileId: null, sent, skipped, resumed, progress);
            }

            await CompleteAsync(state.UploadId, cancellationToken);
        }

        var final = await WaitForAssemblyAsync(state.UploadId, cancellationToken);
        UploadStateStore.Delete(statePath);
        if (final.Status != "completed" || final.FileId is null)
        {
            throw new CliException($"The server could not assemble the upload {state.UploadId}: {final.FailureReason ?? final.Status}. Upload the file again.");
        }

        return Outcome(state, completed: true, final.FileId, sent, skipped, resumed, progress);
    }

    /// <summary>
    /// The declared type, normalised, once the file's first bytes agree with it — the check the
    /// server makes when it assembles the file, made before any chunk is sent.
    /// </summary>
    private static async Task<string> CheckTypeAsync(string path, string declared, CancellationToken cancellationToken)
    {
        var mimeType = Chat4All.Files.MimeTypes.Normalise(declared)
            ?? throw new CliException($"'{declared}' is not a MIME type (type/subtype, such as image/png).", ExitCodes.Usage);
        var head = new byte[Chat4All.Files.MimeTypes.SniffLength];
        int read;
        await using (var stream = File.OpenRead(path))
        {
            read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken);
        }

        return Chat4All.Files.MimeTypes.Contradiction(mimeType, head.AsSpan(0, read)) is { } why
            ? throw new CliException($"{Path.GetFileName(path)} was not sent: {why} Give the right --mime-type " +
                $"(or --mime-type {Chat4All.Files.MimeTypes.OctetStream}).", ExitCodes.Usage)
            : mimeType;
    }

    private static UploadOutcome Outcome(UploadState state, bool completed, Guid? fileId, int sent, int skipped, bool resumed, ProgressBar progress) =>
        new(completed, state.UploadId, fileId, Path.GetFileName(state.Path), state.Size, state.Sha256, state.TotalChunks, sent, skipped, resumed,
            progress.Transferred, progress.Elapsed);

    private async Task<(int Sent, bool Interrupted)> SendChunksAsync(UploadState state, List<int> missing, UploadRequest request, ProgressBar progress,
        CancellationToken cancellationToken)
    {
        using var handle = File.OpenHandle(state.Path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var next = -1;
        var sent = 0;
        var budget = request.StopAfterChunks ?? int.MaxValue;
        Exception? failure = null;
        var workers = Enumerable.Range(0, Math.Clamp(request.Parallel, 1, 16)).Select(async _ =>
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

                    await SendChunkAsync(handle, state, missing[index], progress, stop.Token);
                    Interlocked.Increment(ref sent);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // interrupted, or another worker failed
            }
            catch (Exception ex) when (ex is CliException or IOException or UnauthorizedAccessException)
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

    private async Task SendChunkAsync(SafeFileHandle handle, UploadState state, int number, ProgressBar progress, CancellationToken cancellationToken)
    {
        var offset = (number - 1) * state.ChunkSize;
        var length = (int)ChunkLength(state, number);
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
                    throw new CliException($"{state.Path} became shorter while uploading; upload it again.");
                }

                read += n;
            }

            var checksum = Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, length)));
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    using var response = await api.SendRawAsync(HttpMethod.Post,
                        $"v1/files/{state.UploadId}/chunks?chunk_number={number}&checksum_sha256={checksum}",
                        () =>
                        {
                            reported.Reset(); // a retry starts the chunk over
                            return new ProgressContent(buffer, length, reported);
                        },
                        idempotent: true, // the same bytes again are a 200 (docs/api.md §6.2)
                        HttpCompletionOption.ResponseContentRead, null, cancellationToken);
                    return;
                }
                catch (ApiException ex) when (ex.Code == "chunk_in_progress" && attempt < 30)
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
        // conversation created a moment ago can get 404 for a few milliseconds (README "Known limits").
        var deadline = DateTimeOffset.UtcNow.AddSeconds(5);
        while (true)
        {
            try
            {
                return (await api.PostJsonAsync("v1/files/initiate", request, CliJson.Default.InitiateUploadRequest, CliJson.Default.InitiatedUpload,
                    idempotent: false, cancellationToken)).Value;
            }
            catch (ApiException ex) when (ex.Status == HttpStatusCode.NotFound && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(250, cancellationToken);
            }
        }
    }

    private async Task CompleteAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        using var _ = await api.SendRawAsync(HttpMethod.Post, $"v1/files/{uploadId}/complete", null, idempotent: true,
            HttpCompletionOption.ResponseContentRead, null, cancellationToken);
    }

    private async Task<UploadStatus> WaitForAssemblyAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        var deadline = DateTimeOffset.UtcNow.AddMinutes(10);
        while (true)
        {
            var status = (await api.GetAsync($"v1/files/{uploadId}/status", CliJson.Default.UploadStatus, cancellationToken)).Value;
            if (status.Status is "completed" or "failed")
            {
                return status;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new CliException($"The upload {uploadId} is still {status.Status} after 10 minutes; check later with the same command.");
            }

            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
        }
    }

    private async Task<UploadStatus?> StatusOrNullAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        try
        {
            return (await api.GetAsync($"v1/files/{uploadId}/status", CliJson.Default.UploadStatus, cancellationToken)).Value;
        }
        catch (ApiException ex) when (ex.Status is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            return null; // purged after expiry
        }
    }

    private async Task<string> HashAsync(string path, long size, CancellationToken cancellationToken)
    {
        var progress = size > 64L * 1024 * 1024 ? new ProgressBar(notices, terminal, "sha256", size, 0) : null;
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer.AsMemory(0, 1 << 20), cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                progress?.Add(read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        progress?.Finish();
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static long ChunkLength(UploadState state, int number) => Math.Min(state.ChunkSize, state.Size - ((number - 1) * state.ChunkSize));

    /// <summary>The bytes of one chunk attempt, reported to the bar as they are written to the socket.</summary>
    private sealed class ChunkProgress(ProgressBar bar)
    {
        private long _reported;

        public void Add(long bytes)
        {
            Interlocked.Add(ref _reported, bytes);
            bar.Add(bytes);
        }

        public void Reset() => bar.Add(-Interlocked.Exchange(ref _reported, 0));
    }

    private sealed class ProgressContent : HttpContent
    {
        private const int Slice = 256 * 1024;
        private readonly byte[] _buffer;
        private readonly int _length;
        private readonly ChunkProgress _progress;

        public ProgressContent(byte[] buffer, int length, ChunkProgress progress)
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
