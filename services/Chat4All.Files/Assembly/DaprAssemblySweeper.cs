using Chat4All.Files.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.Files.Assembly;

/// <summary>
/// Dapr: the upload moves to <c>merging</c> in PostgreSQL, then the workflow is scheduled through the
/// sidecar — two systems, no shared transaction. A process that dies (or a sidecar that fails) between
/// the two leaves the upload merging with no workflow. Every <see cref="FilesOptions.AssemblySweepInterval"/>
/// this finds uploads merging for longer than that and schedules them again; scheduling is idempotent
/// (instance id = upload id), so one whose workflow exists is left alone.
/// </summary>
internal sealed partial class DaprAssemblySweeper(
    IServiceScopeFactory scopes,
    IAssemblyScheduler scheduler,
    IOptions<FilesOptions> options,
    TimeProvider time,
    ILogger<DaprAssemblySweeper> logger) : BackgroundService
{
    private const int BatchSize = 100;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.AssemblySweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await SweepAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Schedules every upload merging since before one sweep interval ago; returns how many it tried.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        List<Guid> stalled;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<FilesDbContext>();
            var before = time.GetUtcNow() - options.Value.AssemblySweepInterval;
            stalled = await db.Uploads.AsNoTracking()
                .Where(u => u.Status == UploadStatuses.Merging && u.MergeRequestedAt <= before)
                .OrderBy(u => u.MergeRequestedAt).Select(u => u.Id).Take(BatchSize)
                .ToListAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSweepFailed(logger, ex);
            return 0;
        }

        foreach (var uploadId in stalled)
        {
            try
            {
                await scheduler.StartAsync(uploadId, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogScheduleFailed(logger, ex, uploadId); // the next sweep tries again
            }
        }

        return stalled.Count;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeping for merging uploads without a workflow failed; the next sweep will try again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduling the assembly of merging upload {UploadId} failed; the next sweep will try again")]
    private static partial void LogScheduleFailed(ILogger logger, Exception exception, Guid uploadId);
}
