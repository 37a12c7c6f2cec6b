using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Chat4All.ServiceDefaults.RateLimiting;

/// <summary>
/// Throttles the anonymous OAuth endpoints (<c>/auth/token</c>, <c>/auth/refresh</c>, <c>/auth/revoke</c>)
/// per source address and per presented client id, before authentication runs: every attempt costs
/// a PBKDF2 hash, and the per-user limiter cannot see callers that have no token yet.
/// See docs/adr/0024-credential-throttle-and-user-revocation.md.
/// </summary>
internal sealed class CredentialEndpointThrottle(RequestDelegate next, RedisFixedWindow window, IOptionsMonitor<RateLimitingOptions> options)
{
    public static readonly PathString CredentialPaths = "/auth";

    public async Task InvokeAsync(HttpContext context)
    {
        var current = options.CurrentValue;
        if (!current.Enabled || !HttpMethods.IsPost(context.Request.Method) || !context.Request.Path.StartsWithSegments(CredentialPaths))
        {
            await next(context);
            return;
        }

        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (await ChargeAsync(RateLimitingOptions.TokenAddressBudget, address, current, context) ||
            (await ClientIdAsync(context) is { } clientId &&
             await ChargeAsync(RateLimitingOptions.TokenClientBudget, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(clientId))), current, context)))
        {
            return;
        }

        await next(context);
    }

    /// <summary>Charges one attempt; true when the budget is exhausted and the 429 has been written.</summary>
    private async Task<bool> ChargeAsync(string budgetName, string key, RateLimitingOptions current, HttpContext context)
    {
        if (!current.Budgets.TryGetValue(budgetName, out var budget) ||
            await window.ChargeAsync(budgetName, key, budget, context.RequestAborted) is not { Admitted: false } charge)
        {
            return false;
        }

        await RateLimitRejection.WriteAsync(context, budgetName, key, charge.ResetAfter);
        return true;
    }

    /// <summary>The client id as OAuth carries it: HTTP Basic credentials, else the form's <c>client_id</c>.</summary>
    private static async Task<string?> ClientIdAsync(HttpContext context)
    {
        var authorization = context.Request.Headers[HeaderNames.Authorization].ToString();
        if (authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var credentials = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim()));
                var separator = credentials.IndexOf(':', StringComparison.Ordinal);
                return Uri.UnescapeDataString(separator < 0 ? credentials : credentials[..separator]);
            }
            catch (FormatException)
            {
                return null; // malformed credentials: OpenIddict answers invalid_client
            }
        }

        if (!context.Request.HasFormContentType)
        {
            return null;
        }

        try
        {
            // Buffered by the form feature, so OpenIddict reads the same form again for free.
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            return form["client_id"].ToString() is { Length: > 0 } clientId ? clientId : null;
        }
        catch (InvalidDataException)
        {
            return null; // an oversized or malformed form: OpenIddict answers invalid_request
        }
    }
}
