namespace Chat4All.Contracts.Events;

/// <summary>Published by identity when a user (an API principal) is provisioned.</summary>
public sealed record UserCreated(Guid UserId, Guid TenantId, string Name, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt);
