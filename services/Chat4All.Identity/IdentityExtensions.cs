using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Identity;
using Chat4All.Identity.Data;
using Chat4All.Identity.Keys;
using Chat4All.Identity.WhoAmI;
using Chat4All.Contracts;
using Chat4All.Identity.Tokens;
using Chat4All.Identity.Users;
using Chat4All.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Microsoft.Extensions.Hosting;

public static class IdentityExtensions
{
    /// <summary>
    /// The identity service: OpenIddict 7 on EF Core (schema <c>identity</c>) issuing RS256 JWT access
    /// tokens for client credentials, rotating reference refresh tokens, RFC 7009 revocation,
    /// discovery and JWKS; plus user provisioning.
    /// </summary>
    public static IHostApplicationBuilder AddIdentityService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<IdentityServiceOptions>().BindConfiguration(IdentityServiceOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.AddServiceDbContext<IdentityDbContext>(IdentityDbContext.Schema);

        var identity = builder.Configuration.GetSection(IdentityServiceOptions.SectionName).Get<IdentityServiceOptions>() ?? new();
        var auth = builder.Configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new();
        var dataDirectory = builder.Configuration[$"{Chat4AllOptions.SectionName}:{nameof(Chat4AllOptions.DataDirectory)}"];

        builder.Services.AddOpenIddict()
            .AddCore(o => o.UseEntityFrameworkCore().UseDbContext<IdentityDbContext>())
            .AddServer(o =>
            {
                o.SetIssuer(auth.Issuer);
                o.SetTokenEndpointUris("auth/token", "auth/refresh")
                    .SetRevocationEndpointUris("auth/revoke")
                    .SetConfigurationEndpointUris(".well-known/openid-configuration")
                    .SetJsonWebKeySetEndpointUris(".well-known/jwks");
                o.AllowClientCredentialsFlow().AllowRefreshTokenFlow();
                o.RegisterScopes([.. ChatScopes.All]);

                o.SetAccessTokenLifetime(identity.AccessTokenLifetime)
                    .SetRefreshTokenLifetime(identity.RefreshTokenLifetime);

                // Rotation with zero tolerance: any second use of a refresh token revokes its whole
                // family (every token of its authorization). See docs/adr/0003.
                o.SetRefreshTokenReuseLeeway(null);
                o.UseReferenceRefreshTokens();

                // Access tokens are plain signed JWTs (RS256) so any JWT library can validate them
                // from our JWKS; the encryption key protects OpenIddict's own refresh-token payloads.
                o.DisableAccessTokenEncryption();
                o.AddSigningKey(RsaKeyFile.LoadOrCreate(ResolveKeyPath(identity.SigningKeyPath, dataDirectory, "signing.pem")));
                o.AddEncryptionKey(RsaKeyFile.LoadOrCreate(ResolveKeyPath(identity.EncryptionKeyPath, dataDirectory, "encryption.pem")));

                o.AddEventHandler(TokenEventHandlers.RefreshEndpointAcceptsOnlyRefreshTokens);
                o.AddEventHandler(TokenEventHandlers.AuditRejectedTokenRequests);
                o.AddEventHandler(TokenEventHandlers.AuditRevocations);

                // TLS terminates at the ingress in production; the standalone main job is loopback HTTP.
                o.UseAspNetCore()
                    .EnableTokenEndpointPassthrough()
                    .DisableTransportSecurityRequirement();
            })
            // Co-hosted with the issuer: validate with its keys directly, no discovery round trip.
            .AddValidation(o => o.UseLocalServer());

        builder.Services.AddScoped<UserProvisioner>();
        builder.Services.AddScoped<DemoUsers>();
        return builder;
    }

    public static IEndpointRouteBuilder MapIdentityService(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapTokenApi();
        endpoints.MapAdminUsersApi();
        endpoints.MapMeApi();
        return endpoints;
    }

    private static string ResolveKeyPath(string? configured, string? dataDirectory, string fileName)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        if (string.IsNullOrWhiteSpace(dataDirectory))
        {
            throw new InvalidOperationException(
                $"No token key configured: set {IdentityServiceOptions.SectionName}:SigningKeyPath and :EncryptionKeyPath " +
                $"(PEM files, e.g. mounted secrets), or {Chat4AllOptions.SectionName}:DataDirectory to have keys generated and kept there.");
        }

        return Path.Combine(dataDirectory, "keys", fileName);
    }
}
