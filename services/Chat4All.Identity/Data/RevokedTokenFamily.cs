namespace Chat4All.Identity.Data;

/// <summary>
/// A refresh-token family (an OpenIddict authorization) that a reuse revoked. Kept apart from the
/// authorization row because OpenIddict's store writes whole entity graphs: a concurrent winner that
/// updates its token also writes back the authorization it loaded before the revocation, with its
/// old "valid" status (docs/adr/0037). Nothing but <see cref="Tokens.TokenFamily"/> writes this table.
/// </summary>
public sealed class RevokedTokenFamily
{
    public required string AuthorizationId { get; init; }

    public DateTimeOffset RevokedAt { get; init; }
}
