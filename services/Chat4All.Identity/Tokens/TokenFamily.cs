using Chat4All.Identity.Data;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Chat4All.Identity.Tokens;

/// <summary>
/// A refresh-token family is one authorization and every token issued under it. For refresh tokens
/// this handler replaces OpenIddict's token-entry check, so that one read of the token's status
/// decides: a redeemed token is a reuse and revokes the family; a valid one goes on to the
/// compare-and-set redemption, whose losers revoke it too. With two separate reads (ours, then
/// OpenIddict's) a loser could be refused by the second without the first having seen the reuse,
/// and the family survived (docs/adr/0037).
/// </summary>
public sealed class TokenFamily(IOpenIddictTokenManager tokens, IdentityDbContext db, TimeProvider time)
    : IOpenIddictServerHandler<ValidateTokenContext>
{
    /// <summary>Takes the place of OpenIddict's <c>ValidateTokenEntry</c>, with the same filters and order.</summary>
    public static OpenIddictServerHandlerDescriptor ValidateTokenEntry { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireDegradedModeDisabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenStorageEnabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenIdResolved>()
            .UseScopedHandler<TokenFamily>()
            .SetOrder(OpenIddictServerHandlers.Protection.ValidateTokenEntry.Descriptor.Order)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>
    /// False once the family was revoked, even if this token was written after the revocation. The
    /// record of our own is what counts: OpenIddict's store writes whole entity graphs, so a concurrent
    /// request that updates a token it loaded earlier writes the authorization's old "valid" status back.
    /// </summary>
    private Task<bool> IsValidAsync(string authorizationId, CancellationToken cancellationToken) =>
        db.Set<OpenIddictEntityFrameworkCoreAuthorization>().AnyAsync(
            a => a.Id == authorizationId && a.Status == Statuses.Valid && !db.RevokedTokenFamilies.Any(f => f.AuthorizationId == a.Id),
            cancellationToken);

    /// <summary>
    /// Set-based writes only: the manager's TryRevokeAsync uses optimistic concurrency, so when several
    /// losers of a race revoke at once, all but one give up, and none may succeed if the row moves.
    /// The family record comes first and nothing else writes it; the status writes serve OpenIddict's
    /// own checks (introspection, revocation).
    /// </summary>
    public async Task RevokeAsync(string authorizationId, CancellationToken cancellationToken)
    {
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO identity.revoked_token_families (authorization_id, revoked_at)
            SELECT "Id", {time.GetUtcNow()} FROM identity."OpenIddictAuthorizations" WHERE "Id" = {authorizationId}
            ON CONFLICT DO NOTHING
            """,
            cancellationToken);
        await db.Set<OpenIddictEntityFrameworkCoreAuthorization>()
            .Where(a => a.Id == authorizationId)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, Statuses.Revoked), cancellationToken);
        await tokens.RevokeByAuthorizationIdAsync(authorizationId, cancellationToken);
    }

    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.Principal?.HasTokenType(TokenTypeIdentifiers.RefreshToken) is not true)
        {
            await new OpenIddictServerHandlers.Protection.ValidateTokenEntry(tokens).HandleAsync(context);
            return;
        }

        // Read from the table, not through the manager: its entity was loaded when the request began.
        var status = await db.Set<OpenIddictEntityFrameworkCoreToken>().AsNoTracking()
            .Where(t => t.Id == context.TokenId)
            .Select(t => t.Status)
            .SingleOrDefaultAsync(context.CancellationToken);
        var authorizationId = context.AuthorizationId;

        if (status == Statuses.Redeemed)
        {
            if (authorizationId is { Length: > 0 })
            {
                await RevokeAsync(authorizationId, context.CancellationToken);
            }

            context.Reject(Errors.InvalidToken, "The refresh token has already been used; every token of its family is revoked.");
            return;
        }

        if (status != Statuses.Valid || (authorizationId is { Length: > 0 } && !await IsValidAsync(authorizationId, context.CancellationToken)))
        {
            context.Reject(Errors.InvalidToken, "The refresh token is no longer valid.");
        }
    }
}
