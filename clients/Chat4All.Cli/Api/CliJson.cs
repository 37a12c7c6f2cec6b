using System.Text.Json.Serialization;

namespace Chat4All.Cli.Api;

/// <summary>
/// The CLI's own files (profiles, upload states), snake_case like the wire. What it sends to and reads
/// from the API goes through the contract's one context, <c>ContractJsonContext</c>.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DictionaryKeyPolicy = JsonKnownNamingPolicy.Unspecified,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(Auth.Profile))]
[JsonSerializable(typeof(Files.UploadState))]
internal sealed partial class CliJson : JsonSerializerContext;
