namespace Chat4All.Identity.Data;

/// <summary>
/// An API principal. It signs in as the OAuth client <see cref="ClientId"/> (client credentials);
/// its id is the <c>sub</c> of every token it gets.
/// </summary>
public sealed class User
{
    public Guid Id { get; init; }

    public required string Name { get; set; }

    public Guid TenantId { get; init; }

    public required string ClientId { get; init; }

    /// <summary>Scopes this user may request (a subset of <see cref="Chat4All.Contracts.ChatScopes.All"/>).</summary>
    public required List<string> Scopes { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When an admin disabled the user; a disabled user gets no tokens and its tokens are refused.</summary>
    public DateTimeOffset? DisabledAt { get; set; }
}
