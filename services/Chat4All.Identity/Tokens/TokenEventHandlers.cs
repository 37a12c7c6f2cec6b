using Chat4All.ServiceDefaults.Audit;
using Microsoft.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
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
