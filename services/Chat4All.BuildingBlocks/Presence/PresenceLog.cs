using Microsoft.Extensions.Logging;

namespace Chat4All.BuildingBlocks.Presence;

/// <summary>Source-generated log messages of the presence adapters (event ids 6300–6399).</summary>
internal static partial class PresenceLog
{
    [LoggerMessage(EventId = 6301, Level = LogLevel.Information, Message = "Swept {Connections} lapsed connections; {Users} users went offline")]
    public static partial void Swept(ILogger logger, int connections, int users);

    [LoggerMessage(EventId = 6302, Level = LogLevel.Information, Message = "User {UserId} went offline: their connections lapsed without heartbeats")]
    public static partial void ActorSweptOffline(ILogger logger, Guid userId);

    [LoggerMessage(EventId = 6303, Level = LogLevel.Warning, Message = "Could not announce that user {UserId} went offline; the sweep retries on the next tick")]
    public static partial void ActorAnnounceFailed(ILogger logger, Exception exception, Guid userId);
}
