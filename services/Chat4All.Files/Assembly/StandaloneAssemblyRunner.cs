using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Files.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.Files.Assembly;

/// <summary>
/// The standalone runtime's durable workflow runner: executes <see cref="AssemblySteps.Sequence"/>
/// for each due row of <c>files.assembly_runs</c>, recording after every step where it got to. A run
/// is leased (so several instances share the work without doing a step twice at once); when a
/// runner dies, its lease lapses and the run resumes at the step that was in progress — steps are
/// idempotent, so repeating one is safe. A step that throws is retried with backoff; after
/// <see cref="FilesOptions.AssemblyMaxAttempts"/> the upload fails.
/// </summary>
internal sealed partial class StandaloneAssemblyRunner(
    IServiceScopeFactory scopes,
    AssemblySignal signal,
    IOptions<FilesOptions> options,
    IOptions<Chat4AllOptions> chat4all,
    TimeProvider time,
    ILogger<StandaloneAssemblyRunner> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(1);
    private readonly Guid _owner = Guid.NewGuid();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (chat4all.Value.Runtime is not Chat4AllRuntime.Standalone)
        {
            return; // Dapr Workflow runs the same steps in the dapr runtime
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var worked = false;
            try
            {
                worked = await RunOneAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogRunnerFailed(logger, ex);
            }

            if (!worked)
            {
                try
                {
                    await signal.WaitAsync(options.Value.AssemblyPollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Takes one due run and drives it as far as it goes. False when nothing was due.</summary>
    public async Task<bool> RunOneAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        AssemblyRun? run;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<FilesDbContext>();
            run = await db.AssemblyRuns.FromSql($"""
                UPDATE files.assembly_runs SET lease_owner = {_owner}, lease_until = {now + settings.AssemblyLease}, updated_at = {now}
                WHERE upload_id = (
                    SELECT upload_id FROM files.assembly_runs
                    WHERE NOT finished AND next_attempt_at <= {now} AND (lease_until IS NULL OR lease_until < {now})
                    ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING *
                """).AsNoTracking().ToListAsync(cancellationToken) is [var claimed] ? claimed : null; // not composable: no SingleOrDefault around an UPDATE
        }

        if (run is null)
        {
            return false;
        }

        if (run.NextStep > 0)
        {
            // A run taken over from a runner that died, or retried after a failing step: on from where it got to.
            LogResuming(logger, run.UploadId, AssemblySteps.Sequence[run.NextStep], run.Attempts);
        }

        for (var step = run.NextStep; step < AssemblySteps.Sequence.Count; step++)
        {
            var name = AssemblySteps.Sequence[step];
            string? failure;
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                failure = await scope.ServiceProvider.GetRequiredService<AssemblyActivities>().RunAsync(name, run.UploadId, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var attempts = run.Attempts + 1;
                LogStepFailed(logger, ex, name, run.UploadId, attempts);
                if (attempts < settings.AssemblyMaxAttempts)
                {
                    var backoff = TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, attempts - 1)));
                    await UpdateAsync(run.UploadId, step, finished: false, attempts, time.GetUtcNow() + backoff, ex.GetType().Name + ": " + ex.Message);
                    return true;
                }

                failure = $"{name} kept failing: {ex.Message}";
            }

            if (failure is not null)
            {
                await using (var scope = scopes.CreateAsyncScope())
                {
                    await scope.ServiceProvider.GetRequiredService<AssemblyActivities>().MarkFailedAsync(run.UploadId, failure, cancellationToken);
                }

                LogAssemblyFailed(logger, run.UploadId, name, failure);
                await UpdateAsync(run.UploadId, step, finished: true, run.Attempts, time.GetUtcNow(), failure);
                return true;
            }

            // Progress is durable before the next step starts; the lease is renewed with it.
            run.Attempts = 0;
            await UpdateAsync(run.UploadId, step + 1, finished: step + 1 == AssemblySteps.Sequence.Count, 0, time.GetUtcNow(), null);
        }

        return true;
    }

    private async Task UpdateAsync(Guid uploadId, int nextStep, bool finished, int attempts, DateTimeOffset nextAttemptAt, string? error)
    {
        var now = time.GetUtcNow();
        var leaseUntil = finished ? (DateTimeOffset?)null : now + options.Value.AssemblyLease;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FilesDbContext>();
        // Only while the lease is still ours: a runner that stalled past it must not overwrite the new owner's progress.
        await db.AssemblyRuns.Where(r => r.UploadId == uploadId && r.LeaseOwner == _owner)
            .ExecuteUpdateAsync(set => set
                .SetProperty(r => r.NextStep, nextStep)
                .SetProperty(r => r.Finished, finished)
                .SetProperty(r => r.Attempts, attempts)
                .SetProperty(r => r.NextAttemptAt, nextAttemptAt)
                .SetProperty(r => r.LeaseUntil, attempts > 0 ? null : leaseUntil)
                .SetProperty(r => r.LastError, error)
                .SetProperty(r => r.UpdatedAt, now), CancellationToken.None);
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Error, Message = "Assembly runner pass failed")]
    private static partial void LogRunnerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Information, Message = "Assembly of upload {UploadId} resumes at step {Step} (attempts so far: {Attempts})")]
    private static partial void LogResuming(ILogger logger, Guid uploadId, string step, int attempts);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Assembly step {Step} of upload {UploadId} failed (attempt {Attempts}); retrying")]
    private static partial void LogStepFailed(ILogger logger, Exception exception, string step, Guid uploadId, int attempts);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Information, Message = "Upload {UploadId} failed at {Step}: {Reason}")]
    private static partial void LogAssemblyFailed(ILogger logger, Guid uploadId, string step, string reason);
}
