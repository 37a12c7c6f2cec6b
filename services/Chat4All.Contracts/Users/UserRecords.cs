using System.ComponentModel.DataAnnotations;

namespace Chat4All.Contracts.Users;

// The REST bodies of /v1/me, the user directory (/v1/users) and user administration (/v1/admin/users).

/// <summary>A user id with its display name, where a response expands ids (<c>?expand=</c>); the name is null for a user messaging has not heard of yet.</summary>
public sealed record UserRef(Guid UserId, string? Name);

/// <summary>A person as others see them: an id and a display name.</summary>
public sealed record UserSummary(Guid UserId, string Name);

public sealed record UserDirectoryPage(IReadOnlyList<UserSummary> Items, string? NextCursor, bool HasMore);

/// <summary>Who the caller is: the token's subject, tenant and scopes, and the display name identity holds (null once the user is deleted).</summary>
public sealed record MeResponse(string UserId, string? TenantId, string? Name, IReadOnlyList<string> Scopes);

// Nullable on purpose: a missing or null name gets the same validation problem as an empty one.
public sealed record RenameRequest([property: Required, StringLength(RenameRequest.MaxNameLength, MinimumLength = 1), NoNul] string? Name)
{
    /// <summary>The longest display name, in UTF-16 code units.</summary>
    public const int MaxNameLength = 100;
}

public sealed record RenamedUserResponse(Guid UserId, Guid TenantId, string Name);

// Nullable on purpose: JSON can carry null or omit anything, and the provisioner answers those with
// a validation problem rather than a NullReferenceException.
public sealed record CreateUserRequest(
    [property: Required, StringLength(RenameRequest.MaxNameLength, MinimumLength = 1)] string? Name,
    IReadOnlyList<string?>? Scopes,
    Guid? TenantId);

public sealed record CreatedUserResponse(Guid UserId, string Name, Guid TenantId, string ClientId, string ClientSecret,
    IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt);

public sealed record UserResponse(Guid UserId, string Name, Guid TenantId, string ClientId, IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt);

public sealed record UserPage(IReadOnlyList<UserResponse> Items, string? NextCursor);

public sealed record ClientSecretResponse(Guid UserId, string ClientId, string ClientSecret);
