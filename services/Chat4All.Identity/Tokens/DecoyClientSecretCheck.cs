using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Chat4All.Identity.Tokens;

/// <summary>
/// OpenIddict refuses an unknown <c>client_id</c> before hashing anything, so a wrong secret for an
/// existing client took measurably longer than any secret for an unknown one, which let a caller
/// enumerate client ids. For an unknown client this runs the same PBKDF2 verification against a
/// decoy hash and ignores the result; OpenIddict then refuses the client as before.
/// </summary>
internal sealed class DecoyClientSecretCheck(IOpenIddictApplicationManager applications) : IOpenIddictServerHandler<ProcessAuthenticationContext>
{
    /// <summary>
    /// OpenIddict's hash (same format, PRF and iteration count as a real client's) of a random secret
    /// nobody knows; a test checks that its parameters still match freshly provisioned clients.
    /// </summary>
    internal const string DecoySecretHash = "AQAAAAEAACcQAAAAEHeJcgrRnzV0CrNq3Elh21o/Nk2Ik4KS85Sj0XOtH6/CY3PjiGaMIvFapqziRvB5Qg==";

    private static readonly OpenIddictEntityFrameworkCoreApplication Decoy = new()
    {
        ClientId = "decoy",
        ClientType = ClientTypes.Confidential,
        ClientSecret = DecoySecretHash,
    };

    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
            .UseScopedHandler<DecoyClientSecretCheck>()
            .SetOrder(OpenIddictServerHandlers.ValidateClientId.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ProcessAuthenticationContext context)
    {
        if (context.Request?.ClientId is not { Length: > 0 } clientId || context.Request.ClientSecret is not { Length: > 0 } secret ||
            await applications.FindByClientIdAsync(clientId, context.CancellationToken) is not null)
        {
            return;
        }

        await applications.ValidateClientSecretAsync(Decoy, secret, context.CancellationToken);
    }
}
