using Chat4All.Contracts;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Chat4All.ServiceDefaults.Logging;

/// <summary>
/// Every line logged while a request runs names its caller (<c>user_id</c>, the token's subject) and,
/// when the route has them, the conversation and message it concerns. Ids only, never tokens.
/// </summary>
internal sealed class RequestLogScopeMiddleware(RequestDelegate next, ILogger<RequestLogScopeMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var fields = RequestLogFields.Of(context);
        using (fields.Count > 0 ? logger.BeginScope(fields) : null)
        {
            await next(context);
        }
    }
}

/// <summary>The ids a request concerns, for its log scope and its completion line.</summary>
internal static class RequestLogFields
{
    private static readonly (string RouteValue, string Field)[] RouteIds = [("conversationId", "conversation_id"), ("messageId", "message_id")];

    public static List<KeyValuePair<string, object?>> Of(HttpContext context)
    {
        var fields = new List<KeyValuePair<string, object?>>(3);
        if (context.User.FindFirst(ChatClaims.Subject)?.Value is { } userId)
        {
            fields.Add(new("user_id", userId));
        }

        foreach (var (routeValue, field) in RouteIds)
        {
            if (context.GetRouteValue(routeValue) is { } id)
            {
                fields.Add(new(field, id.ToString()));
            }
        }

        return fields;
    }
}
