using System.Security.Cryptography;
using System.Text;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Chat4All.ServiceDefaults.Telemetry;

/// <summary>
/// Guards <c>/metrics</c> as configured in <see cref="MetricsAccessOptions"/>: the port is the one the
/// connection actually reached (not the spoofable Host header), the token is compared in constant time.
/// </summary>
internal sealed class MetricsAccessMiddleware(RequestDelegate next, IOptions<MetricsAccessOptions> options)
{
    public static readonly PathString MetricsPath = "/metrics";

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.Equals(MetricsPath, StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }

        var access = options.Value;
        if (access.Port is { } port && context.Connection.LocalPort != port)
        {
            await Problems.NotFound("not_found", "No such resource on this port.").ExecuteAsync(context);
            return;
        }

        if (access.BearerToken is { } expected && !Presented(context, expected))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"metrics\"";
            await Problems.Problem(StatusCodes.Status401Unauthorized, "unauthorized", "/metrics needs the configured bearer token.").ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    private static bool Presented(HttpContext context, string expected)
    {
        var header = context.Request.Headers[HeaderNames.Authorization].ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) &&
               CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[7..].Trim()), Encoding.UTF8.GetBytes(expected));
    }
}
