using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chat4All.BuildingBlocks.Blobs;

/// <summary>A cheap round trip an adapter offers for readiness.</summary>
internal interface IBlobStoreProbe
{
    /// <summary>Throws when the store cannot be used.</summary>
    Task ProbeAsync(CancellationToken cancellationToken);
}

/// <summary>Ready when the configured blob store answers: the directory is writable, the bucket exists.</summary>
internal sealed class BlobStoreHealthCheck(IBlobStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (store is not IBlobStoreProbe probe)
        {
            return HealthCheckResult.Healthy();
        }

        try
        {
            await probe.ProbeAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("The blob store is unreachable.", ex);
        }
    }
}
