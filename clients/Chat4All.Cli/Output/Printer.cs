using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat4All.Contracts;
using Chat4All.Cli.Api;
using Chat4All.Contracts.Events;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Chat4All.Cli.Output;

public enum OutputFormat
{
    Text,
    Json,
}

/// <summary>
/// Writes results to stdout — text for people, one JSON document (or one per line for streams) for
/// scripts — and errors to stderr, in the same format. Text goes through Spectre.Console: on a
/// terminal, bordered tables fitted to its width and colour for statuses, presence and errors; when
/// stdout is not a terminal, or <c>NO_COLOR</c> is set, no escape sequence at all (docs/adr/0057).
/// </summary>
public sealed class Printer(CliContext context, OutputFormat format)
{
    /// <summary>
    /// The width text is laid out in when stdout is not a terminal: wide enough that no cell is wrapped
    /// or cut, so a redirected table is the same whatever window the command was run from.
    /// </summary>
    private const int PlainWidth = 4096;

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

    /// <summary>Colour on stdout: a terminal, and neither <c>NO_COLOR</c> (https://no-color.org) nor <c>TERM=dumb</c>.</summary>
    public bool Colour => context.TerminalWidth is not null && ColourAllowed(context);

    public void Line(string text) => context.Out.WriteLine(text);

    /// <summary>
    /// A line of Spectre markup (<c>[green]delivered[/]</c>; text inside escaped with <see cref="Markup.Escape"/>):
    /// styled on a colour terminal, the bare text otherwise.
    /// </summary>
    public void Styled(string markup)
    {
        if (Colour)
        {
            Render(new Markup(markup), context.Out, colour: true, context.TerminalWidth!.Value);
        }
        else
        {
            context.Out.WriteLine(Markup.Remove(markup));
        }
    }

    /// <summary>
    /// A table of a list. On a terminal: rounded borders, bold headers, laid out within the window
    /// (long cells wrap, columns marked <c>NoWrap</c> keep ids whole). Otherwise: borderless columns
    /// padded to their widest cell, one row per line, nothing cut — stable for grep and awk.
    /// </summary>
    public void Table(Table table)
    {
        var terminal = context.TerminalWidth is not null;
        table.Border = terminal ? TableBorder.Rounded : TableBorder.None;
        if (Colour)
        {
            table.BorderStyle = new Style(Color.Grey);
        }

        Render(table, context.Out, Colour, context.TerminalWidth ?? PlainWidth);
    }

    /// <summary>A table with these column headers (bold on a colour terminal).</summary>
    public Table NewTable(params string[] headers)
    {
        var table = new Table();
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(new Markup(Colour ? $"[bold]{Markup.Escape(header)}[/]" : Markup.Escape(header))));
        }

        return table;
    }

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
            if (context.ErrorIsTerminal && ColourAllowed(context))
            {
                Render(new Text(error.Message, new Style(Color.Red)), context.Error, colour: true, PlainWidth);
            }
            else
            {
                context.Error.WriteLine(error.Message);
            }

            return;
        }

        var body = new JsonObject { ["message"] = error.Message, ["exit_code"] = error.ExitCode };
        if (error is ApiException api)
        {
            body["status"] = (int)api.Status;
            body["code"] = api.Code;
            if (api.Problem is { } problem)
            {
                body["problem"] = JsonSerializer.SerializeToNode(problem, ContractJsonContext.Default.ApiProblem);
            }
        }

        context.Error.WriteLine(new JsonObject { ["error"] = body }.ToJsonString(OutputJson));
    }

    /// <summary>A delivery status or presence as markup: green when it arrived (or is online), red when it failed, grey when offline.</summary>
    public static string Status(string status) => $"[{StatusColour(status)}]{Markup.Escape(status)}[/]";

    private static string StatusColour(string status) => status switch
    {
        "delivered" or "read" or "online" or "completed" => "green",
        "failed" or "rejected" or "expired" => "red",
        "offline" => "grey",
        _ => "yellow",
    };

    private static bool ColourAllowed(CliContext context) => context.Variable("NO_COLOR") is null && context.Variable("TERM") is not "dumb";

    /// <summary>
    /// Lays <paramref name="renderable"/> out at <paramref name="width"/> columns into <paramref name="target"/>,
    /// with ANSI styles only when <paramref name="colour"/>. Spectre never sees the real console (no probing of
    /// the process's own terminal or environment), and trailing padding is trimmed from every line.
    /// </summary>
    private static void Render(IRenderable renderable, TextWriter target, bool colour, int width)
    {
        using var buffer = new StringWriter(CultureInfo.InvariantCulture);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(buffer),
            Ansi = colour ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = colour ? ColorSystemSupport.Standard : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Enrichment = new ProfileEnrichment { UseDefaultEnrichers = false },
            EnvironmentVariables = new Dictionary<string, string>(),
        });
        console.Profile.Width = width;
        console.Profile.Capabilities.Unicode = target.Encoding.CodePage is 65001 or 1200 or 1201;
        console.Write(renderable);
        foreach (var line in buffer.ToString().ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'))
        {
            target.WriteLine(line.TrimEnd());
        }
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
