using Scalar.AspNetCore;

namespace Chat4All.Host.ApiDocs;

/// <summary>
/// What a newcomer opens first, served by every host whatever its targets: a landing page at
/// <c>/</c>, the interactive API reference at <c>/docs</c> (Scalar, its script served from the
/// package itself, so it works with no internet), and the AsyncAPI document (docs/adr/0055).
/// </summary>
public static class ApiDocsExtensions
{
    public const string DocsPath = "/docs";

    // The pages load nothing from elsewhere: this policy would block it if they tried.
    private const string LandingPolicy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";
    private const string DocsPolicy = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'";

    public static IEndpointRouteBuilder MapApiDocs(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", (HttpContext http) =>
        {
            http.Response.Headers.ContentSecurityPolicy = LandingPolicy;
            return TypedResults.Content(LandingPage.Html, "text/html; charset=utf-8");
        }).AllowAnonymous().ExcludeFromDescription().WithName("LandingPage");

        endpoints.MapGet(AsyncApiDocument.Path, () => TypedResults.Content(AsyncApiDocument.ToJson(), "application/json"))
            .AllowAnonymous().ExcludeFromDescription().WithName("AsyncApiDocument");

        endpoints.MapScalarApiReference(DocsPath, (options, http) =>
            {
                http.Response.Headers.ContentSecurityPolicy = DocsPolicy;
                options.WithTitle("Chat4All API").WithOpenApiRoutePattern("/openapi/{documentName}.json");
                options.Telemetry = false; // no calls home: the page must work offline
                options.DefaultFonts = false; // the default fonts come from Scalar's CDN
                options.ShowDeveloperTools = DeveloperToolsVisibility.Never; // its toolbar links to Scalar's hosted services
                options.Agent = new ScalarAgentOptions { Disabled = true }; // the AI chat is a hosted service too
                options.Mcp = new ScalarMcpOptions { Disabled = true };
            })
            .AllowAnonymous();
        return endpoints;
    }
}

/// <summary>The page at <c>/</c>: where everything a person or a program needs is.</summary>
internal static class LandingPage
{
    public const string Html = """
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>Chat4All</title>
          <style>
            body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
            a { color: #0b57d0; } code { background: #f2f2f2; padding: 0 .25rem; }
            li { margin: .35rem 0; }
          </style>
        </head>
        <body>
          <h1>Chat4All</h1>
          <p>A multi-channel messaging platform: REST to send, WebSocket to watch, simulated WhatsApp, Instagram, Telegram, Messenger and SMS to deliver.</p>
          <h2>Explore</h2>
          <ul>
            <li><a href="/docs">API reference</a>: every operation, its schemas, errors and examples; try requests with a token.</li>
            <li><a href="/console/">Web console</a>: sign in with a client id and secret, chat, upload files.</li>
            <li><a href="/openapi/v1.json">OpenAPI document</a> (<code>/openapi/v1.json</code>): the REST API for code generators.</li>
            <li><a href="/asyncapi/v1.json">AsyncAPI document</a> (<code>/asyncapi/v1.json</code>): the WebSocket <code>/ws</code> frames and the bus events.</li>
          </ul>
          <h2>Operations</h2>
          <ul>
            <li><a href="/health">/health</a>: the process is alive.</li>
            <li><a href="/ready">/ready</a>: its dependencies (PostgreSQL, Redis, ...) answer.</li>
          </ul>
          <p>Get a token: <code>POST /auth/token</code> with <code>grant_type=client_credentials</code>, <code>client_id</code> and <code>client_secret</code>.</p>
        </body>
        </html>
        """;
}
