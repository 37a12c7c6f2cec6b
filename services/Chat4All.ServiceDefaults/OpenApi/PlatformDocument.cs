using Chat4All.Contracts;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Chat4All.ServiceDefaults.OpenApi;

/// <summary>
/// What the document says once, not per operation: who it is, the two ways to authenticate (a bearer
/// JWT, obtained with OAuth 2.0 client credentials at <c>/auth/token</c>), what each tag groups, and
/// the error schemas.
/// </summary>
internal sealed class PlatformDocument : IOpenApiDocumentTransformer
{
    public const string Bearer = "bearer";
    public const string OAuth2 = "oauth2";

    /// <summary>Tags of the endpoints; a tag not listed here is still served, only without a description.</summary>
    private static readonly Dictionary<string, string> TagDescriptions = new(StringComparer.Ordinal)
    {
        ["Identity"] = "Who the caller is (docs/api.md §3).",
        ["Admin"] = "User provisioning and lifecycle; scope `admin` (docs/api.md §3.2).",
        ["Conversations"] = "Private and group conversations, their list and read positions (docs/api.md §4).",
        ["Messages"] = "Sending messages (idempotent) and reading history by `seq` (docs/api.md §4).",
        ["Channel addresses"] = "Where a user is reachable on each channel, in their order of preference (docs/api.md §5).",
        ["Delivery"] = "Signed webhooks of the channel providers (docs/api.md §5.3).",
        ["Delivery operations"] = "Dead-lettered deliveries and their replay; scope `admin` (docs/api.md §5).",
        ["Channel simulator"] = "The simulated channel providers: outages and inbound messages; scope `admin` (docs/api.md §5).",
        ["Files"] = "Resumable chunked uploads, file metadata and downloads; scope `files` (docs/api.md §6).",
        ["Realtime"] = "Presence; the WebSocket `/ws` is described by the AsyncAPI document at `/asyncapi/v1.json` (docs/api.md §7, §8).",
    };

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Chat4All API",
            Version = "v1",
            Description = "REST API of the Chat4All messaging platform. Every error is an `application/problem+json` body with a " +
                "stable `code` and the request's `trace_id`. Live events arrive over the WebSocket `/ws` (see `/asyncapi/v1.json`). " +
                "Interactive reference: `/docs`.",
        };

        // The generator writes the request's base address with a trailing slash; paths already start with one.
        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }

        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "An RS256 access token from `/auth/token`, in the `Authorization` header only (15 minutes).",
        };
        document.Components.SecuritySchemes[OAuth2] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.OAuth2,
            Description = "OAuth 2.0 client credentials: each user is a client (`client_id`, `client_secret`).",
            Flows = new OpenApiOAuthFlows
            {
                ClientCredentials = new OpenApiOAuthFlow
                {
                    TokenUrl = new Uri("/auth/token", UriKind.Relative),
                    RefreshUrl = new Uri("/auth/refresh", UriKind.Relative),
                    Scopes = new Dictionary<string, string>
                    {
                        [ChatScopes.Messages] = "Conversations, messages, presence and channel addresses.",
                        [ChatScopes.Files] = "Uploads and downloads.",
                        [ChatScopes.Admin] = "User administration and delivery operations.",
                    },
                },
            },
        };

        foreach (var tag in document.Tags ?? new HashSet<OpenApiTag>())
        {
            if (tag.Name is { } name && TagDescriptions.TryGetValue(name, out var description))
            {
                tag.Description = description;
            }
        }

        ProblemSchemas.ProblemReference(document);

        // Operation transformers have run: every problem body now refers to Problem or ValidationProblem,
        // so the framework's own problem schemas are unused (a leftover reference fails redocly lint).
        document.Components.Schemas?.Remove("ProblemDetails");
        document.Components.Schemas?.Remove("HttpValidationProblemDetails");
        return Task.CompletedTask;
    }
}
