using OpenIddict.Abstractions;
using OpenIddict.Validation;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Validation.OpenIddictValidationEvents;

namespace Chat4All.ServiceDefaults.Auth;

/// <summary>
/// An access token is a self-contained JWT that lives 15 minutes; this refuses it as soon as its
/// user is disabled or deleted, checked with the token on every request (and on the /ws upgrade).
/// </summary>
internal sealed class RejectRevokedUsers(RevokedUsers revoked) : IOpenIddictValidationHandler<ProcessAuthenticationContext>
{
    public static OpenIddictValidationHandlerDescriptor Descriptor { get; } =
        OpenIddictValidationHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
            .UseSingletonHandler<RejectRevokedUsers>()
            // Last: only a token that passed every other check is looked up.
            .SetOrder(int.MaxValue - 100_000)
            .SetType(OpenIddictValidationHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ProcessAuthenticationContext context)
    {
        if (context.AccessTokenPrincipal is { } principal && Guid.TryParse(principal.GetClaim(Claims.Subject), out var userId) &&
            revoked.IsRevoked(userId, principal.GetCreationDate()))
        {
            context.Reject(OpenIddictConstants.Errors.InvalidToken, "The token's user has been disabled or deleted.");
        }

        return default;
    }
}
