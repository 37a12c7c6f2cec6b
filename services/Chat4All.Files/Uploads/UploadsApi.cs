using System.ComponentModel.DataAnnotations;
using Chat4All.BuildingBlocks.Blobs;
using Chat4All.Contracts;
using Chat4All.Files.Assembly;
using Chat4All.Files.Data;
using Chat4All.Files.Memberships;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Chat4All.ServiceDefaults.OpenApi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Chat4All.Contracts.Files;

namespace Chat4All.Files.Uploads;

/// <summary>
/// Resumable uploads (docs/api.md §6): initiate, chunks in any order and in parallel, status with the
/// missing chunks, complete. Only the conversation's members see an upload; only its owner writes it.
/// </summary>
public static class UploadsApi
{
    public static IEndpointRouteBuilder MapUploadsApi(this IEndpointRouteBuilder endpoints)
    {
        var files = endpoints.MapGroup("/v1/files").RequireAuthorization(ChatScopes.Files).WithTags("Files");
        files.MapPost("/initiate", Initiate).WithName("InitiateUpload")
            .WithSummary("Start an upload")
            .WithDescription("Announces a file (up to 2 GiB) for a conversation and gets an upload id, its chunk size (5–50 MiB) and chunk count; expires after 24 h.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        files.MapPost("/{uploadId:guid}/chunks", ChunkReceiver.ReceiveAsync).WithName("UploadChunk")
            .WithSummary("Upload a chunk")
            .WithDescription("The raw bytes of chunk `chunk_number` (`application/octet-stream`), in any order and in parallel; re-sending the same bytes is idempotent, different bytes are 409 `duplicate_chunk`. An optional SHA-256 (`checksum_sha256` or a `Digest`/`Repr-Digest` header) is checked.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status410Gone).ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithRawRequestBody("application/octet-stream", "The chunk's bytes: exactly chunk_size, the last chunk the rest of the file.");
        files.MapGet("/{uploadId:guid}/status", GetStatus).WithName("GetUploadStatus")
            .WithSummary("Get upload status")
            .WithDescription("Progress, the missing chunks, and once assembled the `file_id`.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status410Gone);
        files.MapPost("/{uploadId:guid}/complete", Complete).WithName("CompleteUpload")
            .WithSummary("Complete an upload")
            .WithDescription("Starts assembly (202 `merging`): compose, whole-file SHA-256, type check, then `file.uploaded`. 400 `incomplete_upload` lists the missing chunks.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status410Gone);
        return endpoints;
    }

    public static async Task<Results<Created<InitiatedUpload>, ValidationProblem, ProblemHttpResult>> Initiate(
        InitiateUploadRequest request, HttpContext http, FilesDbContext db, IBlobStore blobs, FilesMetrics metrics,
        TimeProvider time, IOptions<FilesOptions> options, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (request.FileSize > settings.MaxFileSize)
        {
            return Problems.Problem(StatusCodes.Status413PayloadTooLarge, "file_too_large",
                $"file_size may be at most {settings.MaxFileSize} bytes.", new Dictionary<string, object?> { ["max_file_size"] = settings.MaxFileSize });
        }

        var errors = new Dictionary<string, string[]>();
        var fileName = FileNames.Sanitise(request.Filename);
        var mimeType = MimeTypes.Normalise(request.MimeType);
        var checksum = Checksums.NormaliseHex(request.ChecksumSha256);
        var chunkSize = request.ChunkSize ?? settings.DefaultChunkSize;
        if (request.ConversationId is null || request.ConversationId == Guid.Empty)
        {
            errors["conversation_id"] = ["conversation_id is required."];
        }

        if (fileName is null)
        {
            errors["filename"] = ["filename is required and must contain printable characters."];
        }

        if (request.FileSize is not > 0)
        {
            errors["file_size"] = ["file_size must be a positive number of bytes."];
        }

        if (mimeType is null)
        {
            errors["mime_type"] = ["mime_type must be a media type such as image/png."];
        }

        if (request.ChecksumSha256 is not null && checksum is null)
        {
            errors["checksum_sha256"] = ["checksum_sha256 must be 64 hexadecimal characters."];
        }

        if (chunkSize < settings.MinChunkSize || chunkSize > settings.MaxChunkSize)
        {
            errors["chunk_size"] = [$"chunk_size must lie between {settings.MinChunkSize} and {settings.MaxChunkSize} bytes."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var caller = http.CallerId();
        var conversationId = request.ConversationId!.Value;
        if (await db.CheckMemberAsync(conversationId, http, cancellationToken) is { } problem)
        {
            return problem;
        }

        var now = time.GetUtcNow();
        var uploadId = Guid.CreateVersion7(now);
        var fileSize = request.FileSize!.Value;
        var totalChunks = checked((int)((fileSize + chunkSize - 1) / chunkSize));
        var staged = await blobs.BeginStagedAsync(BlobKeys.File(uploadId), fileSize, chunkSize, cancellationToken);
        var upload = new Upload
        {
            Id = uploadId,
            ConversationId = conversationId,
            OwnerId = caller,
            FileName = fileName!,
            MimeType = mimeType!,
            FileSize = fileSize,
            ChunkSize = chunkSize,
            TotalChunks = totalChunks,
            ChecksumSha256 = checksum,
            Status = UploadStatuses.Pending,
            BlobKey = staged.Key,
            StagingHandle = staged.Handle,
            CreatedAt = now,
            ExpiresAt = now + settings.UploadLifetime,
        };
        db.Uploads.Add(upload);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch
        {
            // No row points at the staged object: drop it rather than leave it for nobody to purge.
            await blobs.AbortStagedAsync(staged, CancellationToken.None);
            throw;
        }

        metrics.UploadInitiated();
        return TypedResults.Created($"/v1/files/{uploadId}/status", new InitiatedUpload(uploadId, totalChunks, chunkSize, upload.ExpiresAt));
    }

    public static async Task<Results<Ok<UploadStatusResponse>, ProblemHttpResult>> GetStatus(
        Guid uploadId, HttpContext http, FilesDbContext db, CancellationToken cancellationToken)
    {
        var upload = await db.Uploads.AsNoTracking().SingleOrDefaultAsync(u => u.Id == uploadId, cancellationToken);
        if (await UploadAccess.CheckAsync(db, upload, http.CallerId(), write: false, cancellationToken) is { } problem)
        {
            return problem;
        }

        var stored = await UploadProgress.StoredChunksAsync(db, uploadId, cancellationToken);
        return TypedResults.Ok(ToStatus(upload!, stored));
    }

    public static async Task<Results<Accepted<CompletionAccepted>, ProblemHttpResult>> Complete(
        Guid uploadId, HttpContext http, FilesDbContext db, IAssemblyScheduler assembly, TimeProvider time, CancellationToken cancellationToken)
    {
        var upload = await db.Uploads.AsNoTracking().SingleOrDefaultAsync(u => u.Id == uploadId, cancellationToken);
        if (await UploadAccess.CheckAsync(db, upload, http.CallerId(), write: true, cancellationToken) is { } problem)
        {
            return problem;
        }

        switch (upload!.Status)
        {
            case UploadStatuses.Merging:
                // Completing again is harmless, and makes sure the assembly runs (it may not have been
                // scheduled if the process died right after the first commit).
                await assembly.StartAsync(uploadId, cancellationToken);
                return TypedResults.Accepted($"/v1/files/{uploadId}/status", new CompletionAccepted(uploadId, upload.Status));
            case UploadStatuses.Completed:
                return TypedResults.Accepted($"/v1/files/{uploadId}/status", new CompletionAccepted(uploadId, upload.Status));
            case UploadStatuses.Failed:
                return Problems.Problem(StatusCodes.Status409Conflict, "upload_failed", "The upload failed: " + upload.FailureReason);
        }

        var now = time.GetUtcNow();
        if (now >= upload.ExpiresAt)
        {
            return UploadAccess.Expired();
        }

        var stored = await UploadProgress.StoredChunksAsync(db, uploadId, cancellationToken);
        var missing = UploadProgress.Missing(upload.TotalChunks, stored);
        if (missing.Count > 0)
        {
            return Problems.Problem(StatusCodes.Status400BadRequest, "incomplete_upload",
                $"{missing.Count} of {upload.TotalChunks} chunks are missing.", new Dictionary<string, object?> { ["missing_chunks"] = missing });
        }

        // The status moves only from where it was (and only before expiry), so a concurrent complete
        // or the purge wins cleanly; the assembly is recorded in the same transaction.
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            var moved = await db.Uploads
                .Where(u => u.Id == uploadId && (u.Status == UploadStatuses.Pending || u.Status == UploadStatuses.Uploading) && u.ExpiresAt > now)
                .ExecuteUpdateAsync(set => set.SetProperty(u => u.Status, UploadStatuses.Merging).SetProperty(u => u.MergeRequestedAt, now), cancellationToken);
            if (moved == 0)
            {
                return Problems.Problem(StatusCodes.Status409Conflict, "upload_changed", "The upload changed meanwhile; read its status.");
            }

            await assembly.EnlistAsync(db, uploadId, now, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await assembly.StartAsync(uploadId, cancellationToken);
        return TypedResults.Accepted($"/v1/files/{uploadId}/status", new CompletionAccepted(uploadId, UploadStatuses.Merging));
    }

    internal static UploadStatusResponse ToStatus(Upload upload, IReadOnlyCollection<int> stored)
    {
        var missing = UploadProgress.Missing(upload.TotalChunks, stored);
        return new UploadStatusResponse(
            upload.Id,
            upload.Status,
            stored.Count,
            upload.TotalChunks,
            UploadProgress.Percentage(stored.Count, upload.TotalChunks),
            [.. stored.Order()],
            missing,
            upload.FileId,
            upload.FileId is { } fileId ? $"/v1/files/{fileId}/content" : null,
            upload.FailureReason,
            upload.CreatedAt,
            upload.ExpiresAt,
            upload.CompletedAt);
    }
}

/// <summary>Chunks stored so far, and what that means for the client.</summary>
internal static class UploadProgress
{
    public static Task<List<int>> StoredChunksAsync(FilesDbContext db, Guid uploadId, CancellationToken cancellationToken) =>
        db.Chunks.AsNoTracking().Where(c => c.UploadId == uploadId && c.State == ChunkStates.Stored)
            .OrderBy(c => c.ChunkNumber).Select(c => c.ChunkNumber).ToListAsync(cancellationToken);

    public static List<int> Missing(int totalChunks, IReadOnlyCollection<int> stored)
    {
        var have = stored as ISet<int> ?? stored.ToHashSet();
        return [.. Enumerable.Range(1, totalChunks).Where(n => !have.Contains(n))];
    }

    public static double Percentage(int uploaded, int total) => total == 0 ? 0 : Math.Round(100.0 * uploaded / total, 2);
}

/// <summary>Who may see and write an upload.</summary>
internal static class UploadAccess
{
    /// <summary>
    /// 404 for an unknown upload and for a caller outside its conversation (another tenant's user or a
    /// non-member learns nothing from its id); 403 for a member other than its owner who writes; null when allowed.
    /// </summary>
    public static async Task<ProblemHttpResult?> CheckAsync(FilesDbContext db, Upload? upload, Guid caller, bool write, CancellationToken cancellationToken)
    {
        if (upload?.OwnerId == caller)
        {
            return null;
        }

        if (upload is null || !await db.IsMemberAsync(upload.ConversationId, caller, cancellationToken))
        {
            return Problems.NotFound("upload_not_found", "No such upload.");
        }

        return write ? Problems.Problem(StatusCodes.Status403Forbidden, "not_upload_owner", "Only the member who initiated the upload may write to it.") : null;
    }

    public static ProblemHttpResult Expired() =>
        Problems.Problem(StatusCodes.Status410Gone, "upload_expired", "The upload expired; initiate a new one.");
}
