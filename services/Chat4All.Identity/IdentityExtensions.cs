using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Identity;
using Chat4All.Identity.Data;
using Chat4All.Identity.Keys;
using Chat4All.Identity.WhoAmI;
using Chat4All.Contracts;
using Chat4All.Identity.Tokens;
using Chat4All.Identity.Users;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
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
        builder.AddEventBus();
        builder.AddOutboxRelay<IdentityDbContext>();
        builder.AddRetentionRule(TokenRetention.Rule);
        builder.Services.AddOpenApiDocumentTransformer<OAuthEndpointsDocument>(); // /auth/* and discovery are OpenIddict's, not operations

        builder.Services.AddOpenIddict()
            .AddCore(o => o.UseEntityFrameworkCore().UseDbContext<IdentityDbContext>())
            .AddServer(o =>
            {
                o.SetTokenEndpointUris("auth/token", "auth/refresh")
                    .SetRevocationEndpointUris("auth/revoke")
                    .SetConfigurationEndpointUris(".well-known/openid-configuration")
                    .SetJsonWebKeySetEndpointUris(".well-known/jwks");
                o.AllowClientCredentialsFlow().AllowRefreshTokenFlow();
                o.RegisterScopes([.. ChatScopes.All]);

                // Rotation with zero tolerance: any second use of a refresh token revokes its whole
                // family (every token of its authorization). See docs/adr/0003.
                o.SetRefreshTokenReuseLeeway(null);
                o.UseReferenceRefreshTokens();

                // Access tokens are plain signed JWTs (RS256) so any JWT library can validate them
                // from our JWKS; the encryption key protects OpenIddict's own refresh-token payloads.
                o.DisableAccessTokenEncryption();

                o.AddEventHandler(TokenEventHandlers.RefreshEndpointAcceptsOnlyRefreshTokens);
                o.AddEventHandler(TokenEventHandlers.AuditRejectedTokenRequests);
                o.AddEventHandler(TokenEventHandlers.AuditRevocations);
                o.AddEventHandler(TokenEventHandlers.TokenRequestsRejectControlCharacters);
                o.AddEventHandler(TokenEventHandlers.RevocationRequestsRejectControlCharacters);
                o.AddEventHandler(TokenEventHandlers.DiscoveryUsesTheConfiguredIssuer);
                o.AddEventHandler(BasicChallenge.OnlyForBasicTokenRequests);
                o.AddEventHandler(BasicChallenge.OnlyForBasicRevocationRequests);
                o.AddEventHandler(DecoyClientSecretCheck.Descriptor);
                o.RemoveEventHandler(OpenIddictServerHandlers.Protection.ValidateTokenEntry.Descriptor);
                o.AddEventHandler(TokenFamily.ValidateTokenEntry);

                // TLS terminates at the ingress in production; the standalone main job is loopback HTTP.
                o.UseAspNetCore()
                    .EnableTokenEndpointPassthrough()
                    .DisableTransportSecurityRequirement();
            })
            // Co-hosted with the issuer: validate with its keys directly, no discovery round trip.
            .AddValidation(o => o.UseLocalServer());

        // Issuer, lifetimes and keys come from validated options, resolved when the server first
        // needs them rather than read from configuration while services are being registered.
        builder.Services.AddOptions<OpenIddictServerOptions>()
            .Configure<IOptions<AuthOptions>, IOptions<IdentityServiceOptions>, IOptions<Chat4AllOptions>>((server, auth, identity, chat4all) =>
            {
                server.Issuer = auth.Value.Issuer;
                server.AccessTokenLifetime = identity.Value.AccessTokenLifetime;
                server.RefreshTokenLifetime = identity.Value.RefreshTokenLifetime;
                var dataDirectory = chat4all.Value.DataDirectory;
                var signing = RsaKeyFile.LoadOrCreate(ResolveKeyPath(identity.Value.SigningKeyPath, dataDirectory, "signing.pem"));
                var encryption = RsaKeyFile.LoadOrCreate(ResolveKeyPath(identity.Value.EncryptionKeyPath, dataDirectory, "encryption.pem"));
                server.SigningCredentials.Add(new SigningCredentials(signing, SecurityAlgorithms.RsaSha256));
                server.EncryptionCredentials.Add(new EncryptingCredentials(encryption, SecurityAlgorithms.RsaOAEP, SecurityAlgorithms.Aes256CbcHmacSha512));
            });

        builder.Services.AddScoped<TokenFamily>();
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
