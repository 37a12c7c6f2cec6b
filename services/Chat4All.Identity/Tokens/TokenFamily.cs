using Chat4All.Identity.Data;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Chat4All.Identity.Tokens;

/// <summary>
/// A refresh-token family is one authorization and every token issued under it. Revoking the
/// authorization too, not just the tokens that exist now, also kills a descendant that a concurrent
/// winning refresh is still writing (docs/adr/0025).
/// </summary>
public sealed class TokenFamily(IOpenIddictTokenManager tokens, IdentityDbContext db)
    : IOpenIddictServerHandler<ValidateTokenContext>
{
    /// <summary>Runs just before OpenIddict's reuse check, which revokes only the tokens that exist.</summary>
    public static OpenIddictServerHandlerDescriptor RevokeOnReuse { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .UseScopedHandler<TokenFamily>()
            .SetOrder(OpenIddictServerHandlers.Protection.ValidateTokenEntry.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>
    /// False once the family was revoked, even if this token was written after the revocation. Read
    /// from the table, not through the manager, whose entity cache may still hold the valid row.
    /// </summary>
    public Task<bool> IsValidAsync(string authorizationId, CancellationToken cancellationToken) =>
        db.Set<OpenIddictEntityFrameworkCoreAuthorization>().AnyAsync(a => a.Id == authorizationId && a.Status == Statuses.Valid, cancellationToken);

    /// <summary>
    /// One set-based write: the manager's TryRevokeAsync uses optimistic concurrency, so when several
    /// losers of a race revoke at once, all but one give up, and none may succeed if the row moves.
    /// </summary>
    public async Task RevokeAsync(string authorizationId, CancellationToken cancellationToken)
    {
        await db.Set<OpenIddictEntityFrameworkCoreAuthorization>()
            .Where(a => a.Id == authorizationId)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, Statuses.Revoked), cancellationToken);
        await tokens.RevokeByAuthorizationIdAsync(authorizationId, cancellationToken);
    }

    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.TokenId is { Length: > 0 } tokenId && context.AuthorizationId is { Length: > 0 } authorizationId &&
            await tokens.FindByIdAsync(tokenId, context.CancellationToken) is { } token &&
            await tokens.HasTypeAsync(token, TokenTypeHints.RefreshToken, context.CancellationToken) &&
            await tokens.HasStatusAsync(token, Statuses.Redeemed, context.CancellationToken))
        {
            await RevokeAsync(authorizationId, context.CancellationToken);
        }
    }
}
