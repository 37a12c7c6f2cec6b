using Chat4All.BuildingBlocks.Blobs;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Files.Data;
using Chat4All.Files.Uploads;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Files.Assembly;

/// <summary>What every assembly step receives: a key, never bytes.</summary>
public sealed record AssemblyInput(Guid UploadId);

/// <summary>Why an upload failed for good, for the failing step.</summary>
public sealed record AssemblyFailure(Guid UploadId, string Reason);

/// <summary>
/// The steps of assembling an upload (docs/architecture.md §3), in order. Both runtimes run exactly these:
/// the dapr runtime as the activities of the <c>AssembleUpload</c> Dapr Workflow, the standalone
/// runtime through <see cref="StandaloneAssemblyRunner"/>, which records progress in PostgreSQL.
/// </summary>
public static class AssemblySteps
{
    public const string VerifyChunks = nameof(VerifyChunks);
    public const string Compose = nameof(Compose);
    public const string VerifyChecksum = nameof(VerifyChecksum);
    public const string DetectType = nameof(DetectType);
    public const string MarkCompleted = nameof(MarkCompleted);
    public const string DeleteChunks = nameof(DeleteChunks);

    /// <summary>Not part of the sequence: what runs once a step reports a failure.</summary>
    public const string MarkFailed = nameof(MarkFailed);

    public static readonly IReadOnlyList<string> Sequence = [VerifyChunks, Compose, VerifyChecksum, DetectType, MarkCompleted, DeleteChunks];
}

/// <summary>
/// The assembly steps as plain, idempotent operations on an upload id: each reads what it needs from
/// the files schema and the blob store, and can run again after a crash at any point. A step returns
/// a failure reason when the upload cannot become a file (the workflow then runs
/// <see cref="MarkFailedAsync"/>); it throws when something transient went wrong (it is retried).
/// </summary>
public sealed class AssemblyActivities(FilesDbContext db, IBlobStore blobs, FilesMetrics metrics, OutboxSignal outbox, TimeProvider time)
{
    public Task<string?> RunAsync(string step, Guid uploadId, CancellationToken cancellationToken) => step switch
    {
        AssemblySteps.VerifyChunks => VerifyChunksAsync(uploadId, cancellationToken),
        AssemblySteps.Compose => ComposeAsync(uploadId, cancellationToken),
        AssemblySteps.VerifyChecksum => VerifyChecksumAsync(uploadId, cancellationToken),
        AssemblySteps.DetectType => DetectTypeAsync(uploadId, cancellationToken),
        AssemblySteps.MarkCompleted => MarkCompletedAsync(uploadId, cancellationToken),
        AssemblySteps.DeleteChunks => DeleteChunksAsync(uploadId, cancellationToken),
        _ => throw new ArgumentOutOfRangeException(nameof(step), step, "Not an assembly step."),
    };

    /// <summary>Every chunk is stored, with the sizes the file's size implies.</summary>
    public async Task<string?> VerifyChunksAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        var upload = await LoadAsync(uploadId, cancellationToken);
        if (upload.Status == UploadStatuses.Completed)
        {
            return null;
        }

        var chunks = await StoredChunksAsync(uploadId, cancellationToken);
        if (chunks.Count != upload.TotalChunks)
        {
            return $"{upload.TotalChunks - chunks.Count} of {upload.TotalChunks} chunks are not stored.";
        }

        foreach (var chunk in chunks)
        {
            var expected = upload.ExpectedChunkSize(chunk.ChunkNumber);
            if (chunk.Size != expected || chunk.Sha256 is null)
            {
                return $"Chunk {chunk.ChunkNumber} holds {chunk.Size} bytes, not {expected}.";
            }
        }

