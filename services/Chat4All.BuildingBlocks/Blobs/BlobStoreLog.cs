using Microsoft.Extensions.Logging;

namespace Chat4All.BuildingBlocks.Blobs;

/// <summary>Source-generated log messages of the blob-store adapters (event ids 6400–6499).</summary>
internal static partial class BlobStoreLog
{
    [LoggerMessage(EventId = 6401, Level = LogLevel.Debug, Message = "Completed {Key} ({Length} bytes in {Parts} parts)")]
    public static partial void Completed(ILogger logger, string key, long length, int parts);

    [LoggerMessage(EventId = 6402, Level = LogLevel.Debug, Message = "{Key} was already completed; nothing to do")]
    public static partial void AlreadyCompleted(ILogger logger, string key);

    [LoggerMessage(EventId = 6403, Level = LogLevel.Warning, Message = "Could not remove the staging folder of {Key} ({Handle}); it is left behind")]
    public static partial void StagingCleanupFailed(ILogger logger, Exception exception, string key, string handle);

    [LoggerMessage(EventId = 6404, Level = LogLevel.Information, Message = "Created bucket {Bucket}")]
    public static partial void BucketCreated(ILogger logger, string bucket);

    [LoggerMessage(EventId = 6405, Level = LogLevel.Debug, Message = "Staged object {Key} ({Handle}) was already gone when aborted")]
    public static partial void AlreadyAborted(ILogger logger, string key, string handle);
}
