using System.Text.Json.Nodes;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.OpenApi;

namespace Chat4All.ServiceDefaults.OpenApi;

/// <summary>
/// The error bodies as they are on the wire (docs/api.md §1.2): an RFC 9457 problem that always
/// carries <c>code</c> and <c>trace_id</c> (<see cref="ProblemDetailsDefaults"/>), and its
/// validation form with <c>errors</c>. Shared components of the document, referenced by every error
/// response.
/// </summary>
public static class ProblemSchemas
{
    public const string Problem = "Problem";
    public const string ValidationProblem = "ValidationProblem";
    public const string ProblemJson = "application/problem+json";

    public static OpenApiSchemaReference ProblemReference(OpenApiDocument document) => Ensure(document, Problem);

    public static OpenApiSchemaReference ValidationProblemReference(OpenApiDocument document) => Ensure(document, ValidationProblem);

    /// <summary>An error response with a problem body, for operations a transformer writes by hand.</summary>
    public static OpenApiResponse Response(OpenApiDocument document, string description) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { [ProblemJson] = new OpenApiMediaType { Schema = ProblemReference(document) } },
    };

    private static OpenApiSchemaReference Ensure(OpenApiDocument document, string name)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        if (!document.Components.Schemas.ContainsKey(Problem))
        {
            document.Components.Schemas[Problem] = Build(validation: false);
            document.Components.Schemas[ValidationProblem] = Build(validation: true);
        }

        return new OpenApiSchemaReference(name, document);
    }

    private static OpenApiSchema Build(bool validation)
    {
        var properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = Text("A URI naming the kind of problem.", "https://tools.ietf.org/html/rfc9110#section-15.5.5"),
            ["title"] = Text("A short summary of the kind of problem.", validation ? "One or more validation errors occurred." : "Not Found"),
            ["status"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Integer, Format = "int32", Description = "The HTTP status code.", Examples = [validation ? 400 : 404],
            },
            ["detail"] = Text("What went wrong with this request, for people.",
                validation ? "The request is not valid." : "The conversation does not exist."),
            ["instance"] = Text("The request path the problem is about, when set.", "/v1/conversations/0192f5a0-7c1e-7a3b-9c8d-1e2f3a4b5c6d"),
            [ProblemDetailsDefaults.CodeKey] = Text(
                "Stable machine-readable code (`not_a_member`, `duplicate_chunk`, `rate_limited`, `validation_failed`, ...).",
                validation ? "validation_failed" : "conversation_not_found"),
            [ProblemDetailsDefaults.TraceIdKey] = Text("W3C trace id of the request: finds it in the logs and traces.", "4bf92f3577b34da6a3ce929d0e0e4736"),
        };
        if (validation)
        {
            properties["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "Messages per invalid field (snake_case names as in the request).",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
                Examples = [new JsonObject { ["text"] = new JsonArray("The field text must be a string with a maximum length of 4096.") }],
            };
        }

        return new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = validation
                ? "A 400 problem for input that failed validation: `code` is `validation_failed` and `errors` names each field."
                : "An RFC 9457 problem. Some problems add fields of their own (e.g. `missing_chunks`, `max_file_size`, `user_ids`).",
            Properties = properties,
            Required = new HashSet<string> { "status", ProblemDetailsDefaults.CodeKey, ProblemDetailsDefaults.TraceIdKey },
        };
    }

    private static OpenApiSchema Text(string description, string example) =>
        new() { Type = JsonSchemaType.String, Description = description, Examples = [example] };
}
