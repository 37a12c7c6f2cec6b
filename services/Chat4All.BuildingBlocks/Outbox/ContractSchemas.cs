using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization.Metadata;
using Chat4All.Contracts;

namespace Chat4All.BuildingBlocks.Outbox;

/// <summary>
/// The JSON Schema of a contract record (an event, a frame's data) exactly as <see cref="ContractJson.Options"/>
/// writes it: snake_case names, the same number handling. docs/events and the AsyncAPI document are
/// generated from it (docs/adr/0056).
/// </summary>
public static class ContractSchemas
{
    // The serializer's options, made resolvable for the schema exporter.
    private static readonly JsonSerializerOptions Resolvable = new(ContractJson.Options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    private static readonly JsonSchemaExporterOptions Exporter = new() { TreatNullObliviousAsNonNullable = true };

    public static JsonNode Of(Type type) => Resolvable.GetJsonSchemaAsNode(type, Exporter);
}
