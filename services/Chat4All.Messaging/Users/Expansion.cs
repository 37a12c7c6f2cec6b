using Chat4All.Messaging.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Chat4All.Contracts.Users;

namespace Chat4All.Messaging.Users;

/// <summary>
/// <c>?expand=a,b</c>: the comma-separated names of the id fields a response should also give as
/// <see cref="UserRef"/>s (docs/adr/0040). An unknown name is a 400, not silently ignored.
/// </summary>
internal static class Expansion
{
    public const string Members = "members";
    public const string Sender = "sender";

    public static HashSet<string> Parse(string? expand, IReadOnlyCollection<string> allowed, out ValidationProblem? problem)
    {
        var requested = (expand ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(e => e.ToLowerInvariant()).ToHashSet();
        var unknown = requested.Except(allowed).ToList();
        problem = unknown.Count == 0 ? null : TypedResults.ValidationProblem(new Dictionary<string, string[]>
        {
            ["expand"] = [$"expand takes a comma-separated list of {string.Join(", ", allowed)}; unknown: {string.Join(", ", unknown)}."],
        });
        return requested;
    }

    /// <summary>The names of <paramref name="userIds"/> in <paramref name="tenantId"/>, one query for all of them.</summary>
    public static async Task<Dictionary<Guid, UserRef>> UsersAsync(MessagingDbContext db, Guid tenantId, IEnumerable<Guid> userIds,
        CancellationToken cancellationToken)
    {
        var ids = userIds.Distinct().ToList();
        var known = await db.Users.AsNoTracking().Where(u => u.TenantId == tenantId && ids.Contains(u.UserId))
            .ToDictionaryAsync(u => u.UserId, u => u.Name, cancellationToken);
        return ids.ToDictionary(id => id, id => new UserRef(id, known.GetValueOrDefault(id)));
    }
}
