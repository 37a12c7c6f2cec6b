using Dapr.Workflow;

namespace Chat4All.Files.Assembly;

/// <summary>
/// The dapr runtime's assembly: a Dapr Workflow calling <see cref="AssemblySteps.Sequence"/> as
/// activities, in order, each with the upload id only. An activity that throws is retried by Dapr
/// (<see cref="Retry"/>); one that reports a failure, or keeps throwing, ends the upload as failed.
/// The standalone runtime runs the same steps through <see cref="StandaloneAssemblyRunner"/>.
/// </summary>
public sealed class AssembleUpload : Workflow<AssemblyInput, string?>
{
    /// <summary>Five attempts, 1 s apart and doubling — the standalone runner's policy.</summary>
    public static readonly WorkflowTaskOptions Retry = new(new WorkflowRetryPolicy(
        maxNumberOfAttempts: 5, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromMinutes(1)));

    /// <summary>Returns null when the file is ready, else why the upload failed.</summary>
    public override async Task<string?> RunAsync(WorkflowContext context, AssemblyInput input)
    {
        foreach (var step in AssemblySteps.Sequence)
        {
            string? failure;
            try
            {
                failure = await context.CallActivityAsync<string?>(step, input, Retry);
            }
            catch (WorkflowTaskFailedException ex)
            {
                failure = $"{step} kept failing: {ex.FailureDetails.ErrorMessage}";
            }

            if (failure is not null)
            {
                await context.CallActivityAsync(AssemblySteps.MarkFailed, new AssemblyFailure(input.UploadId, failure), Retry);
                return failure;
            }
        }

        return null;
    }
}

/// <summary>The activities, one per step, each a thin shell over <see cref="AssemblyActivities"/>; their class names are the step names.</summary>
public sealed class VerifyChunks(AssemblyActivities activities) : WorkflowActivity<AssemblyInput, string?>
{
    public override Task<string?> RunAsync(WorkflowActivityContext context, AssemblyInput input) => activities.VerifyChunksAsync(input.UploadId, CancellationToken.None);
}

public sealed class Compose(AssemblyActivities activities) : WorkflowActivity<AssemblyInput, string?>
{
    public override Task<string?> RunAsync(WorkflowActivityContext context, AssemblyInput input) => activities.ComposeAsync(input.UploadId, CancellationToken.None);
}

public sealed class VerifyChecksum(AssemblyActivities activities) : WorkflowActivity<AssemblyInput, string?>
{
    public override Task<string?> RunAsync(WorkflowActivityContext context, AssemblyInput input) => activities.VerifyChecksumAsync(input.UploadId, CancellationToken.None);
}

public sealed class DetectType(AssemblyActivities activities) : WorkflowActivity<AssemblyInput, string?>
{
    public override Task<string?> RunAsync(WorkflowActivityContext context, AssemblyInput input) => activities.DetectTypeAsync(input.UploadId, CancellationToken.None);
}

public sealed class MarkCompleted(AssemblyActivities activities) : WorkflowActivity<AssemblyInput, string?>
{
    public override Task<string?> RunAsync(WorkflowActivityContext context, AssemblyInput input) => activities.MarkCompletedAsync(input.UploadId, CancellationToken.None);
}

public sealed class DeleteChunks(AssemblyActivities activities) : WorkflowActivity<AssemblyInput, string?>
{
    public override Task<string?> RunAsync(WorkflowActivityContext context, AssemblyInput input) => activities.DeleteChunksAsync(input.UploadId, CancellationToken.None);
}

public sealed class MarkFailed(AssemblyActivities activities) : WorkflowActivity<AssemblyFailure, bool>
{
    public override async Task<bool> RunAsync(WorkflowActivityContext context, AssemblyFailure input)
    {
        await activities.MarkFailedAsync(input.UploadId, input.Reason, CancellationToken.None);
        return true;
    }
}
