using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Chat4All.ServiceDefaults.OpenApi;

/// <summary>
/// Examples on the leaves of every schema, so that each request and response body has a complete
/// example assembled from its properties (the docs page and code generators show it): ids are UUIDv7,
/// times RFC 3339 UTC, numbers the least the schema allows. A property that already has an example keeps it.
/// </summary>
internal sealed class SchemaExamples : IOpenApiSchemaTransformer
{
    private const string Id = "0192f5a0-7c1e-7a3b-9c8d-1e2f3a4b5c6d";
    private const string Time = "2026-12-04T22:10:00+00:00";

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (schema.Examples is { Count: > 0 } || schema.Enum is { Count: > 0 } || schema.Type is not { } type)
        {
            return Task.CompletedTask;
        }

        var example = schema.Format switch
        {
            "uuid" => JsonValue.Create(Id),
            "date-time" => JsonValue.Create(Time),
            "uri" => JsonValue.Create("https://chat4all.example/files/" + Id),
            _ when type.HasFlag(JsonSchemaType.Integer) => Least(schema, 1),
            _ when type.HasFlag(JsonSchemaType.Number) => Least(schema, 1),
            _ when type.HasFlag(JsonSchemaType.Boolean) => JsonValue.Create(true),
            _ when type.HasFlag(JsonSchemaType.String) && schema.Pattern is null => TextFor(context.JsonPropertyInfo?.Name, schema),
            _ => null,
        };
        if (example is not null)
        {
            schema.Examples = [example];
        }

        return Task.CompletedTask;
    }

    private static JsonValue Least(OpenApiSchema schema, long fallback) =>
        decimal.TryParse(schema.Minimum, NumberStyles.Float, CultureInfo.InvariantCulture, out var minimum)
            ? Math.Ceiling(minimum) == minimum ? JsonValue.Create((long)minimum) : JsonValue.Create(minimum)
            : JsonValue.Create(fallback);

    private static JsonValue? TextFor(string? property, OpenApiSchema schema)
    {
        var text = property switch
        {
            "channel" or "fallback_channel" => "whatsapp",
            "type" => "text",
            "text" => "hello bob",
            "name" => "alice",
            "mime_type" => "video/mp4",
            "filename" => "video.mp4",
            "checksum_sha256" => "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "address" => "+5511999990000",
            _ => null,
        };
        return text is not null && (schema.MaxLength is null || text.Length <= schema.MaxLength) && text.Length >= (schema.MinLength ?? 0)
            ? JsonValue.Create(text)
            : null;
    }
}
