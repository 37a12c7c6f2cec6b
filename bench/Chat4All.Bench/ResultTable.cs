using System.Globalization;
using System.Text;

namespace Chat4All.Bench;

/// <summary>Renders results as an aligned text table or as Markdown for the top-level README.</summary>
internal static class ResultTable
{
    private static readonly string[] Headers =
        ["Scenario", "Target", "Concurrency", "Requests", "Errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "vs ceiling"];

    // Text columns read left-aligned, numbers right-aligned.
    private static readonly bool[] RightAligned = [false, false, true, true, true, true, true, true, true, false];

    /// <summary>The token and no-op runs as one table, each Chat4All row beside its ceiling.</summary>
    public static void Report(ScenarioReport report, IReadOnlyList<RunResult> results) =>
        report.Table(Headers, RightAligned, [.. results.Select(r => Cells(r, results))]);

    /// <summary>Any table: aligned text (numbers right-aligned) or Markdown.</summary>
    public static string Render(string[] headers, bool[] rightAligned, List<string[]> rows, bool markdown) =>
        markdown ? RenderMarkdown(headers, rightAligned, rows) : RenderText(headers, rightAligned, rows);

    /// <summary>Chat4All's rate over the bare Kestrel rate of the same scenario; null when either is missing.</summary>
    public static double? CeilingRatio(RunResult result, IReadOnlyList<RunResult> results)
    {
        if (result.Target != Workload.Chat4AllTarget)
        {
            return null;
        }

        var ceiling = results.FirstOrDefault(r => r.Scenario == result.Scenario && r.Target == Workload.CeilingTarget);
        return ceiling is { RequestsPerSecond: > 0 } ? result.RequestsPerSecond / ceiling.RequestsPerSecond : null;
    }

    private static string[] Cells(RunResult result, IReadOnlyList<RunResult> results)
    {
        var ratio = CeilingRatio(result, results);
        return
        [
            result.Scenario,
            result.Target,
            Format(result.Concurrency),
            Format(result.Requests),
            Format(result.Errors),
            result.RequestsPerSecond.ToString("N0", CultureInfo.InvariantCulture),
            Milliseconds(result.P50Milliseconds),
            Milliseconds(result.P95Milliseconds),
            Milliseconds(result.P99Milliseconds),
            ratio is { } value ? Ratio(value) + "× ceiling"
                : result.Target == Workload.CeilingTarget ? "(ceiling)" : "n/a",
        ];
    }

    // Two decimals hide the difference between 0.004 and 0.009 (token issuance lives down there).
    public static string Ratio(double value) => value.ToString(value >= 0.1 ? "0.00" : "0.0##", CultureInfo.InvariantCulture);

    public static string Format(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Milliseconds(double value) =>
        double.IsNaN(value) ? "n/a" : value.ToString(value < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    private static string RenderText(string[] headers, bool[] rightAligned, List<string[]> rows)
    {
        var widths = headers.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        var text = new StringBuilder();
        AppendTextRow(text, headers, rightAligned, widths);
        text.AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in rows)
        {
            AppendTextRow(text, row, rightAligned, widths);
        }

        return text.ToString();
    }

    private static void AppendTextRow(StringBuilder text, string[] cells, bool[] rightAligned, int[] widths) =>
        text.AppendLine(string.Join("  ", cells.Select((c, i) => rightAligned[i] ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd());

    private static string RenderMarkdown(string[] headers, bool[] rightAligned, List<string[]> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| " + string.Join(" | ", headers) + " |");
        text.AppendLine("|" + string.Join("|", rightAligned.Select(r => r ? "---:" : "---")) + "|");
        foreach (var row in rows)
        {
            text.AppendLine("| " + string.Join(" | ", row) + " |");
        }

        return text.ToString();
    }
}
