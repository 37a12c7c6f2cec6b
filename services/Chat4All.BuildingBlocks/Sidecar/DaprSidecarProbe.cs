using System.Net.Http.Headers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Sidecar;

/// <summary>
/// Asks the sidecar's outbound health endpoint, which turns healthy once daprd has loaded its components
/// — before it can reach the app. The full <c>/v1.0/healthz</c> also waits for the app, so waiting on it
/// at start-up (before Kestrel listens) would deadlock, and tying readiness to it would make each side's
/// health depend on the other's.
/// </summary>
internal sealed class DaprSidecarProbe(IHttpClientFactory clients, IOptions<DaprSidecarOptions> options, IConfiguration configuration)
{
    public const string HttpClientName = "Chat4All.DaprSidecar";
    public const string OutboundHealthPath = "v1.0/healthz/outbound";

    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(2);

    public Uri Endpoint => options.Value.HttpEndpoint
        ?? throw new InvalidOperationException("The Dapr sidecar endpoint is not configured (see DaprSidecarOptions).");

    /// <summary>Null when the sidecar is ready; otherwise why not, in words.</summary>
    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(AttemptTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Endpoint, OutboundHealthPath));
        if (configuration["DAPR_API_TOKEN"] is { Length: > 0 } token)
        {
            request.Headers.Add("dapr-api-token", token);
        }

        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        try
        {
            using var response = await clients.CreateClient(HttpClientName).SendAsync(request, attempt.Token);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode} from /{OutboundHealthPath}";
        }
        catch (HttpRequestException ex)
        {
            return ex.Message;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"no answer within {AttemptTimeout.TotalSeconds:0} s";
        }
    }
}

/// <summary>
/// Holds the host's start until the sidecar answers (every <c>StartingAsync</c> runs before any hosted
/// service starts and before Kestrel listens), and refuses to start when it never does within
/// <see cref="DaprSidecarOptions.StartupTimeout"/>, instead of starting consumers, relays and the workflow
/// worker against nothing.
/// </summary>
internal sealed class DaprSidecarWait(DaprSidecarProbe probe, IOptions<DaprSidecarOptions> options, TimeProvider time, ILogger<DaprSidecarWait> logger)
    : IHostedLifecycleService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    // Validated when the host constructs its hosted services (this one first), before anything resolves DaprClient.
    private readonly DaprSidecarOptions _options = options.Value;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        var timeout = _options.StartupTimeout;
        var started = time.GetTimestamp();
        DaprSidecarLog.Waiting(logger, timeout, probe.Endpoint, _options.AppId ?? "unnamed");
        while (true)
        {
            var reason = await probe.CheckAsync(cancellationToken);
            var elapsed = time.GetElapsedTime(started);
            if (reason is null)
            {
                DaprSidecarLog.Ready(logger, probe.Endpoint, elapsed);
                return;
            }

            if (elapsed >= timeout)
            {
                DaprSidecarLog.GaveUp(logger, probe.Endpoint, timeout, reason);
                throw new InvalidOperationException(
                    $"The Dapr sidecar at {probe.Endpoint} did not become ready within {timeout} (last: {reason}). " +
                    $"Chat4All:Runtime is 'dapr', so this app needs its daprd: run it with the sidecar (the dapr.io/enabled " +
                    $"pod annotation, or `dapr run -f .`), raise {DaprSidecarOptions.SectionName}:StartupTimeout, or use Chat4All:Runtime=standalone.");
            }

            DaprSidecarLog.NotReadyYet(logger, probe.Endpoint, reason);
            await Task.Delay(PollInterval, time, cancellationToken);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Ready only while the sidecar is: without it this app can neither publish nor receive.</summary>
internal sealed class DaprSidecarHealthCheck(DaprSidecarProbe probe) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await probe.CheckAsync(cancellationToken) is { } reason
            ? HealthCheckResult.Unhealthy($"The Dapr sidecar at {probe.Endpoint} is not ready: {reason}.")
            : HealthCheckResult.Healthy();
}
