using System.Net;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat4All.Bench;

/// <summary>
/// The "bare Kestrel ceiling": a minimal in-process server with the same two request shapes as the
/// scenarios but none of the work (no middleware, no auth, no database, no logging). Whatever it
/// sustains with this client on this machine bounds what Chat4All could sustain, so Chat4All's rate
/// divided by it isolates the platform's own cost from the client's and the machine's.
/// </summary>
internal sealed class CeilingServer(WebApplication app, Uri baseAddress) : IAsyncDisposable
{
    public const string TokenPath = "token";
    public const string MePath = "me";

    public Uri BaseAddress => baseAddress;

    public static async Task<CeilingServer> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        // An explicit endpoint wins over ASPNETCORE_URLS, which may be exported for the real host in
        // the same shell; port 0 lets the OS pick a free port.
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));

        var app = builder.Build();
        app.MapPost("/" + TokenPath, IssueTokenAsync);
        app.MapGet("/" + MePath, Me);
        await app.StartAsync(cancellationToken);

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new CeilingServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private static async Task<IResult> IssueTokenAsync(HttpRequest request)
    {
        // Read and look at the form like a real token endpoint would, so parsing is part of the ceiling.
        var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
        if (form["grant_type"] != "client_credentials" || string.IsNullOrEmpty(form["client_id"]))
        {
            return TypedResults.BadRequest();
        }

        return TypedResults.Ok(new TokenResponse("ceiling-" + form["client_id"].ToString(), "Bearer", 3600));
    }

    private static IResult Me(HttpRequest request) =>
        string.IsNullOrEmpty(request.Headers.Authorization)
            ? TypedResults.Unauthorized()
            : TypedResults.Ok(new MeResponse("00000000-0000-0000-0000-000000000000", ["messages", "files"]));

    internal sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string AccessToken,
        [property: JsonPropertyName("token_type")] string TokenType,
        [property: JsonPropertyName("expires_in")] int ExpiresIn);

    internal sealed record MeResponse(
        [property: JsonPropertyName("user_id")] string UserId,
        [property: JsonPropertyName("scopes")] IReadOnlyList<string> Scopes);
}
