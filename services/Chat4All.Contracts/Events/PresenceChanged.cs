namespace Chat4All.Contracts.Events;

/// <summary>
/// Published by realtime when a user goes online or offline (partition key: user id).
/// <see cref="Status"/> is one of <see cref="PresenceStatuses"/>; <see cref="LastSeenAt"/> is when the
/// user went offline, or their latest connect while online.
/// </summary>
public sealed record PresenceChanged(Guid UserId, string Status, DateTimeOffset? LastSeenAt);

/// <summary>The values of <see cref="PresenceChanged.Status"/>.</summary>
public static class PresenceStatuses
{
    public const string Online = "online";
    public const string Offline = "offline";
}
