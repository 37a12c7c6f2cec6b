using Chat4All.Files.Assembly;
using Dapr.Workflow;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat4All.Files.Tests;

/// <summary>
/// The dapr runtime's <see cref="AssembleUpload"/> workflow against a <see cref="WorkflowContext"/>
/// test double: which activities it schedules, in what order, with what inputs and retry policy, and
/// how it ends when a step reports a failure or keeps throwing. The activities themselves are the
/// ones the standalone runner's end-to-end tests exercise.
/// </summary>
public sealed class AssembleUploadWorkflowTests
{
    private static readonly AssemblyInput Input = new(Guid.CreateVersion7());

    [Fact]
    public async Task EveryStepRunsOnceInOrderWithTheUploadIdAsItsOnlyInputAndTheFileIsReady()
    {
        var context = new ScriptedWorkflowContext();

        var failure = await new AssembleUpload().RunAsync(context, Input);

        Assert.Null(failure);
        Assert.Equal(AssemblySteps.Sequence, context.Calls.Select(c => c.Activity));
        Assert.All(context.Calls, call =>
        {
            Assert.Equal(Input, call.Input); // a key, never bytes
            Assert.Same(AssembleUpload.Retry, call.Options);
        });
    }

    [Fact]
    public async Task AStepReportingAFailureStopsTheWorkflowAndMarksTheUploadFailedWithItsReason()
    {
        const string reason = "The file's SHA-256 is abc, not def as declared.";
        var context = new ScriptedWorkflowContext { [AssemblySteps.VerifyChecksum] = () => reason };

        var failure = await new AssembleUpload().RunAsync(context, Input);

        Assert.Equal(reason, failure);
        Assert.Equal(
            [AssemblySteps.VerifyChunks, AssemblySteps.Compose, AssemblySteps.VerifyChecksum, AssemblySteps.MarkFailed],
            context.Calls.Select(c => c.Activity));
        Assert.Equal(new AssemblyFailure(Input.UploadId, reason), context.Calls[^1].Input);
    }

    [Fact]
    public async Task AStepThatKeepsThrowingAfterItsRetriesFailsTheUploadNamingTheStepAndTheError()
    {
        var context = new ScriptedWorkflowContext
        {
            [AssemblySteps.Compose] = () => throw new WorkflowTaskFailedException("activity failed",
                new WorkflowTaskFailureDetails("System.IO.IOException", "No space left on device", null)),
        };

        var failure = await new AssembleUpload().RunAsync(context, Input);

        const string expected = "Compose kept failing: No space left on device";
        Assert.Equal(expected, failure);
        Assert.Equal([AssemblySteps.VerifyChunks, AssemblySteps.Compose, AssemblySteps.MarkFailed], context.Calls.Select(c => c.Activity));
        Assert.Equal(new AssemblyFailure(Input.UploadId, expected), context.Calls[^1].Input);
    }

    [Fact]
    public void TheRetryPolicyMatchesTheStandaloneRunners()
    {
        var policy = AssembleUpload.Retry.RetryPolicy!;
        Assert.Equal(new FilesOptions().AssemblyMaxAttempts, policy.MaxNumberOfAttempts);
        Assert.Equal(TimeSpan.FromSeconds(1), policy.FirstRetryInterval);
        Assert.Equal(2, policy.BackoffCoefficient);
    }

    [Fact]
    public void EveryStepNameIsAnActivityClassDaprCanScheduleByThatName()
    {
        // RegisterActivity<T>() registers T under its class name; the workflow schedules by step name.
        var activities = typeof(AssembleUpload).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && t.BaseType is { IsGenericType: true } b && b.GetGenericTypeDefinition() == typeof(WorkflowActivity<,>))
            .Select(t => t.Name)
            .ToHashSet();

        Assert.Superset(activities, new HashSet<string>([.. AssemblySteps.Sequence, AssemblySteps.MarkFailed]));
        Assert.Equal(activities.Count, AssemblySteps.Sequence.Count + 1);
    }

    /// <summary>
    /// Records every activity call and answers it from a script (null, "the step succeeded", by
    /// default), the way the Dapr runtime would hand back an activity's result or its failure.
    /// </summary>
    private sealed class ScriptedWorkflowContext : WorkflowContext
    {
        private readonly Dictionary<string, Func<string?>> _script = [];

        public List<(string Activity, object? Input, WorkflowTaskOptions? Options)> Calls { get; } = [];

        public Func<string?> this[string activity]
        {
            set => _script[activity] = value;
        }

        public override string Name => nameof(AssembleUpload);

        public override string InstanceId => Input.UploadId.ToString("N");

        public override DateTime CurrentUtcDateTime => new(2026, 11, 24, 12, 0, 0, DateTimeKind.Utc);

        public override bool IsReplaying => false;

        public override Task<T> CallActivityAsync<T>(string name, object? input = null, WorkflowTaskOptions? options = null)
        {
            Calls.Add((name, input, options));
            if (name == AssemblySteps.MarkFailed)
            {
                return Task.FromResult((T)(object)true);
            }

            var result = _script.TryGetValue(name, out var answer) ? answer() : null;
            return Task.FromResult((T)(object?)result!);
        }

        public override Task CallActivityAsync(string name, object? input = null, WorkflowTaskOptions? options = null) =>
            CallActivityAsync<object?>(name, input, options);

        public override Task CreateTimer(TimeSpan delay, CancellationToken cancellationToken = default) => throw Unexpected();

        public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken) => throw Unexpected();

        public override Task<T> WaitForExternalEventAsync<T>(string eventName, CancellationToken cancellationToken = default) => throw Unexpected();

        public override Task<T> WaitForExternalEventAsync<T>(string eventName, TimeSpan timeout) => throw Unexpected();

        public override void SendEvent(string instanceId, string eventName, object payload) => throw Unexpected();

        public override void SetCustomStatus(object? customStatus) => throw Unexpected();

        public override Task<TResult> CallChildWorkflowAsync<TResult>(string workflowName, object? input = null, ChildWorkflowTaskOptions? options = null) => throw Unexpected();

        public override Task CallChildWorkflowAsync(string workflowName, object? input = null, ChildWorkflowTaskOptions? options = null) => throw Unexpected();

        public override ILogger CreateReplaySafeLogger(string categoryName) => NullLogger.Instance;

        public override ILogger CreateReplaySafeLogger(Type type) => NullLogger.Instance;

        public override ILogger<T> CreateReplaySafeLogger<T>() => NullLogger<T>.Instance;

        public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true) => throw Unexpected();

        public override Guid NewGuid() => Guid.NewGuid();

        public override bool IsPatched(string patchName) => false;

        public override PropagatedHistory? GetPropagatedHistory() => null;

        private static InvalidOperationException Unexpected() => new("AssembleUpload only calls activities.");
    }
}
