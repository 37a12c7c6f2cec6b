using Chat4All.Contracts;
using Chat4All.ServiceDefaults.Audit;
using Microsoft.AspNetCore.Http;

namespace Chat4All.ServiceDefaults.Http;

/// <summary>Records every rejected bearer (401) and missing-scope (403) response as an audit event.</summary>
internal sealed class AuthAuditMiddleware(RequestDelegate next, AuditLog audit)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        var remoteIp = context.Connection.RemoteIpAddress?.ToString();
        switch (context.Response.StatusCode)
        {
            case StatusCodes.Status401Unauthorized when !context.Request.Path.StartsWithSegments("/auth"):
                audit.BearerRejected(context.Request.Method, context.Request.Path, remoteIp);
                break;
            case StatusCodes.Status403Forbidden:
                audit.Forbidden(context.User.FindFirst(ChatClaims.Subject)?.Value, context.Request.Method, context.Request.Path);
                break;
        }
    }
}
