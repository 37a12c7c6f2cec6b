using System.Net.Http.Headers;
using Microsoft.AspNetCore;
using Microsoft.Net.Http.Headers;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Chat4All.Identity.Tokens;

/// <summary>
/// OpenIddict answers every <c>invalid_client</c> with <c>WWW-Authenticate: Basic</c>, and a browser
/// that sent its credentials in the form body then pops its own login dialog. The Basic challenge is
/// kept only for requests that authenticated with Basic; the status and the error body stay as they
/// are (a 401 <c>invalid_client</c>), as other OAuth servers answer form-body credentials.
/// </summary>
internal static class BasicChallenge
{
    public static OpenIddictServerHandlerDescriptor OnlyForBasicTokenRequests { get; } = For<ApplyTokenResponseContext>();

    public static OpenIddictServerHandlerDescriptor OnlyForBasicRevocationRequests { get; } = For<ApplyRevocationResponseContext>();

    private static OpenIddictServerHandlerDescriptor For<TContext>()
        where TContext : BaseRequestContext =>
        OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>()
            .UseInlineHandler(context =>
            {
                if (context.Transaction.GetHttpRequest() is not { } request)
                {
                    return default;
                }

                var usedBasic = AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var authorization) &&
                                authorization.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);
                var response = request.HttpContext.Response;
                if (!usedBasic && response.Headers.WWWAuthenticate.Any(v => v?.StartsWith("Basic", StringComparison.OrdinalIgnoreCase) == true))
                {
                    response.Headers.Remove(HeaderNames.WWWAuthenticate);
                }

                return default;
            })
            // Right after OpenIddict attached the challenge, before the response is written.
            .SetOrder(OpenIddictServerAspNetCoreHandlers.AttachWwwAuthenticateHeader<TContext>.Descriptor.Order + 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();
}
