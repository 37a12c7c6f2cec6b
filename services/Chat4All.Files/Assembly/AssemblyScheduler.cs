using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Files.Data;
using Dapr.Workflow;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Files.Assembly;

/// <summary>Starts the assembly of a completed upload, in whichever runtime is active.</summary>
public interface IAssemblyScheduler
{
    /// <summary>Inside the transaction that moves the upload to <c>merging</c>: whatever must commit with it.</summary>
    Task EnlistAsync(FilesDbContext db, Guid uploadId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>After that commit (and again when a client repeats <c>complete</c> on a merging upload): make sure it runs.</summary>
    Task StartAsync(Guid uploadId, CancellationToken cancellationToken);
}

/// <summary>Standalone: a durable run row commits with the status change; the runner in this process is woken.</summary>
internal sealed class StandaloneAssemblyScheduler(AssemblySignal signal) : IAssemblyScheduler
{
    public async Task EnlistAsync(FilesDbContext db, Guid uploadId, DateTimeOffset now, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO files.assembly_runs (upload_id, next_step, finished, attempts, next_attempt_at, created_at, updated_at)
            VALUES ({uploadId}, 0, false, 0, {now}, {now}, {now})
            ON CONFLICT (upload_id) DO NOTHING
            """, cancellationToken);

    public Task StartAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        signal.Notify();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Dapr: the <c>AssembleUpload</c> workflow, instance id = upload id, so scheduling again for the same
/// upload (a repeated complete after a sidecar hiccup) finds the running instance instead of a second one.
/// </summary>
internal sealed class DaprAssemblyScheduler(DaprWorkflowClient workflows) : IAssemblyScheduler
{
    public Task EnlistAsync(FilesDbContext db, Guid uploadId, DateTimeOffset now, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartAsync(Guid uploadId, CancellationToken cancellationToken)
    {
        var instanceId = InstanceId(uploadId);
        var existing = await workflows.GetWorkflowStateAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        if (existing is { Exists: true })
        {
            return;
        }

        await workflows.ScheduleNewWorkflowAsync(nameof(AssembleUpload), instanceId, new AssemblyInput(uploadId), startTime: null, cancellationToken);
    }

    public static string InstanceId(Guid uploadId) => "assemble-" + uploadId.ToString("N");
}

/// <summary>Wakes this process's standalone runner when an upload starts merging.</summary>
public sealed class AssemblySignal : WakeSignal;
