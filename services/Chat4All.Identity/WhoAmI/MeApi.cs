using System.ComponentModel.DataAnnotations;
using Chat4All.Contracts;
using Chat4All.Identity.Data;
using Chat4All.Identity.Users;
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

namespace Chat4All.Identity.WhoAmI;

/// <summary>
/// <c>/v1/me</c>: who the bearer token says the caller is, with their display name; <c>PATCH</c>
/// renames them. An admin renames anyone with <c>PATCH /v1/admin/users/{id}</c>. A rename reaches
/// the other services' read models through <c>user.renamed</c> (docs/adr/0040).
/// </summary>
public static class MeApi
{
    public static IEndpointRouteBuilder MapMeApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v1/me", GetMe).RequireAuthorization().WithTags("Identity").WithName("GetMe")
            .WithSummary("Who am I")
            .WithDescription("The caller's user id, tenant, granted scopes and display name.");
        endpoints.MapPatch("/v1/me", RenameMe).RequireAuthorization().WithTags("Identity").WithName("RenameMe")
            .WithSummary("Change my display name")
            .WithDescription("Sets the caller's display name: 1 to 100 printable characters, trimmed, unique in the tenant. " +
                "Other services learn the new name from the user.renamed event.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        endpoints.MapPatch("/v1/admin/users/{userId:guid}", RenameUser).RequireAuthorization(ChatScopes.Admin).WithTags("Admin").WithName("RenameUser")
            .WithSummary("Rename a user")
            .WithDescription("Sets any user's display name, with the same rules as PATCH /v1/me.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return endpoints;
    }

    public static async Task<Ok<MeResponse>> GetMe(HttpContext http, IdentityDbContext db, CancellationToken cancellationToken)
    {
        var subject = http.User.FindFirst(ChatClaims.Subject)!.Value;
        var name = Guid.TryParse(subject, out var userId)
            ? await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => u.Name).SingleOrDefaultAsync(cancellationToken)
            : null;
        return TypedResults.Ok(new MeResponse(subject, http.User.FindFirst(ChatClaims.TenantId)?.Value, name, [.. http.User.GetScopes()]));
    }

    public static Task<Results<Ok<RenamedUserResponse>, ValidationProblem, ProblemHttpResult>> RenameMe(
        RenameRequest request, HttpContext http, UserProvisioner provisioner, CancellationToken cancellationToken) =>
        RenameAsync(http.CallerId(), request, provisioner, cancellationToken);

    public static Task<Results<Ok<RenamedUserResponse>, ValidationProblem, ProblemHttpResult>> RenameUser(
        Guid userId, RenameRequest request, UserProvisioner provisioner, CancellationToken cancellationToken) =>
        RenameAsync(userId, request, provisioner, cancellationToken);

    private static async Task<Results<Ok<RenamedUserResponse>, ValidationProblem, ProblemHttpResult>> RenameAsync(
        Guid userId, RenameRequest request, UserProvisioner provisioner, CancellationToken cancellationToken)
    {
        try
        {
            return await provisioner.RenameAsync(userId, request.Name, cancellationToken) is { } user
                ? TypedResults.Ok(new RenamedUserResponse(user.Id, user.TenantId, user.Name))
                : Problems.NotFound("user_not_found", $"No user {userId}.");
        }
        catch (UserProvisioningException ex) when (ex.Errors.Count > 0)
        {
            return TypedResults.ValidationProblem(ex.Errors, ex.Message);
        }
        catch (UserProvisioningException ex)
        {
            return Problems.Problem(StatusCodes.Status409Conflict, ex.Code, ex.Message);
        }
    }
}
