using Chat4All.Contracts;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;

namespace Chat4All.ServiceDefaults.OpenApi;

/// <summary>
/// The error responses an operation can give because of the platform around it, read from the
/// endpoint's metadata rather than declared on every endpoint: 401 and 403 from its authorization,
/// 400 when it binds input, 404 when its route has parameters (a route constraint that does not match
/// is a 404 too), 429 when a state-changing request draws from a rate-limit budget, 500 everywhere.
/// Errors an endpoint declares itself (<c>ProducesProblem(409)</c>) keep their status and get the same
/// schema. Every error is <c>application/problem+json</c> with <c>code</c> and <c>trace_id</c>.
/// </summary>
internal sealed class StandardResponses : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var description = context.Description;
        var metadata = description.ActionDescriptor.EndpointMetadata;
        var anonymous = metadata.OfType<IAllowAnonymous>().Any();
        var scopes = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Where(ChatScopes.All.Contains).Distinct().ToList();
        operation.Responses ??= [];

        if (anonymous)
        {
            // Stated explicitly, so that no reader assumes a token is needed.
            operation.Security = [];
        }
        else
        {
            operation.Security =
            [
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(PlatformDocument.Bearer, context.Document)] = [] },
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(PlatformDocument.OAuth2, context.Document)] = scopes },
            ];
            Add(operation, StatusCodes.Status401Unauthorized, "No access token, or an expired, revoked or otherwise invalid one (`WWW-Authenticate: Bearer`).");
            if (scopes.Count > 0)
            {
                Add(operation, StatusCodes.Status403Forbidden, $"The token lacks the scope `{string.Join("`, `", scopes)}`, or the caller may not act on this resource.");
            }
        }

        var bindsInput = description.ParameterDescriptions.Any(p => p.Source != BindingSource.Services && p.Source != BindingSource.Special);
        if (bindsInput)
        {
            Add(operation, StatusCodes.Status400BadRequest, "The request is malformed or fails validation (`validation_failed` names each field in `errors`).");
        }

        if (description.ParameterDescriptions.Any(p => p.Source == BindingSource.Path))
        {
            Add(operation, StatusCodes.Status404NotFound, "No such resource (also: another tenant's, or an id that is not a UUID).");
        }

        var stateChanging = description.HttpMethod is { } method && !HttpMethods.IsGet(method) && !HttpMethods.IsHead(method);
        if (stateChanging && !anonymous && !metadata.OfType<DisableRateLimitingAttribute>().Any())
        {
            Add(operation, StatusCodes.Status429TooManyRequests, "Over the caller's rate-limit budget; `Retry-After` says when to try again.");
        }

        Add(operation, StatusCodes.Status500InternalServerError, "A bug: the problem's `trace_id` finds it in the logs.");

        foreach (var (status, response) in operation.Responses)
        {
            if (int.TryParse(status, out var code) && code >= 400 && response is OpenApiResponse concrete && IsProblem(concrete))
            {
                var schema = code == StatusCodes.Status400BadRequest
                    ? ProblemSchemas.ValidationProblemReference(context.Document!)
                    : ProblemSchemas.ProblemReference(context.Document!);
                concrete.Content ??= new Dictionary<string, OpenApiMediaType>();
                concrete.Content[ProblemSchemas.ProblemJson] = new OpenApiMediaType { Schema = schema };
                if (string.IsNullOrEmpty(concrete.Description) || concrete.Description == ReasonPhrases.GetReasonPhrase(code))
                {
                    concrete.Description = DefaultDescription(code);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>An error response documented with a problem body, or with none yet (the platform writes problems for those).</summary>
    private static bool IsProblem(OpenApiResponse response) =>
        response.Content is null || response.Content.Count == 0 || response.Content.ContainsKey(ProblemSchemas.ProblemJson);

    private static void Add(OpenApiOperation operation, int status, string description)
    {
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!operation.Responses!.ContainsKey(key))
        {
            operation.Responses[key] = new OpenApiResponse { Description = description };
        }
    }

    private static string DefaultDescription(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "The request is malformed or breaks a rule of its fields (`code` says which).",
        StatusCodes.Status401Unauthorized => "Not authenticated (no or a bad token, or a bad signature).",
        StatusCodes.Status403Forbidden => "The caller may not act on this resource (e.g. `not_a_member`), or the token lacks the scope.",
        StatusCodes.Status404NotFound => "No such resource (also: another tenant's).",
        StatusCodes.Status409Conflict => "Conflicts with the resource's current state.",
        StatusCodes.Status410Gone => "The resource expired.",
        StatusCodes.Status415UnsupportedMediaType => "The body's content type is not the one this operation reads.",
        StatusCodes.Status413PayloadTooLarge => "The body, or the file it announces, is over the limit.",
        StatusCodes.Status416RangeNotSatisfiable => "The requested range lies outside the file.",
        StatusCodes.Status422UnprocessableEntity => "Well-formed, but refused by a rule of the platform (`code` says which).",
        StatusCodes.Status503ServiceUnavailable => "A dependency is unavailable; try again.",
        _ => ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase + "." : "Error.",
    };
}
