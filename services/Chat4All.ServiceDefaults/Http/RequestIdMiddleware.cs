using System.Buffers;
using Microsoft.AspNetCore.Http;
using Serilog.Context;

namespace Chat4All.ServiceDefaults.Http;

/// <summary>
/// Honours a caller's <c>X-Request-ID</c> (when it is short and printable) or mints one, echoes it on
/// the response and puts it on every log line of the request as <c>request_id</c>.
/// </summary>
internal sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string HeaderName = "X-Request-ID";

    // ASP.NET Core's own scope already claims "RequestId" (the connection-based TraceIdentifier
    // captured before this middleware runs), so ours has its own name; the log template prefers it.
    public const string LogPropertyName = "HttpRequestId";
    private const int MaxLength = 128;
    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:/+=");

    public async Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[HeaderName].ToString();
        var requestId = IsAcceptable(incoming) ? incoming : Guid.CreateVersion7().ToString("N");
        context.TraceIdentifier = requestId;
        context.Response.Headers[HeaderName] = requestId;
        using (LogContext.PushProperty(LogPropertyName, requestId))
        {
            await next(context);
        }
    }

    private static bool IsAcceptable(string value) =>
        value.Length is > 0 and <= MaxLength && !value.AsSpan().ContainsAnyExcept(Allowed);
}
