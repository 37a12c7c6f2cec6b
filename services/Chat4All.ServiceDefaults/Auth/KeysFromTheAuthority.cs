using Microsoft.Extensions.Options;
using OpenIddict.Validation;
using static OpenIddict.Validation.OpenIddictValidationEvents;

namespace Chat4All.ServiceDefaults.Auth;

/// <summary>
/// Discovery names its endpoints under the configured issuer (never the request's Host), which is
/// the public URL. An app whose identity target runs elsewhere reads discovery from
/// <see cref="AuthOptions.Authority"/> (the identity service's in-cluster address), and must fetch the
/// signing keys from there too: the public URL may not be reachable from inside the cluster. The
/// keys' path is kept; only the scheme, host and port become the authority's.
/// </summary>
internal sealed class KeysFromTheAuthority(IOptions<AuthOptions> auth) : IOpenIddictValidationHandler<HandleConfigurationResponseContext>
{
    public static OpenIddictValidationHandlerDescriptor Descriptor { get; } =
        OpenIddictValidationHandlerDescriptor.CreateBuilder<HandleConfigurationResponseContext>()
            .UseSingletonHandler<KeysFromTheAuthority>()
            .SetOrder(OpenIddictValidationHandlers.Discovery.ExtractJsonWebKeySetEndpoint.Descriptor.Order + 1)
            .SetType(OpenIddictValidationHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(HandleConfigurationResponseContext context)
    {
        if (auth.Value.Authority is { } authority && context.Configuration.JsonWebKeySetUri is { } keys)
        {
            context.Configuration.JsonWebKeySetUri = new Uri(authority, keys.PathAndQuery.TrimStart('/'));
        }

        return default;
    }
}
