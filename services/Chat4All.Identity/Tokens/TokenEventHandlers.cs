using Chat4All.ServiceDefaults.Audit;
using Microsoft.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Chat4All.Identity.Tokens;

/// <summary>Small OpenIddict event handlers: endpoint discipline and audit.</summary>
internal static class TokenEventHandlers
{
    public const string RefreshPath = "/auth/refresh";

    /// <summary><c>/auth/refresh</c> is the token endpoint restricted to the refresh_token grant.</summary>
    public static OpenIddictServerHandlerDescriptor RefreshEndpointAcceptsOnlyRefreshTokens { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
            .UseInlineHandler(context =>
            {
                if (string.Equals(context.RequestUri?.AbsolutePath, RefreshPath, StringComparison.OrdinalIgnoreCase) &&
                    !context.Request.IsRefreshTokenGrantType())
                {
                    context.Reject(Errors.UnsupportedGrantType, "Only grant_type=refresh_token is accepted at /auth/refresh; use /auth/token.");
                }

                return default;
            })
            .SetOrder(OpenIddictServerHandlers.Exchange.ValidateGrantType.Descriptor.Order + 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>
    /// A control character (e.g. NUL) in any OAuth parameter is a malformed request, refused before
    /// a client id or scope reaches a database query that could not store it.
    /// </summary>
    public static OpenIddictServerHandlerDescriptor TokenRequestsRejectControlCharacters { get; } =
        RejectControlCharacters<ExtractTokenRequestContext>();

    public static OpenIddictServerHandlerDescriptor RevocationRequestsRejectControlCharacters { get; } =
        RejectControlCharacters<ExtractRevocationRequestContext>();

    /// <summary>
    /// Discovery names endpoints under the configured issuer, never under the request's <c>Host</c>,
    /// so a forged Host cannot poison a cached discovery document.
    /// </summary>
    public static OpenIddictServerHandlerDescriptor DiscoveryUsesTheConfiguredIssuer { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<HandleConfigurationRequestContext>()
            .UseInlineHandler(context =>
            {
                if (context.Options.Issuer is { } issuer)
                {
                    context.BaseUri = issuer;
                }

                return default;
            })
            .SetOrder(OpenIddictServerHandlers.Discovery.AttachEndpoints.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>Every refused token request is an audit event (brute force shows up here).</summary>
    public static OpenIddictServerHandlerDescriptor AuditRejectedTokenRequests { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyTokenResponseContext>()
            .UseInlineHandler(context =>
            {
                if (!string.IsNullOrEmpty(context.Error))
                {
                    var http = context.Transaction.GetHttpRequest()?.HttpContext;
                    var remoteIp = http?.Connection.RemoteIpAddress?.ToString();
                    http?.RequestServices.GetRequiredService<AuditLog>().TokenRejected(context.Error, context.Request?.ClientId, remoteIp);
                }

                return default;
            })
            .SetOrder(int.MinValue + 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    private static OpenIddictServerHandlerDescriptor RejectControlCharacters<TContext>()
        where TContext : BaseValidatingContext =>
        OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>()
            .UseInlineHandler(context =>
            {
                foreach (var (name, value) in context.Transaction.Request?.GetParameters() ?? new Dictionary<string, OpenIddictParameter>())
                {
                    if (name.Any(char.IsControl) || ((StringValues)(OpenIddictParameter?)value).Any(v => v is not null && v.Any(char.IsControl)))
                    {
                        context.Reject(Errors.InvalidRequest, $"The '{Sanitize(name)}' parameter contains a control character.");
                        break;
                    }
                }

                return default;
            })
            // After every built-in extraction handler, so Basic credentials have been merged in too.
            .SetOrder(int.MaxValue - 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    private static string Sanitize(string name) => new([.. name.Where(c => !char.IsControl(c)).Take(50)]);

    public static OpenIddictServerHandlerDescriptor AuditRevocations { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyRevocationResponseContext>()
            .UseInlineHandler(context =>
            {
                var http = context.Transaction.GetHttpRequest()?.HttpContext;
                if (http is null)
                {
                    return default;
                }

                var audit = http.RequestServices.GetRequiredService<AuditLog>();
                var remoteIp = http.Connection.RemoteIpAddress?.ToString();
                if (string.IsNullOrEmpty(context.Error))
                {
                    audit.TokenRevoked(context.Request?.ClientId, remoteIp);
                }
                else
                {
                    audit.TokenRejected(context.Error, context.Request?.ClientId, remoteIp);
                }

                return default;
            })
            .SetOrder(int.MinValue + 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();
}
