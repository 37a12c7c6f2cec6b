using Chat4All.Contracts;
using Microsoft.AspNetCore.Http;

namespace Chat4All.ServiceDefaults.Auth;

public static class CallerExtensions
{
    /// <summary>The authenticated caller's user id (the token's <c>sub</c>); only for endpoints behind authorization.</summary>
    public static Guid CallerId(this HttpContext http) => Guid.Parse(http.User.FindFirst(ChatClaims.Subject)!.Value);
}
