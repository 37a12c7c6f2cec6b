using Microsoft.Extensions.Logging;

namespace Chat4All.BuildingBlocks.Sidecar;

/// <summary>Source-generated log messages of the Dapr sidecar wiring (event ids 6500–6599).</summary>
internal static partial class DaprSidecarLog
{
    [LoggerMessage(EventId = 6501, Level = LogLevel.Information, Message = "Waiting up to {Timeout} for the Dapr sidecar at {Endpoint} (app {AppId})")]
    public static partial void Waiting(ILogger logger, TimeSpan timeout, Uri endpoint, string appId);

    [LoggerMessage(EventId = 6502, Level = LogLevel.Information, Message = "Dapr sidecar at {Endpoint} ready after {Elapsed}")]
    public static partial void Ready(ILogger logger, Uri endpoint, TimeSpan elapsed);

    [LoggerMessage(EventId = 6503, Level = LogLevel.Debug, Message = "Dapr sidecar at {Endpoint} not ready yet: {Reason}")]
    public static partial void NotReadyYet(ILogger logger, Uri endpoint, string reason);

    [LoggerMessage(EventId = 6504, Level = LogLevel.Critical, Message = "Dapr sidecar at {Endpoint} did not become ready within {Timeout}: {Reason}")]
    public static partial void GaveUp(ILogger logger, Uri endpoint, TimeSpan timeout, string reason);
}
