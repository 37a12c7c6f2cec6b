using System.ComponentModel.DataAnnotations;
using Chat4All.Contracts;
using Chat4All.ServiceDefaults.Audit;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Chat4All.Identity.Users;

public sealed record CreateUserRequest(
    [property: Required, StringLength(UserProvisioner.MaxNameLength, MinimumLength = 1)] string Name,
    IReadOnlyList<string>? Scopes,
    Guid? TenantId);

public sealed record CreatedUserResponse(Guid UserId, string Name, Guid TenantId, string ClientId, string ClientSecret,
    IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt);

/// <summary><c>POST /v1/admin/users</c>: provisioning for holders of the <c>admin</c> scope.</summary>
public static class AdminUsersApi
{
    public static IEndpointRouteBuilder MapAdminUsersApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/admin/users").RequireAuthorization(ChatScopes.Admin).WithTags("Admin");
        group.MapPost("/", CreateUser).WithName("CreateUser");
        return endpoints;
    }

    public static async Task<Results<Created<CreatedUserResponse>, ValidationProblem, ProblemHttpResult>> CreateUser(
        CreateUserRequest request, UserProvisioner provisioner, AuditLog audit, HttpContext http, CancellationToken cancellationToken)
    {
        try
        {
            var user = await provisioner.CreateAsync(request.Name, request.Scopes, request.TenantId, cancellationToken);
            var actor = "user:" + (http.User.FindFirst(ChatClaims.Subject)?.Value ?? "unknown");
            var scopes = string.Join(' ', user.Scopes);
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
}
