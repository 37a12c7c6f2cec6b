namespace Chat4All.Bench;

/// <summary>
/// Where a scenario puts its results: lines (the machine, notes) and tables of rows. It writes each at
/// once, so a long run (chaos, one row per fault) shows rows as they come, in the format the command
/// line asked for (aligned text or Markdown: the scenario never decides).
/// </summary>
internal sealed class ScenarioReport(TextWriter output, bool markdown)
{
    public void Line(string text = "") => output.WriteLine(text);

    public void Table(string[] headers, bool[] rightAligned, List<string[]> rows)
    {
        output.Write(ResultTable.Render(headers, rightAligned, rows, markdown));
    }
}
