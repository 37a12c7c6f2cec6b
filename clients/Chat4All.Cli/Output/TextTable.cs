namespace Chat4All.Cli.Output;

/// <summary>
/// Columns padded to their widest cell; on a terminal the last column is shortened so that each row
/// fits the window instead of wrapping (scripts get every character: they read <c>--output json</c>).
/// </summary>
public sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells);

    public void WriteTo(Printer printer)
    {
        var widths = headers.Select((h, i) => _rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        foreach (var row in _rows.Prepend(headers))
        {
            var line = string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd();
            if (printer.Width is { } width && line.Length > width)
            {
                line = string.Concat(line.AsSpan(0, Math.Max(1, width - 1)), "…");
            }

            printer.Line(line);
        }
    }
}
