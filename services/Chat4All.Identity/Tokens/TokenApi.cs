using System.Security.Claims;
using Chat4All.Contracts;
using Chat4All.Identity.Data;
using Chat4All.ServiceDefaults.Auth;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Chat4All.Identity.Tokens;

/// <summary>
/// <c>/auth/token</c> and <c>/auth/refresh</c>. OpenIddict has already authenticated the client and
/// validated the grant before these run (passthrough); here we decide who the token is about.
/// </summary>
public static class TokenApi
{
    public static IEndpointRouteBuilder MapTokenApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/auth").AllowAnonymous().DisableAntiforgery().WithTags("Auth");
        group.MapPost("/token", Exchange).ExcludeFromDescription();
        group.MapPost("/refresh", Exchange).ExcludeFromDescription();
        return endpoints;
    }

    public static async Task<IResult> Exchange(HttpContext http, IdentityDbContext db, IOptions<AuthOptions> auth,
        TokenFamily family, TimeProvider time, CancellationToken cancellationToken)
    {
        var request = http.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenIddict server request is missing; is the token endpoint configured?");

        if (request.IsClientCredentialsGrantType())
        {
            var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.ClientId == request.ClientId, cancellationToken);
            if (user is null)
            {
                return Reject(Errors.InvalidClient, "The client is not a Chat4All user.");
            }

            if (user.DisabledAt is not null)
            {
                return Reject(Errors.InvalidClient, "The user is disabled.");
            }

            // No scope requested means every scope the user holds (OpenIddict has already refused
            // scopes the client lacks a permission for).
            var requested = request.GetScopes();
            var scopes = requested.IsEmpty ? [.. user.Scopes] : requested.Intersect(user.Scopes).ToList();
            return SignIn(user, scopes, auth.Value.Audience);
        }

        if (request.IsRefreshTokenGrantType())
        {
            // The refresh token has been validated (signature, expiry, not redeemed or revoked,
            // presented by the client it was issued to); re-read the user so that a deleted user or
            // a narrowed grant takes effect at the next refresh.
            var refreshed = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            if (!await RedeemOnceAsync(refreshed.Principal!, db, family, time, cancellationToken))
            {
                return Reject(Errors.InvalidGrant, "The refresh token has already been used; every token of its family is revoked.");
            }

            var subject = refreshed.Principal?.GetClaim(Claims.Subject);
            var user = Guid.TryParse(subject, out var userId)
                ? await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == userId, cancellationToken)
                : null;
            if (user is null || user.DisabledAt is not null)
            {
                return Reject(Errors.InvalidGrant, "The refresh token's user no longer exists or is disabled.");
            }

            var scopes = refreshed.Principal!.GetScopes().Intersect(user.Scopes).ToList();
            return SignIn(user, scopes, auth.Value.Audience);
        }

        return Reject(Errors.UnsupportedGrantType, "Only client_credentials and refresh_token are supported.");
    }

    /// <summary>
    /// OpenIddict checks a refresh token's status when it validates it, but marks it redeemed only
    /// later and ignores a lost race, so N concurrent refreshes with one token all succeeded. This
    /// compare-and-set in PostgreSQL lets exactly one of them win; a loser is a reuse, and a reuse
    /// revokes the whole family (docs/adr/0025). A descendant that a winner wrote after the family
    /// was revoked is refused when it is presented (<see cref="TokenFamily"/>, docs/adr/0037).
    /// </summary>
    private static async Task<bool> RedeemOnceAsync(ClaimsPrincipal refreshToken, IdentityDbContext db, TokenFamily family,
        TimeProvider time, CancellationToken cancellationToken)
    {
        if (refreshToken.GetTokenId() is not { Length: > 0 } tokenId)
        {
            return true;
        }

        var now = time.GetUtcNow().UtcDateTime;
        var redeemed = await db.Set<OpenIddictEntityFrameworkCoreToken>()
            .Where(t => t.Id == tokenId && t.Status == Statuses.Valid)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, Statuses.Redeemed).SetProperty(t => t.RedemptionDate, now), cancellationToken);
        if (redeemed == 1)
        {
            return true;
        }

        if (refreshToken.GetAuthorizationId() is { Length: > 0 } authorizationId)
        {
            await family.RevokeAsync(authorizationId, cancellationToken);
        }

        return false;
    }

    private static IResult SignIn(User user, IReadOnlyCollection<string> scopes, string audience)
    {
        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, user.Id.ToString())
            .SetClaim(ChatClaims.TenantId, user.TenantId.ToString())
            .SetClaim(Claims.Name, user.Name);

        // offline_access is what makes OpenIddict issue a refresh token; granting it server-side is
        // how client-credentials clients get one (docs/adr/0003-refresh-tokens-for-client-credentials.md).
        identity.SetScopes(scopes.Append(OpenIddictConstants.Scopes.OfflineAccess).Distinct());
        identity.SetResources(audience);
        identity.SetDestinations(static _ => [Destinations.AccessToken]);
        return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static IResult Reject(string error, string description) =>
        Results.Forbid(
            new AuthenticationProperties(new Dictionary<string, string?>
            {
                [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
                [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
            }),
            [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
}
