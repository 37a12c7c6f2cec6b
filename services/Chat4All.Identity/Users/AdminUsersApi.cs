using System.ComponentModel.DataAnnotations;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Identity.Data;
using Chat4All.ServiceDefaults.Audit;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Chat4All.ServiceDefaults.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using Chat4All.Contracts.Users;

namespace Chat4All.Identity.Users;

/// <summary>
/// <c>/v1/admin/users</c>: provisioning and lifecycle for holders of the <c>admin</c> scope. Disabling
/// or deleting a user revokes its refresh tokens in PostgreSQL and its access tokens through the
/// revoked-users set, which every instance checks with each token (docs/adr/0024).
/// </summary>
public static class AdminUsersApi
{
    public static IEndpointRouteBuilder MapAdminUsersApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/admin/users").RequireAuthorization(ChatScopes.Admin).WithTags("Admin");
        group.MapPost("/", CreateUser).WithName("CreateUser")
            .WithSummary("Provision a user")
            .WithDescription("Creates a user of a tenant with a client id and a client secret, shown only in this answer. Scope `admin`.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/", ListUsers).WithName("ListUsers")
            .WithSummary("List users")
            .WithDescription("Users of every tenant, newest first, paged with `cursor`. Scope `admin`.");
        group.MapPost("/{userId:guid}/disable", DisableUser).WithName("DisableUser")
            .WithSummary("Disable a user")
            .WithDescription("Refuses the user's tokens from this moment on every instance, and new sign-ins. Scope `admin`.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/{userId:guid}/enable", EnableUser).WithName("EnableUser")
            .WithSummary("Re-enable a user")
            .WithDescription("Lets a disabled user sign in again. Scope `admin`.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapDelete("/{userId:guid}", DeleteUser).WithName("DeleteUser")
            .WithSummary("Delete a user")
            .WithDescription("Deletes the user and refuses their tokens at once. Scope `admin`.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/{userId:guid}/secret", RotateClientSecret).WithName("RotateClientSecret")
            .WithSummary("Rotate a client secret")
            .WithDescription("Issues a new client secret (shown once); the old one stops working. Scope `admin`.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        return endpoints;
    }

    public static async Task<Results<Created<CreatedUserResponse>, ValidationProblem, ProblemHttpResult>> CreateUser(
        CreateUserRequest request, UserProvisioner provisioner, AuditLog audit, HttpContext http, CancellationToken cancellationToken)
    {
        try
        {
            var user = await provisioner.CreateAsync(request.Name, request.Scopes, request.TenantId, cancellationToken);
            var scopes = string.Join(' ', user.Scopes);
            var actor = Actor(http);
            audit.UserProvisioned(user.UserId, user.Name, scopes, actor);
            return TypedResults.Created($"/v1/admin/users/{user.UserId}",
                new CreatedUserResponse(user.UserId, user.Name, user.TenantId, user.ClientId, user.ClientSecret, user.Scopes, user.CreatedAt));
        }
        catch (UserProvisioningException ex) when (ex.Errors.Count > 0)
        {
            return TypedResults.ValidationProblem(ex.Errors, ex.Message);
        }
        catch (UserProvisioningException ex)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict,
                extensions: new Dictionary<string, object?> { [ProblemDetailsDefaults.CodeKey] = ex.Code });
        }
    }

    /// <summary>Users in id order (ids are time-ordered UUIDv7), a page at a time.</summary>
    public static async Task<Results<Ok<UserPage>, ProblemHttpResult>> ListUsers(
        IdentityDbContext db, string? cursor, int? limit, CancellationToken cancellationToken)
    {
        var pageSize = limit ?? Cursor.DefaultLimit;
        if (pageSize is < 1 or > Cursor.MaxLimit)
        {
            return Problems.Problem(StatusCodes.Status400BadRequest, "invalid_limit", $"limit must be between 1 and {Cursor.MaxLimit}.");
        }

        Guid? after = null;
        if (cursor is not null)
        {
            if (!Guid.TryParse(Cursor.Decode(cursor), out var parsed))
            {
                return Problems.Problem(StatusCodes.Status400BadRequest, "invalid_cursor", "The cursor is not one this API issued.");
            }

            after = parsed;
        }

        var users = await db.Users.AsNoTracking()
            .Where(u => after == null || u.Id > after)
            .OrderBy(u => u.Id)
            .Take(pageSize + 1)
            .ToListAsync(cancellationToken);
        var next = users.Count > pageSize ? Cursor.Encode(users[pageSize - 1].Id.ToString()) : null;
        return TypedResults.Ok(new UserPage([.. users.Take(pageSize).Select(ToResponse)], next));
    }

    public static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> DisableUser(
        Guid userId, IdentityDbContext db, RevokedUsers revoked, IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations,
        OutboxSignal outbox, TimeProvider time, AuditLog audit, HttpContext http, CancellationToken cancellationToken)
    {
        if (await FindOtherUserAsync(db, userId, http, cancellationToken) is not { } user)
        {
            return NotFoundOrSelf(userId, http);
        }

        // Disabling again changes nothing and announces nothing; the first time, the event commits with the change.
        if (user.DisabledAt is null)
        {
            var now = time.GetUtcNow();
            user.DisabledAt = now;
            db.Enqueue(Topics.UserDisabled, user.Id.ToString(), new UserDisabled(user.Id, user.TenantId, user.Name, now), now);
            await db.SaveChangesAsync(cancellationToken);
            outbox.Notify();
        }

        await RevokeEverythingAsync(user, revoked, tokens, authorizations, cancellationToken);
        var actor = Actor(http);
        audit.UserChanged(user.Id, "disabled", actor);
        return TypedResults.Ok(ToResponse(user));
    }

    public static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> EnableUser(
        Guid userId, IdentityDbContext db, RevokedUsers revoked, OutboxSignal outbox, TimeProvider time, AuditLog audit, HttpContext http,
        CancellationToken cancellationToken)
    {
        if (await FindOtherUserAsync(db, userId, http, cancellationToken) is not { } user)
        {
            return NotFoundOrSelf(userId, http);
        }

        if (user.DisabledAt is not null)
        {
            var now = time.GetUtcNow();
            user.DisabledAt = null;
            db.Enqueue(Topics.UserEnabled, user.Id.ToString(), new UserEnabled(user.Id, user.TenantId, user.Name, now), now);
            await db.SaveChangesAsync(cancellationToken);
            outbox.Notify();

            // Tokens carry whole seconds and those of the revoked second stay refused: answer once a
            // token issued now falls after the cut-off, so the user can sign in as soon as we return.
            if (revoked.RevokedBefore(user.Id) is { } cutOff && cutOff > time.GetUtcNow())
            {
                await Task.Delay(cutOff - time.GetUtcNow(), time, cancellationToken);
            }
        }

        var actor = Actor(http);
        audit.UserChanged(user.Id, "enabled", actor);
        return TypedResults.Ok(ToResponse(user));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteUser(
        Guid userId, IdentityDbContext db, RevokedUsers revoked, IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations,
        IOpenIddictApplicationManager applications, OutboxSignal outbox, TimeProvider time, AuditLog audit, HttpContext http,
        CancellationToken cancellationToken)
    {
        if (await FindOtherUserAsync(db, userId, http, cancellationToken) is not { } user)
        {
            return NotFoundOrSelf(userId, http);
        }

        // Access tokens first: from here on nothing the user holds works, whatever happens next.
        await RevokeEverythingAsync(user, revoked, tokens, authorizations, cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await applications.FindByClientIdAsync(user.ClientId, cancellationToken) is { } application)
        {
            await applications.DeleteAsync(application, cancellationToken); // its tokens and authorizations go with it
        }

        var now = time.GetUtcNow();
        db.Users.Remove(user);
        db.Enqueue(Topics.UserDeleted, user.Id.ToString(), new UserDeleted(user.Id, user.TenantId, user.Name, now), now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Notify();
        var actor = Actor(http);
        audit.UserChanged(user.Id, "deleted", actor);
        return TypedResults.NoContent();
    }

    /// <summary>Issues a new client secret; the old one stops working at once (tokens already issued stay valid).</summary>
    public static async Task<Results<Ok<ClientSecretResponse>, ProblemHttpResult>> RotateClientSecret(
        Guid userId, IdentityDbContext db, UserProvisioner provisioner, AuditLog audit, HttpContext http, CancellationToken cancellationToken)
    {
        if (await db.Users.SingleOrDefaultAsync(u => u.Id == userId, cancellationToken) is not { } user)
        {
            return UserNotFound(userId);
        }

        var rotated = await provisioner.ResetSecretAsync(user, cancellationToken);
        var actor = Actor(http);
        audit.UserChanged(user.Id, "client secret rotated", actor);
        return TypedResults.Ok(new ClientSecretResponse(rotated.UserId, rotated.ClientId, rotated.ClientSecret));
    }

    private static async Task RevokeEverythingAsync(User user, RevokedUsers revoked, IOpenIddictTokenManager tokens,
        IOpenIddictAuthorizationManager authorizations, CancellationToken cancellationToken)
    {
        await revoked.RevokeAsync(user.Id, cancellationToken);
        await tokens.RevokeBySubjectAsync(user.Id.ToString(), cancellationToken);
        await authorizations.RevokeBySubjectAsync(user.Id.ToString(), cancellationToken);
    }

    /// <summary>An admin may not disable or delete itself: that would lock the last admin out.</summary>
    private static async Task<User?> FindOtherUserAsync(IdentityDbContext db, Guid userId, HttpContext http, CancellationToken cancellationToken) =>
        userId == http.CallerId() ? null : await db.Users.SingleOrDefaultAsync(u => u.Id == userId, cancellationToken);

    private static ProblemHttpResult NotFoundOrSelf(Guid userId, HttpContext http) =>
        userId == http.CallerId()
            ? Problems.Problem(StatusCodes.Status409Conflict, "cannot_change_self", "An admin cannot disable or delete its own user.")
            : UserNotFound(userId);

    private static ProblemHttpResult UserNotFound(Guid userId) => Problems.NotFound("user_not_found", $"No user {userId}.");

    private static string Actor(HttpContext http) => "user:" + (http.User.FindFirst(ChatClaims.Subject)?.Value ?? "unknown");

    private static UserResponse ToResponse(User user) =>
        new(user.Id, user.Name, user.TenantId, user.ClientId, user.Scopes, user.CreatedAt, user.DisabledAt);
}
