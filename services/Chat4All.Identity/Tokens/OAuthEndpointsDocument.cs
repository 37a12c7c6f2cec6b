using System.ComponentModel;
using System.Text.Json.Nodes;
using Chat4All.ServiceDefaults.OpenApi;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Chat4All.Contracts.Auth;

namespace Chat4All.Identity.Tokens;

/// <summary>
/// Describes the endpoints OpenIddict serves itself — the token, refresh and revocation endpoints,
/// discovery and the signing keys — which are not minimal-API operations the generator could see
/// (docs/api.md §2, docs/adr/0055). Their errors are RFC 6749 bodies, except the throttle's 429 and
/// a malformed form's 400, which are problems like everywhere else.
/// </summary>
internal sealed class OAuthEndpointsDocument : IOpenApiDocumentTransformer
{
    private const string Form = "application/x-www-form-urlencoded";
    private const string Json = "application/json";
    private const string Tag = "Auth";

    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var tokenForm = await context.GetOrCreateSchemaAsync(typeof(TokenRequestForm), null, cancellationToken);
        var token = await context.GetOrCreateSchemaAsync(typeof(TokenResponse), null, cancellationToken);
        var error = await context.GetOrCreateSchemaAsync(typeof(OAuthError), null, cancellationToken);
        var revocationForm = await context.GetOrCreateSchemaAsync(typeof(RevocationRequestForm), null, cancellationToken);
        var discovery = await context.GetOrCreateSchemaAsync(typeof(DiscoveryDocument), null, cancellationToken);
        var keys = await context.GetOrCreateSchemaAsync(typeof(JsonWebKeySet), null, cancellationToken);
        document.Paths ??= [];
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag
        {
            Name = Tag, Description = "OAuth 2.0 client credentials, rotating refresh tokens, revocation and discovery (docs/api.md §2).",
        });

        document.Paths["/auth/token"] = Post(document, "IssueToken", "Get an access token (client credentials)",
            "OAuth 2.0 client credentials (RFC 6749 §4.4): `grant_type=client_credentials` with the user's `client_id` and " +
            "`client_secret` in the form or as HTTP Basic. Answers an access token (15 minutes) and a refresh token. " +
            "Throttled per address and per client id.",
            Body(tokenForm, new JsonObject { ["grant_type"] = "client_credentials", ["client_id"] = "c4a_alice", ["client_secret"] = "s3cr3t" }),
            Ok("The tokens.", token, TokenExample()), error);
        document.Paths["/auth/refresh"] = Post(document, "RefreshToken", "Rotate a refresh token",
            "`grant_type=refresh_token`: answers new access and refresh tokens; the old refresh token is spent, and using it " +
            "again revokes every token of its family (docs/adr/0025, 0037).",
            Body(tokenForm, new JsonObject { ["grant_type"] = "refresh_token", ["client_id"] = "c4a_alice", ["client_secret"] = "s3cr3t", ["refresh_token"] = "CfDJ8..." }),
            Ok("The new tokens.", token, TokenExample()), error);
        document.Paths["/auth/revoke"] = Post(document, "RevokeToken", "Revoke a refresh token",
            "RFC 7009 revocation of a refresh token and its family; always 200 for a token that is unknown or already revoked.",
            Body(revocationForm, new JsonObject { ["token"] = "CfDJ8...", ["token_type_hint"] = "refresh_token", ["client_id"] = "c4a_alice", ["client_secret"] = "s3cr3t" }),
            new OpenApiResponse { Description = "Revoked (or nothing to revoke)." }, error);
        document.Paths["/.well-known/openid-configuration"] = Get(document, "GetDiscoveryDocument", "Discovery document",
            "The authorization server's metadata (RFC 8414): issuer, endpoints, grant types and scopes. Any JWT library configures itself from it.",
            Ok("The metadata.", discovery, null));
        document.Paths["/.well-known/jwks"] = Get(document, "GetSigningKeys", "Signing keys",
            "The public keys access tokens are signed with (RFC 7517), for validating tokens outside the platform.",
            Ok("The key set.", keys, null));
    }

    private static OpenApiPathItem Post(OpenApiDocument document, string id, string summary, string description, OpenApiRequestBody body,
        OpenApiResponse ok, IOpenApiSchema error)
    {
        var operation = Operation(document, id, summary, description, ok);
        operation.RequestBody = body;
        operation.Responses!["400"] = Error("An invalid request, grant or grant type (`invalid_request`, `invalid_grant`, `unsupported_grant_type`). " +
            "A form that cannot be read at all is a problem instead.", error, document);
        operation.Responses["401"] = Error("The client is unknown, disabled or its secret is wrong (`invalid_client`).", error, null);
        operation.Responses["429"] = ProblemSchemas.Response(document, "Too many attempts from this address or for this client; `Retry-After` says when to try again.");
        return new OpenApiPathItem { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Post] = operation } };
    }

    private static OpenApiPathItem Get(OpenApiDocument document, string id, string summary, string description, OpenApiResponse ok) =>
        new() { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Get] = Operation(document, id, summary, description, ok) } };

    private static OpenApiOperation Operation(OpenApiDocument document, string id, string summary, string description, OpenApiResponse ok) => new()
    {
        OperationId = id,
        Summary = summary,
        Description = description,
        Tags = new HashSet<OpenApiTagReference> { new(Tag, document) },
        Security = [],
        Responses = new OpenApiResponses
        {
            ["200"] = ok,
            ["500"] = ProblemSchemas.Response(document, "A bug: the problem's `trace_id` finds it in the logs."),
        },
    };

    private static OpenApiRequestBody Body(IOpenApiSchema schema, JsonObject example) => new()
    {
        Required = true,
        Content = new Dictionary<string, OpenApiMediaType> { [Form] = new OpenApiMediaType { Schema = schema, Example = example } },
    };

    private static OpenApiResponse Ok(string description, IOpenApiSchema schema, JsonObject? example) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { [Json] = new OpenApiMediaType { Schema = schema, Example = example } },
    };

    private static OpenApiResponse Error(string description, IOpenApiSchema schema, OpenApiDocument? withProblem)
    {
        var response = Ok(description, schema, null);
        if (withProblem is not null)
        {
            response.Content![ProblemSchemas.ProblemJson] = new OpenApiMediaType { Schema = ProblemSchemas.ProblemReference(withProblem) };
        }

        return response;
    }

    private static JsonObject TokenExample() => new()
    {
        ["access_token"] = "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
        ["token_type"] = "Bearer",
        ["expires_in"] = 899,
        ["scope"] = "messages files offline_access",
        ["refresh_token"] = "CfDJ8...",
    };
}
