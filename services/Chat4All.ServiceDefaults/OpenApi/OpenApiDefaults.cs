using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Chat4All.ServiceDefaults.OpenApi;

/// <summary>
/// The one OpenAPI document (<c>/openapi/v1.json</c>) and the transformers that make it complete
/// without repeating the same metadata on every endpoint: security, error responses, examples
/// (docs/adr/0055). Services add their own transformers to <see cref="DocumentName"/> for what only
/// they know (identity: the OAuth endpoints OpenIddict serves).
/// </summary>
public static class OpenApiDefaults
{
    public const string DocumentName = "v1";

    public static IServiceCollection AddChat4AllOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, o =>
        {
            o.AddDocumentTransformer<PlatformDocument>();
            o.AddOperationTransformer<StandardResponses>();
            o.AddSchemaTransformer<SchemaExamples>();
        });

    /// <summary>Adds a transformer of a service's own to the platform's document.</summary>
    public static IServiceCollection AddOpenApiDocumentTransformer<TTransformer>(this IServiceCollection services)
        where TTransformer : class, IOpenApiDocumentTransformer =>
        services.Configure<OpenApiOptions>(DocumentName, o => o.AddDocumentTransformer<TTransformer>());
}

/// <summary>Per-endpoint additions to the document for what the generator cannot see.</summary>
public static class OpenApiEndpointExtensions
{
    /// <summary>
    /// Documents a body the handler reads raw from the request (the generator sees none). Not
    /// <c>Accepts</c>: that metadata also makes routing refuse other content types with a bare 415,
    /// before the handler's own checks and their problem codes run.
    /// </summary>
    public static TBuilder WithRawRequestBody<TBuilder>(this TBuilder builder, string contentType, string description)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    [contentType] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } },
                },
            };
            return Task.CompletedTask;
        });
}
