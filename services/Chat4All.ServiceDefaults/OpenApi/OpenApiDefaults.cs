using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;

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
