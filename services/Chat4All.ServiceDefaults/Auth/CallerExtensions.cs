using Chat4All.Contracts;
using Microsoft.AspNetCore.Http;

namespace Chat4All.ServiceDefaults.Auth;

public static class CallerExtensions
{
    /// <summary>The authenticated caller's user id (the token's <c>sub</c>); only for endpoints behind authorization.</summary>
    public static Guid CallerId(this HttpContext http) => Guid.Parse(http.User.FindFirst(ChatClaims.Subject)!.Value);

    /// <summary>
    /// The caller's tenant (the token's <c>tenant_id</c>). Identity always issues it; a token without one
    /// belongs to no tenant (<see cref="Guid.Empty"/>), so it sees nothing rather than everything.
    /// </summary>
    public static Guid CallerTenantId(this HttpContext http) =>
        Guid.TryParse(http.User.FindFirst(ChatClaims.TenantId)?.Value, out var tenant) ? tenant : Guid.Empty;
}
