using System.Text;

namespace Chat4All.Cli.Output;

/// <summary>
/// Notices on a terminal start by clearing the line, so that a retry or reconnect notice does not
/// run into a progress bar drawn in place (which ends lines with "\r", not a newline).
/// </summary>
public sealed class NoticeWriter(TextWriter inner) : TextWriter
{
    private const string ClearLine = "\r\u001b[K";

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value) => inner.Write(value);

    public override void Write(string? value) => inner.Write(value);

    public override void WriteLine(string? value) => inner.WriteLine(ClearLine + value);

    public override Task WriteLineAsync(string? value) => inner.WriteLineAsync(ClearLine + value);

    public override void Flush() => inner.Flush();
}
