using Chat4All.BuildingBlocks.Hosting;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Sidecar;

/// <summary>
/// What the dapr runtime needs before anything starts: a sidecar address for each API, and exactly one
/// target, because in the dapr runtime every target is its own Dapr app whose app-id is the target name
/// (docs/architecture.md §1) — the sidecar routes subscriptions, actors and workflows by that app-id.
/// </summary>
internal sealed class DaprSidecarValidation(IOptions<Chat4AllOptions> chat4all) : IValidateOptions<DaprSidecarOptions>
{
    public ValidateOptionsResult Validate(string? name, DaprSidecarOptions options)
    {
        var failures = new List<string>();
        if (options.UnreadableSetting is { } unreadable)
        {
            failures.Add($"Chat4All:Runtime is 'dapr' but {unreadable}.");
        }

        if (options.HttpEndpoint is null && options.UnreadableSetting is null)
        {
            failures.Add(Missing("HTTP", DaprSidecarOptions.HttpPortKey, DaprSidecarOptions.HttpEndpointKey));
        }

        if (options.GrpcEndpoint is null && options.UnreadableSetting is null)
        {
            failures.Add(Missing("gRPC", DaprSidecarOptions.GrpcPortKey, DaprSidecarOptions.GrpcEndpointKey));
        }

        var targets = chat4all.Value.SelectedTargets;
        if (targets.Count != 1)
        {
            failures.Add(
                $"In the dapr runtime each target is its own Dapr app (app-id = target name), so Chat4All:Targets (--target) must name " +
                $"exactly one of {string.Join(", ", Contracts.Targets.Implemented)}; got '{chat4all.Value.Targets}'. " +
                "Run one process per target (dapr.yaml, k8s/), or use Chat4All:Runtime=standalone for several targets in one process.");
        }
        else if (options.AppId is { } appId && !string.Equals(appId, targets.Single(), StringComparison.Ordinal))
        {
            failures.Add(
                $"The Dapr app-id is '{appId}' ({DaprSidecarOptions.AppIdKey}) but this process runs target '{targets.Single()}'; " +
                "the app-id must be the target name, or the sidecar would deliver another app's subscriptions, actors and workflows here.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string Missing(string api, string portKey, string endpointKey) =>
        $"Chat4All:Runtime is 'dapr' but the Dapr sidecar's {api} address is not configured: set {portKey} (daprd and `dapr run` set it " +
        $"for the app) or {endpointKey}, or run with Chat4All:Runtime=standalone.";
}
