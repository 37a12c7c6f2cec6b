using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Chat4All.ServiceDefaults.Http;

/// <summary>
/// Headers every response carries: no MIME sniffing, no framing, no Referer leaving the site,
/// <c>Cache-Control: no-store</c> on anything a token was presented for (API data must not sit in
/// shared caches), and HSTS when the request came over TLS. See docs/adr/0026.
/// </summary>
internal sealed class SecurityHeadersMiddleware(RequestDelegate next)
{
    // One year: browsers keep to HTTPS for this origin once they have seen it over TLS.
    private const string StrictTransportSecurity = "max-age=31536000";

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(static state =>
        {
            Apply((HttpContext)state);
            return Task.CompletedTask;
        }, context);
        return next(context);
    }

    /// <summary>Sets the headers on a response about to start (also on the problems written for Kestrel's own rejections).</summary>
    public static void Apply(HttpContext http)
    {
        var headers = http.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        if (!headers.ContainsKey(HeaderNames.ContentSecurityPolicy))
        {
            headers.ContentSecurityPolicy = "frame-ancestors 'none'";
        }

        if (http.Request.Headers.ContainsKey(HeaderNames.Authorization) || http.Request.Path.StartsWithSegments("/auth") ||
            http.Request.Path.StartsWithSegments("/v1"))
        {
            headers.CacheControl = "no-store";
        }

        if (http.Request.IsHttps)
        {
            headers.StrictTransportSecurity = StrictTransportSecurity;
        }
    }
}
