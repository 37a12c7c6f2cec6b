namespace Chat4All.Contracts.Events;

/// <summary>
/// Published by identity when an admin disables a user (partition key: user id). Their tokens are
/// refused through the revoked-users set already; this tells services that keep users of their own.
/// </summary>
public sealed record UserDisabled(Guid UserId, Guid TenantId, string Name, DateTimeOffset DisabledAt);

/// <summary>Published by identity when an admin re-enables a disabled user (partition key: user id).</summary>
public sealed record UserEnabled(Guid UserId, Guid TenantId, string Name, DateTimeOffset EnabledAt);

/// <summary>
/// Published by identity when an admin deletes a user (partition key: user id). Final: no later event
/// brings the user back. <see cref="Name"/> is their last name, so a read model that never saw their
/// <c>user.created</c> (topics are not ordered with each other) still labels their old messages.
/// </summary>
public sealed record UserDeleted(Guid UserId, Guid TenantId, string Name, DateTimeOffset DeletedAt);
