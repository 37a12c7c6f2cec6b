using Chat4All.BuildingBlocks.Presence;
using Chat4All.Contracts;
using Chat4All.Realtime.Data;
using Chat4All.Realtime.Projections;
using Chat4All.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Chat4All.Contracts.Realtime;

namespace Chat4All.Realtime.Presence;

/// <summary>
/// <c>GET /v1/presence?user_ids=a,b</c>: presence of the caller's correspondents (users they have
/// exchanged a message with) and of the caller; other ids are left out, so presence says nothing
/// about strangers, other tenants' users or users who never answered (docs/adr/0028).
/// </summary>
public static class PresenceApi
{
    public const int MaxUsers = 100;

    public static IEndpointRouteBuilder MapPresenceApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v1/presence", GetAsync).RequireAuthorization(ChatScopes.Messages).WithTags("Realtime").WithName("GetPresence")
            .WithSummary("Get presence")
            .WithDescription("Online or offline, and last seen, of up to 100 users the caller has exchanged messages with; others are left out.");
        return endpoints;
    }

    public static async Task<Results<Ok<PresenceList>, ValidationProblem>> GetAsync(HttpContext http, RealtimeDbContext db, IPresenceTracker presence,
        CancellationToken cancellationToken, [FromQuery(Name = "user_ids")] string? userIds = null)
    {
        var requested = new List<Guid>();
        foreach (var part in (userIds ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Guid.TryParse(part, out var id))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["user_ids"] = [$"'{part}' is not a user id."] });
            }

            requested.Add(id);
        }

        if (requested.Count is 0 or > MaxUsers)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["user_ids"] = [$"Give 1 to {MaxUsers} comma-separated user ids."] });
        }

        var caller = http.CallerId();
        var visible = (await Memberships.CorrespondentsOfAsync(db, caller, cancellationToken)).Append(caller).ToHashSet();
        var statuses = await presence.GetAsync([.. requested.Distinct().Where(visible.Contains)], cancellationToken);
        return TypedResults.Ok(new PresenceList([.. statuses.Select(s => new PresenceView(s.UserId, s.Online ? "online" : "offline", s.Connections, s.LastSeenAt))]));
    }
}
