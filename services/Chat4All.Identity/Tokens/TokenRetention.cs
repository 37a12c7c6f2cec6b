using Chat4All.BuildingBlocks.Retention;
using Chat4All.Identity.Data;

namespace Chat4All.Identity.Tokens;

/// <summary>
/// Tokens do not pile up: access and refresh tokens that expired longer ago than the rule's age are
/// deleted (a spent refresh token stays while it could still be presented, so a reuse is still
/// recognised and revokes its family), then the ad-hoc authorizations left without tokens, with
/// their revoked-family records (cascade).
/// </summary>
public static class TokenRetention
{
    private static readonly RetentionRule Tokens = RetentionRules.Where<IdentityDbContext>(
        RetentionRules.ExpiredTokens, "OpenIddictTokens", "\"ExpirationDate\" < {0}");

    private static readonly RetentionRule Authorizations = RetentionRules.Where<IdentityDbContext>(
        RetentionRules.ExpiredTokens, "OpenIddictAuthorizations",
        "\"Type\" = 'ad-hoc' AND \"CreationDate\" < {0} " +
        "AND NOT EXISTS (SELECT 1 FROM identity.\"OpenIddictTokens\" t WHERE t.\"AuthorizationId\" = \"OpenIddictAuthorizations\".\"Id\")");

    public static RetentionRule Rule { get; } = new(RetentionRules.ExpiredTokens, async (services, cutoff, batch, cancellationToken) =>
    {
        var tokens = await Tokens.PurgeBatchAsync(services, cutoff, batch, cancellationToken);
        return tokens >= batch
            ? tokens // more tokens first; their authorizations go once none is left
            : tokens + await Authorizations.PurgeBatchAsync(services, cutoff, batch, cancellationToken);
    });
}
