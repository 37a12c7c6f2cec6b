using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Chat4All.ServiceDefaults.Http;

/// <summary>
/// Browsers cannot set headers on a WebSocket handshake, so <c>/ws?token=...</c> carries the access
/// token in the query; this turns it into the bearer header authentication reads. Only for the
/// WebSocket path and only when no Authorization header was sent.
/// </summary>
internal sealed class WebSocketTokenMiddleware(RequestDelegate next)
{
    public static readonly PathString WebSocketPath = "/ws";

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path == WebSocketPath && !context.Request.Headers.ContainsKey(HeaderNames.Authorization)
            && context.Request.Query["token"].ToString() is { Length: > 0 } token)
        {
            context.Request.Headers.Authorization = "Bearer " + token;
        }

        return next(context);
    }
}