        return null;
    }

    /// <summary>The staged parts become the file, inside the blob store (no bytes through this process).</summary>
    public async Task<string?> ComposeAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        var upload = await LoadAsync(uploadId, cancellationToken);
        if (upload.Status == UploadStatuses.Completed)
        {
            return null;
        }

        var chunks = await StoredChunksAsync(uploadId, cancellationToken);
        var parts = chunks.Select(c => new StagedPart(c.ChunkNumber, c.Size, c.Sha256!, c.ETag)).ToList();
        await blobs.CompleteStagedAsync(upload.Staged(), parts, cancellationToken);
        return null;
    }

    /// <summary>Hashes the assembled file (streamed) and checks it against the declared checksum, if any.</summary>
    public async Task<string?> VerifyChecksumAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        var upload = await LoadAsync(uploadId, cancellationToken);
        if (upload.Status == UploadStatuses.Completed)
        {
            return null;
        }

        var properties = await blobs.GetPropertiesAsync(upload.BlobKey, cancellationToken);
        if (properties is null || properties.Length != upload.FileSize)
        {
            return $"The assembled file holds {properties?.Length ?? 0} bytes, not {upload.FileSize}.";
        }

        string sha256;
        await using (var content = await blobs.OpenReadAsync(upload.BlobKey, 0, null, cancellationToken))
        {
            (_, sha256) = await Checksums.Sha256Async(content, long.MaxValue, cancellationToken);
        }

        if (upload.ChecksumSha256 is { } declared && declared != sha256)
        {
            return $"The file's SHA-256 is {sha256}, not {declared} as declared.";
        }

        await db.Uploads.Where(u => u.Id == uploadId).ExecuteUpdateAsync(set => set.SetProperty(u => u.ContentSha256, sha256), cancellationToken);
        return null;
    }

    /// <summary>The leading bytes must not contradict the declared type (see <see cref="MimeTypes"/>).</summary>
    public async Task<string?> DetectTypeAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        var upload = await LoadAsync(uploadId, cancellationToken);
        if (upload.Status == UploadStatuses.Completed)
        {
            return null;
        }

        var head = new byte[(int)Math.Min(MimeTypes.SniffLength, upload.FileSize)];
        await using (var content = await blobs.OpenReadAsync(upload.BlobKey, 0, head.Length, cancellationToken))
        {
            await content.ReadExactlyAsync(head, cancellationToken);
        }

        return MimeTypes.Contradiction(upload.MimeType, head);
    }

    /// <summary>The file row, the upload's completion and <c>file.uploaded</c> commit together, once.</summary>
    public async Task<string?> MarkCompletedAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        var upload = await db.Uploads.SingleAsync(u => u.Id == uploadId, cancellationToken);
        if (upload.Status == UploadStatuses.Completed)
        {
            return null;
        }

        if (upload.Status != UploadStatuses.Merging || upload.ContentSha256 is null)
        {
            return $"The upload is {upload.Status}, not merging with a verified checksum.";
        }

        var now = time.GetUtcNow();
        var file = new StoredFile
        {
            Id = Guid.CreateVersion7(now),
            UploadId = upload.Id,
            ConversationId = upload.ConversationId,
            OwnerId = upload.OwnerId,
            FileName = upload.FileName,
            MimeType = upload.MimeType,
            Size = upload.FileSize,
            Sha256 = upload.ContentSha256,
            BlobKey = upload.BlobKey,
            CreatedAt = now,
        };
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var moved = await db.Uploads.Where(u => u.Id == uploadId && u.Status == UploadStatuses.Merging)
            .ExecuteUpdateAsync(set => set.SetProperty(u => u.Status, UploadStatuses.Completed).SetProperty(u => u.FileId, file.Id).SetProperty(u => u.CompletedAt, now), cancellationToken);
        if (moved == 0)
        {
            return null; // a concurrent run of this step got there first
        }

        db.Files.Add(file);
        db.Enqueue(Topics.FileUploaded, upload.ConversationId.ToString(), new FileUploaded(
            file.Id, upload.Id, upload.ConversationId, upload.OwnerId, file.FileName, file.MimeType, file.Size, file.Sha256, now), now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Notify<FilesDbContext>();
        metrics.AssemblyFinished("completed", now - (upload.MergeRequestedAt ?? now));
        return null;
    }

    /// <summary>Whatever staging the store still holds for the upload goes (the parts themselves became the file).</summary>
    public async Task<string?> DeleteChunksAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        var upload = await LoadAsync(uploadId, cancellationToken);
        await blobs.AbortStagedAsync(upload.Staged(), cancellationToken);
        return null;
    }

    /// <summary>The upload fails with <paramref name="reason"/>; its bytes go, its row stays (the client reads the reason).</summary>
    public async Task MarkFailedAsync(Guid uploadId, string reason, CancellationToken cancellationToken)
    {
        var upload = await LoadAsync(uploadId, cancellationToken);
        if (upload.Status is UploadStatuses.Completed or UploadStatuses.Failed)
        {
            return;
        }

        var now = time.GetUtcNow();
        var trimmed = reason.Length <= 500 ? reason : reason[..497] + "...";
        // Bytes first: a retry after a failing delete finds the upload still merging and deletes again.
        await blobs.AbortStagedAsync(upload.Staged(), cancellationToken);
        await blobs.DeleteAsync(upload.BlobKey, cancellationToken);
        var moved = await db.Uploads.Where(u => u.Id == uploadId && u.Status == UploadStatuses.Merging)
            .ExecuteUpdateAsync(set => set.SetProperty(u => u.Status, UploadStatuses.Failed).SetProperty(u => u.FailureReason, trimmed), cancellationToken);
        if (moved > 0)
        {
            metrics.AssemblyFinished("failed", now - (upload.MergeRequestedAt ?? now));
        }
    }

    private async Task<Upload> LoadAsync(Guid uploadId, CancellationToken cancellationToken) =>
        await db.Uploads.AsNoTracking().SingleOrDefaultAsync(u => u.Id == uploadId, cancellationToken)
        ?? throw new InvalidOperationException($"Upload {uploadId} does not exist.");

    private Task<List<UploadChunk>> StoredChunksAsync(Guid uploadId, CancellationToken cancellationToken) =>
        db.Chunks.AsNoTracking().Where(c => c.UploadId == uploadId && c.State == ChunkStates.Stored).OrderBy(c => c.ChunkNumber).ToListAsync(cancellationToken);
}
