using Chat4All.Contracts;
using Microsoft.AspNetCore.Authorization;
using OpenIddict.Abstractions;

namespace Chat4All.ServiceDefaults.Auth;

/// <summary>One authorization policy per OAuth scope, named after it (e.g. <c>admin</c>).</summary>
public static class ScopePolicies
{
    public static void AddScopePolicies(this AuthorizationOptions options)
    {
        foreach (var scope in ChatScopes.All)
        {
            options.AddPolicy(scope, policy => policy.RequireAuthenticatedUser().RequireAssertion(ctx => ctx.User.HasScope(scope)));
        }
    }
}
