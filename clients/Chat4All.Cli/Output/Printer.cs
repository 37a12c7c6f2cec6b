using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat4All.Cli.Api;
using Chat4All.Contracts.Events;

namespace Chat4All.Cli.Output;

public enum OutputFormat
{
    Text,
    Json,
}

/// <summary>
/// Writes results to stdout — text for people, one JSON document (or one per line for streams) for
/// scripts — and errors to stderr, in the same format.
/// </summary>
public sealed class Printer(CliContext context, OutputFormat format)
{
    /// <summary>
    /// Output is read by people and scripts, never embedded in HTML: '+', '&lt;', non-ASCII text stay as
    /// they are instead of becoming \u002B escapes (JSON requires escaping only quotes, backslashes and controls).
    /// </summary>
    private static readonly JsonSerializerOptions OutputJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly JsonWriterOptions OutputWriter = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public OutputFormat Format { get; } = format;

    /// <summary>The terminal's width when stdout is one (tables fit it), else null.</summary>
    public int? Width => context.TerminalWidth;

    public bool Json => Format == OutputFormat.Json;

    public TextWriter Out => context.Out;

    public TextWriter Error => context.Error;

    public void Line(string text) => context.Out.WriteLine(text);

    /// <summary>The API's own JSON body, as received (re-serialised compactly).</summary>
    public void Raw(string json)
    {
        using var document = JsonDocument.Parse(json);
        context.Out.WriteLine(Compact(document.RootElement));
    }

    public void Document(JsonObject value) => context.Out.WriteLine(value.ToJsonString(OutputJson));

    /// <summary>One JSON value on one line, with only the escapes JSON requires.</summary>
    public static string Compact(JsonElement value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, OutputWriter))
        {
            value.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public void Notice(string text) => context.Error.WriteLine(text);

    public void Failure(CliException error)
    {
        if (!Json)
        {
            context.Error.WriteLine(error.Message);
            return;
        }

        var body = new JsonObject { ["message"] = error.Message, ["exit_code"] = error.ExitCode };
        if (error is ApiException api)
        {
            body["status"] = (int)api.Status;
            body["code"] = api.Code;
            if (api.Problem is { } problem)
            {
                body["problem"] = JsonSerializer.SerializeToNode(problem, CliJson.Default.ApiProblem);
            }
        }

        context.Error.WriteLine(new JsonObject { ["error"] = body }.ToJsonString(OutputJson));
    }

    public static string Time(DateTimeOffset value) => value.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static string Bytes(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var unit = 0;
        while (bytes >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes:0} {units[unit]}" : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {units[unit]}");
    }

    public static string Describe(MessagePayload payload) => payload.Type switch
    {
        "text" => payload.Text ?? "",
        "file" => $"[file {payload.FileId}]",
        _ => $"[{payload.Type}]",
    };
}
