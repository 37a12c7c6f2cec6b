using System.Globalization;
using System.Runtime.ExceptionServices;
using Chat4All.BuildingBlocks.Blobs;
using Chat4All.Files.Data;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Chat4All.Contracts.Files;

namespace Chat4All.Files.Uploads;

/// <summary>
/// <c>POST /v1/files/{upload_id}/chunks?chunk_number=N</c>: the body streams straight into the blob
/// store's part N, hashed on the way; nothing holds a chunk in memory. One request at a time writes a
/// chunk: it first claims the chunk's row (a lease, renewed while the bytes flow), because the blob
/// store keeps whichever write came last. A chunk already stored is never rewritten: a re-send is
/// hashed and compared (same bytes → 200, different bytes → 409 <c>duplicate_chunk</c>).
/// </summary>
internal static partial class ChunkReceiver
{
    public const string DigestHeader = "Digest";
    public const string ReprDigestHeader = "Repr-Digest";

    public static async Task<Results<Ok<ChunkStored>, ProblemHttpResult>> ReceiveAsync(
        Guid uploadId,
        HttpContext http,
        FilesDbContext db,
        IBlobStore blobs,
        NpgsqlDataSource dataSource,
        FilesMetrics metrics,
        TimeProvider time,
        IOptions<FilesOptions> options,
        ILoggerFactory loggers,
        CancellationToken cancellationToken,
        [FromQuery(Name = "chunk_number")] string? chunkNumber = null,
        [FromQuery(Name = "checksum_sha256")] string? checksum = null)
    {
        var upload = await db.Uploads.AsNoTracking().SingleOrDefaultAsync(u => u.Id == uploadId, cancellationToken);
        if (await UploadAccess.CheckAsync(db, upload, http.CallerId(), write: true, cancellationToken) is { } denied)
        {
            return denied;
        }

        if (upload!.Status is not (UploadStatuses.Pending or UploadStatuses.Uploading))
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "upload_not_accepting_chunks", $"The upload is {upload.Status}; it takes no more chunks.");
        }

        var now = time.GetUtcNow();
        if (now >= upload.ExpiresAt)
        {
            return UploadAccess.Expired();
        }

        if (!int.TryParse(chunkNumber, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1 || number > upload.TotalChunks)
        {
            return Problems.Problem(StatusCodes.Status400BadRequest, "invalid_chunk_number",
                $"chunk_number must be a whole number from 1 to {upload.TotalChunks}.");
        }

        var contentType = http.Request.ContentType;
        if (contentType is not null && !contentType.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "Send the chunk's raw bytes as application/octet-stream.");
        }

        var expected = upload.ExpectedChunkSize(number);
        if (http.Request.ContentLength is { } announced && announced != expected)
        {
            return SizeMismatch(number, expected);
        }

        var declared = Checksums.NormaliseHex(checksum);
        if (checksum is not null && declared is null)
        {
            return Problems.Problem(StatusCodes.Status400BadRequest, "invalid_checksum", "checksum_sha256 must be 64 hexadecimal characters.");
        }

        var fromHeader = Checksums.FromDigestHeader(http.Request.Headers[ReprDigestHeader].ToString() is { Length: > 0 } repr ? repr : http.Request.Headers[DigestHeader].ToString(), out var malformed);
        if (malformed || (declared is not null && fromHeader is not null && declared != fromHeader))
        {
            return Problems.Problem(StatusCodes.Status400BadRequest, "invalid_checksum", "The Digest header's sha-256 is not a base64 SHA-256, or contradicts checksum_sha256.");
        }

        declared ??= fromHeader;

        // The chunk size, not a global switch, bounds what Kestrel reads: one byte more is how an
        // overlong body without Content-Length is recognised.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = expected + 1;
        }

        var settings = options.Value;
        var claim = Guid.CreateVersion7(now);
        var claimed = await ChunkClaims.TryClaimAsync(dataSource, uploadId, number, claim, now, now + settings.ChunkClaimLease, cancellationToken);
        if (claimed is ChunkClaims.Outcome.UploadGone)
        {
            // It existed a moment ago; only the purge of expired uploads deletes one.
            return UploadAccess.Expired();
        }

        if (claimed is ChunkClaims.Outcome.Taken)
        {
            return await CompareWithStoredAsync(db, http, upload, number, expected, time, metrics, cancellationToken);
        }

        var logger = loggers.CreateLogger(typeof(ChunkReceiver));
        StagedPart part;
        ExceptionDispatchInfo? writeFailure = null;
        await using (var renewal = new ChunkClaims.Renewal(dataSource, uploadId, number, claim, settings.ChunkClaimLease, time, logger))
        {
            try
            {
                part = await blobs.WritePartAsync(upload.Staged(), number, http.Request.Body, expected, cancellationToken);
            }
            catch (BlobLengthMismatchException)
            {
                await ChunkClaims.ReleaseAsync(dataSource, uploadId, number, claim);
                metrics.Chunk("size_mismatch");
                return SizeMismatch(number, expected);
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                await ChunkClaims.ReleaseAsync(dataSource, uploadId, number, claim);
                metrics.Chunk("size_mismatch");
                return SizeMismatch(number, expected);
            }
            catch (Exception ex)
            {
                writeFailure = ExceptionDispatchInfo.Capture(ex);
                part = null!;
            }
        }

        if (writeFailure is not null)
        {
            if (!cancellationToken.IsCancellationRequested && !await ChunkClaims.UploadExistsAsync(dataSource, uploadId))
            {
                return await PurgedMeanwhileAsync(blobs, upload, metrics); // its staging went first, failing the write
            }

            // The client went away, or the store failed: the chunk stays missing, free to retry.
            await ChunkClaims.ReleaseAsync(dataSource, uploadId, number, claim);
            metrics.Chunk("aborted");
            writeFailure.Throw();
        }

        if (declared is not null && declared != part.Sha256)
        {
            await ChunkClaims.ReleaseAsync(dataSource, uploadId, number, claim);
            metrics.Chunk("checksum_mismatch");
            return Problems.Problem(StatusCodes.Status400BadRequest, "checksum_mismatch",
                $"Chunk {number}'s SHA-256 is {part.Sha256}, not {declared}; it was not stored.");
        }

        if (!await ChunkClaims.StoreAsync(dataSource, uploadId, number, claim, part, time.GetUtcNow()))
        {
            if (!await ChunkClaims.UploadExistsAsync(dataSource, uploadId))
            {
                return await PurgedMeanwhileAsync(blobs, upload, metrics);
            }

            // Our lease lapsed (a stall longer than ChunkClaimLease) and another request took the chunk.
            metrics.Chunk("claim_lost");
            return Problems.Problem(StatusCodes.Status409Conflict, "chunk_in_progress", $"Chunk {number} is being uploaded by another request; retry shortly.");
        }

        metrics.BytesReceived(part.Length);
        metrics.Chunk("stored");
        return await StoredAsync(db, upload, number, cancellationToken);
    }

    // The purge skips uploads with a live chunk claim, but one that took the upload in the instant
    // between our claim and its check leaves our part orphaned: the staging goes again, and the
    // client learns the upload expired.
    private static async Task<ProblemHttpResult> PurgedMeanwhileAsync(IBlobStore blobs, Upload upload, FilesMetrics metrics)
    {
        await blobs.AbortStagedAsync(upload.Staged(), CancellationToken.None);
        metrics.Chunk("expired");
        return UploadAccess.Expired();
    }

    // Another request holds the chunk, or it is stored: the bytes are hashed (and dropped), never written.
    private static async Task<Results<Ok<ChunkStored>, ProblemHttpResult>> CompareWithStoredAsync(
        FilesDbContext db, HttpContext http, Upload upload, int number, long expected, TimeProvider time, FilesMetrics metrics, CancellationToken cancellationToken)
    {
        var existing = await db.Chunks.AsNoTracking().SingleOrDefaultAsync(c => c.UploadId == upload.Id && c.ChunkNumber == number, cancellationToken);
        if (existing is null || existing.State != ChunkStates.Stored)
        {
            metrics.Chunk("in_progress");
            var retryAfter = existing is null ? 1 : Math.Max(1, (int)Math.Ceiling((existing.ClaimedUntil - time.GetUtcNow()).TotalSeconds));
            http.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
            return Problems.Problem(StatusCodes.Status409Conflict, "chunk_in_progress", $"Chunk {number} is being uploaded by another request; retry shortly.");
        }

        var (length, sha256) = await HashAsync(http.Request.Body, expected, cancellationToken);
        if (length != expected)
        {
            metrics.Chunk("size_mismatch");
            return SizeMismatch(number, expected);
        }

        if (sha256 != existing.Sha256)
        {
            metrics.Chunk("duplicate_conflict");
            return Problems.Problem(StatusCodes.Status409Conflict, "duplicate_chunk",
                $"Chunk {number} is already stored with different bytes; an upload's chunks cannot be replaced.");
        }

        metrics.Chunk("duplicate");
        return await StoredAsync(db, upload, number, cancellationToken);
    }

    // The answer to a chunk that is (now) stored: where the whole upload stands.
    private static async Task<Ok<ChunkStored>> StoredAsync(FilesDbContext db, Upload upload, int number, CancellationToken cancellationToken)
    {
        var stored = await UploadProgress.StoredChunksAsync(db, upload.Id, cancellationToken);
        return TypedResults.Ok(new ChunkStored(upload.Id, number, stored.Count, upload.TotalChunks, UploadProgress.Percentage(stored.Count, upload.TotalChunks)));
    }

    // Reads at most expected + 1 bytes: one more than expected is enough to know the body is too long.
    private static async Task<(long Length, string Sha256)> HashAsync(Stream body, long expected, CancellationToken cancellationToken)
    {
        try
        {
            return await Checksums.Sha256Async(body, expected + 1, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (expected + 1, string.Empty);
        }
    }

    private static ProblemHttpResult SizeMismatch(int number, long expected) =>
        Problems.Problem(StatusCodes.Status400BadRequest, "chunk_size_mismatch", $"Chunk {number} must be exactly {expected} bytes.",
            new Dictionary<string, object?> { ["expected_size"] = expected });
}
