using System.Diagnostics;
using System.Globalization;
using Chat4All.Cli.Output;

namespace Chat4All.Cli.Files;

/// <summary>
/// Transfer progress on stderr: on a terminal a bar redrawn in place (at most ten times a second)
/// with percentage, bytes, speed over the last few seconds and ETA; in a log one line a second.
/// </summary>
public sealed class ProgressBar(TextWriter output, bool terminal, string label, long totalBytes, long doneBytes)
{
    private const int Width = 28;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);
    private readonly Lock _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Queue<(TimeSpan At, long Bytes)> _samples = new([(TimeSpan.Zero, doneBytes)]);
    private readonly long _startBytes = doneBytes;
    private long _done = doneBytes;
    private TimeSpan? _lastDrawn;

    public long Done => Interlocked.Read(ref _done);

    /// <summary>Bytes moved by this run (not counting what an earlier run already stored).</summary>
    public long Transferred => Done - _startBytes;

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Add(long bytes)
    {
        Interlocked.Add(ref _done, bytes);
        Draw(force: false);
    }

    public void Finish()
    {
        Draw(force: true);
        if (terminal)
        {
            lock (_gate)
            {
                output.WriteLine();
            }
        }
    }

    private void Draw(bool force)
    {
        lock (_gate)
        {
            var now = _clock.Elapsed;
            var interval = terminal ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(1);
            if (!force && _lastDrawn is { } last && now - last < interval)
            {
                return;
            }

            _lastDrawn = now;
            var done = Done;
            _samples.Enqueue((now, done));
            while (_samples.Count > 2 && now - _samples.Peek().At > Window)
            {
                _samples.Dequeue();
            }

            var (firstAt, firstBytes) = _samples.Peek();
            var seconds = (now - firstAt).TotalSeconds;
            // The last line of a transfer shorter than the noise floor still shows a speed: the whole run's.
            var speed = seconds > 0.05 ? (done - firstBytes) / seconds
                : force && now > TimeSpan.Zero ? (done - _startBytes) / now.TotalSeconds : 0;
            var fraction = totalBytes == 0 ? 1 : (double)done / totalBytes;
            var eta = speed > 0 ? TimeSpan.FromSeconds((totalBytes - done) / speed) : (TimeSpan?)null;
            var filled = (int)Math.Round(fraction * Width);
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{label} [{new string('#', filled)}{new string('.', Width - filled)}] {fraction * 100,5:0.0}% {Printer.Bytes(done)}/{Printer.Bytes(totalBytes)} {Printer.Bytes(speed)}/s ETA {Format(eta)}");
            output.Write(terminal ? "\r" + line + "\u001b[K" : line + Environment.NewLine);
        }
    }

    private static string Format(TimeSpan? eta) => eta switch
    {
        null => "--:--",
        { TotalHours: >= 1 } t => t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture),
        { } t => t.ToString(@"mm\:ss", CultureInfo.InvariantCulture),
    };
}
