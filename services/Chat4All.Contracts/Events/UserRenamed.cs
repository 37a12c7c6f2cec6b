namespace Chat4All.Contracts.Events;

/// <summary>
/// Published by identity when a user's display name changes (partition key: user id). Read models
/// keep the name with the newest <see cref="RenamedAt"/>, so a late or repeated event changes nothing.
/// </summary>
public sealed record UserRenamed(Guid UserId, Guid TenantId, string Name, DateTimeOffset RenamedAt);
