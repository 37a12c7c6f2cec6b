using System.Globalization;
using Chat4All.Contracts;
using Chat4All.Messaging.Data;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Chat4All.ServiceDefaults.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Chat4All.Contracts.Users;

namespace Chat4All.Messaging.Users;

/// <summary>
/// <c>/v1/users</c>: the caller's tenant's user directory, served from messaging's users read model
/// (fed by <c>user.created</c>, <c>user.renamed</c> and <c>user.deleted</c>). Users of other tenants and
/// deleted users do not exist here: 404. A disabled user is listed as before (docs/adr/0061).
/// </summary>
public static class UserDirectoryApi
{
    public const int MaxQueryLength = 100;

    public static IEndpointRouteBuilder MapUserDirectoryApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/users").RequireAuthorization(ChatScopes.Messages).WithTags("Users");
        group.MapGet("/", SearchUsers).WithName("SearchUsers")
            .WithSummary("Search the user directory")
            .WithDescription("Users of the caller's tenant whose display name starts with `query` (case-insensitive; absent: everyone), " +
                "in name order, `limit` (default 50, 1..100) at a time; `next_cursor` continues.")
            .ProducesValidationProblem();
        group.MapGet("/{userId:guid}", GetUser).WithName("GetUser")
            .WithSummary("Get a user")
            .WithDescription("A user of the caller's tenant by id; users of other tenants answer 404.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    public static async Task<Results<Ok<UserDirectoryPage>, ValidationProblem>> SearchUsers(
        HttpContext http, MessagingDbContext db, CancellationToken cancellationToken, string? query = null, int? limit = null, string? cursor = null)
    {
        var take = limit ?? Cursor.DefaultLimit;
        var errors = new Dictionary<string, string[]>();
        if (take is < 1 or > Cursor.MaxLimit)
        {
            errors["limit"] = [$"limit must be 1..{Cursor.MaxLimit}."];
        }

        if (query is { Length: > MaxQueryLength } || query?.Any(char.IsControl) == true)
        {
            errors["query"] = [$"query is at most {MaxQueryLength} printable characters."];
        }

        // The cursor is the last name and id of the previous page; the id follows the last '|', as names may hold one.
        string? afterName = null;
        var afterId = Guid.Empty;
        if (cursor is not null)
        {
            var decoded = Cursor.Decode(cursor);
            var bar = decoded?.LastIndexOf('|') ?? -1;
            if (bar < 0 || !Guid.TryParse(decoded.AsSpan(bar + 1), CultureInfo.InvariantCulture, out afterId))
            {
                errors["cursor"] = ["The cursor is not valid."];
            }
            else
            {
                afterName = decoded![..bar];
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var tenant = http.CallerTenantId();
        var users = db.Users.AsNoTracking().Present(tenant);
        if (!string.IsNullOrWhiteSpace(query))
        {
            users = users.Where(u => EF.Functions.ILike(u.Name, EscapeLike(query.Trim()) + "%", @"\"));
        }

        if (afterName is not null)
        {
            users = users.Where(u => string.Compare(u.Name, afterName) > 0 || (u.Name == afterName && u.UserId.CompareTo(afterId) > 0));
        }

        var rows = await users.OrderBy(u => u.Name).ThenBy(u => u.UserId).Take(take + 1)
            .Select(u => new UserSummary(u.UserId, u.Name)).ToListAsync(cancellationToken);
        var hasMore = rows.Count > take;
        rows = [.. rows.Take(take)];
        var next = hasMore ? Cursor.Encode(string.Create(CultureInfo.InvariantCulture, $"{rows[^1].Name}|{rows[^1].UserId}")) : null;
        return TypedResults.Ok(new UserDirectoryPage(rows, next, hasMore));
    }

    public static async Task<Results<Ok<UserSummary>, ProblemHttpResult>> GetUser(
        Guid userId, HttpContext http, MessagingDbContext db, CancellationToken cancellationToken)
    {
        var tenant = http.CallerTenantId();
        var user = await db.Users.AsNoTracking().Present(tenant).Where(u => u.UserId == userId)
            .Select(u => new UserSummary(u.UserId, u.Name)).SingleOrDefaultAsync(cancellationToken);
        return user is null ? Problems.NotFound("user_not_found", "No such user.") : TypedResults.Ok(user);
    }

    // A user's query is a literal prefix: LIKE's wildcards and the escape character match themselves.
    private static string EscapeLike(string value) =>
        value.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);
}
