using Chat4All.Client;

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
/// <c>upload</c> on the SDK's resumable, parallel upload (<see cref="FileTransfers"/>): the CLI adds the
/// upload's resume point, kept per file and conversation in <see cref="UploadStateStore"/> so that
/// running the same command again continues where it stopped; the type check before the first chunk;
/// and the progress bars.
/// </summary>
public sealed class Uploader(FileTransfers files, Uri host, UploadStateStore states, TextWriter notices, bool terminal)
{
    public async Task<UploadOutcome> UploadAsync(UploadRequest request, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(request.FilePath);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new CliException($"No such file: {path}", ExitCodes.Usage);
        }

        var url = host.ToString();
        var statePath = states.PathFor(url, request.ConversationId, path);
        var state = UploadStateStore.Load(statePath);
        if (state is not null && (state.Size != info.Length || state.LastWriteUtc != info.LastWriteTimeUtc))
        {
            await notices.WriteLineAsync("chat4all: the file changed since its upload started; starting a new upload");
            state = null;
        }

        var mimeType = state?.MimeType ?? await CheckTypeAsync(path, request.MimeType ?? MimeTypeMap.For(path), cancellationToken);
        var sha256 = state?.Sha256 ?? await HashAsync(path, info.Length, cancellationToken);
        ProgressBar? progress = null;
        var result = await files.UploadAsync(path, request.ConversationId, mimeType, new UploadOptions
        {
            ChunkSize = request.ChunkSize,
            Parallelism = request.Parallel,
            StopAfterChunks = request.StopAfterChunks,
            Sha256 = sha256,
            Resume = state is null ? null : new UploadResumePoint(state.UploadId, state.ChunkSize, state.TotalChunks, state.Sha256, state.ExpiresAt),
            Notice = text => notices.WriteLine("chat4all: " + text),
            Started = (point, stored) =>
            {
                UploadStateStore.Save(statePath, new UploadState(point.UploadId, url, request.ConversationId, path, info.Length, info.LastWriteTimeUtc,
                    point.Sha256, mimeType, point.ChunkSize, point.TotalChunks, point.ExpiresAt));
                progress = new ProgressBar(notices, terminal, "upload", info.Length, stored);
            },
            Progress = bytes => progress?.Add(bytes),
        }, cancellationToken);
        progress ??= new ProgressBar(notices, terminal, "upload", info.Length, info.Length);
        progress.Finish();
        var outcome = new UploadOutcome(result.Completed, result.UploadId, result.FileId, info.Name, info.Length, result.Sha256, result.TotalChunks,
            result.ChunksSent, result.ChunksSkipped, result.Resumed, progress.Transferred, progress.Elapsed);
        if (result.Interrupted)
        {
            return outcome;
        }

        UploadStateStore.Delete(statePath);
        return result.Completed
            ? outcome
            : throw new CliException($"The server could not assemble the upload {result.UploadId}: {result.FailureReason}. Upload the file again.");
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

    private async Task<string> HashAsync(string path, long size, CancellationToken cancellationToken)
    {
        var progress = size > 64L * 1024 * 1024 ? new ProgressBar(notices, terminal, "sha256", size, 0) : null;
        var sha256 = await FileTransfers.Sha256Async(path, progress is null ? null : progress.Add, cancellationToken);
        progress?.Finish();
        return sha256;
    }
}
