using Chat4All.BuildingBlocks.Blobs;
using Chat4All.Files.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.Files.Cleanup;

/// <summary>
/// Garbage collection: uploads not completed by <c>expires_at</c> (pending, uploading, or failed) lose
/// their staged bytes and then their rows, in batches, every <see cref="FilesOptions.PurgeInterval"/>.
/// Completed files and uploads being merged are never selected, nor an upload while a chunk request
/// holds a live claim on it (the chunk that began before expiry finishes; the next pass takes the
/// upload — ChunkReceiver handles the instant in which both start at once). Rows are locked (<c>SKIP LOCKED</c>)
/// while their bytes go, so instances purging at once split the work.
/// </summary>
internal sealed partial class UploadPurger(
    IServiceScopeFactory scopes,
    FilesMetrics metrics,
    IOptions<FilesOptions> options,
    TimeProvider time,
    ILogger<UploadPurger> logger) : BackgroundService
{
    private const int BatchSize = 100;

    // The active-uploads gauge is refreshed at least this often, whatever the purge interval.
    private static readonly TimeSpan ObservationInterval = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var tick = options.Value.PurgeInterval < ObservationInterval ? options.Value.PurgeInterval : ObservationInterval;
        var nextPurge = time.GetUtcNow();
        using var timer = new PeriodicTimer(tick, time);
        while (true)
        {
            try
            {
                if (time.GetUtcNow() >= nextPurge)
                {
                    await PurgeAsync(stoppingToken);
                    nextPurge = time.GetUtcNow() + options.Value.PurgeInterval;
                }

                await ObserveAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogPurgeFailed(logger, ex);
            }

            try
            {
                await timer.WaitForNextTickAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Purges every upload expired by now; returns how many.</summary>
    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var purged = 0;
        while (true)
        {
            var batch = await PurgeBatchAsync(cancellationToken);
            purged += batch;
            if (batch < BatchSize)
            {
                return purged;
            }
        }
    }

    private async Task<int> PurgeBatchAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FilesDbContext>();
        var blobs = scope.ServiceProvider.GetRequiredService<IBlobStore>();
        var now = time.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var expired = await db.Uploads.FromSql($"""
            SELECT * FROM files.uploads u
            WHERE status IN ('pending', 'uploading', 'failed') AND expires_at < {now}
              AND NOT EXISTS (SELECT 1 FROM files.upload_chunks c
                              WHERE c.upload_id = u.upload_id AND c.state = 'receiving' AND c.claimed_until > {now})
            ORDER BY expires_at LIMIT {BatchSize} FOR UPDATE SKIP LOCKED
            """).AsNoTracking().ToListAsync(cancellationToken);
        if (expired.Count == 0)
        {
            return 0;
        }

        var ids = expired.Select(u => u.Id).ToList();
        var bytes = await db.Chunks.Where(c => ids.Contains(c.UploadId) && c.State == ChunkStates.Stored).SumAsync(c => c.Size, cancellationToken);
        // Bytes first: if this crashes half way, the rows are still there for the next pass.
        foreach (var upload in expired)
        {
            await blobs.AbortStagedAsync(upload.Staged(), cancellationToken);
            await blobs.DeleteAsync(upload.BlobKey, cancellationToken);
        }

        await db.Uploads.Where(u => ids.Contains(u.Id)).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        metrics.Purged(expired.Count, bytes);
        LogPurged(logger, expired.Count, bytes);
        return expired.Count;
    }

    private async Task ObserveAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FilesDbContext>();
        metrics.ObserveActiveUploads(await db.Uploads.CountAsync(
            u => u.Status == UploadStatuses.Pending || u.Status == UploadStatuses.Uploading || u.Status == UploadStatuses.Merging, cancellationToken));
    }

    [LoggerMessage(EventId = 7201, Level = LogLevel.Error, Message = "Purging expired uploads failed; the next pass retries")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Information, Message = "Purged {Uploads} expired uploads ({Bytes} bytes)")]
    private static partial void LogPurged(ILogger logger, int uploads, long bytes);
}
