using Chat4All.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using OpenIddict.Abstractions;

namespace Chat4All.Identity.WhoAmI;

public sealed record MeResponse(string UserId, string? TenantId, IReadOnlyList<string> Scopes);

/// <summary><c>GET /v1/me</c>: who the bearer token says the caller is. Reads claims only, no I/O.</summary>
public static class MeApi
{
    public static IEndpointRouteBuilder MapMeApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v1/me", GetMe).RequireAuthorization().WithTags("Identity").WithName("GetMe")
            .WithSummary("Who am I")
            .WithDescription("The caller's user id, tenant and scopes, from the access token.");
        return endpoints;
    }

    public static Ok<MeResponse> GetMe(HttpContext http) =>
        TypedResults.Ok(new MeResponse(
            http.User.FindFirst(ChatClaims.Subject)!.Value,
            http.User.FindFirst(ChatClaims.TenantId)?.Value,
            [.. http.User.GetScopes()]));
}
