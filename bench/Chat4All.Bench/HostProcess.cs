using System.Globalization;
using System.Net;

namespace Chat4All.Bench;

/// <summary>One reading of a process from <c>/proc</c>: resident memory and CPU time so far.</summary>
internal readonly record struct ProcessSample(long RssBytes, double CpuSeconds, long TakenAt);

/// <summary>
/// The host process the realtime scenarios watch, read from <c>/proc/&lt;pid&gt;</c> (Linux only):
/// <c>status</c> for VmRSS, <c>stat</c> for utime + stime. Found from <c>--host-pid</c>, or as the
/// process that owns the listening socket of <c>--url</c>'s port (searched among processes whose
/// command line mentions <c>Chat4All.Host</c> first, then among all).
/// </summary>
internal sealed class HostProcess
{
    // utime and stime count USER_HZ ticks, which the kernel fixes at 100 for /proc on every common
    // architecture (it is ABI, independent of the kernel's internal HZ).
    private const double ClockTicksPerSecond = 100;

    private HostProcess(int pid, string how)
    {
        Pid = pid;
        How = how;
    }

    public int Pid { get; }

    /// <summary>How the process was found, for the notes.</summary>
    public string How { get; }

    /// <summary>The bench process itself.</summary>
    public static HostProcess Self { get; } = new(Environment.ProcessId, "this process");

    /// <summary>
    /// The host: <paramref name="pid"/> when given (it must exist), else the owner of the listening
    /// socket on <paramref name="url"/>'s port. Null with <paramref name="error"/> set when it cannot
    /// be found or read; the scenarios then fall back to the host's own <c>/metrics</c>.
    /// </summary>
    public static HostProcess? Find(int? pid, Uri url, out string? error)
    {
        if (!File.Exists("/proc/self/stat"))
        {
            error = "there is no /proc here (not Linux)";
            return null;
        }

        if (pid is { } given)
        {
            if (Sample(given) is null)
            {
                error = "--host-pid " + given.ToString(CultureInfo.InvariantCulture) + " is not a process this user can read under /proc";
                return null;
            }

            error = null;
            return new HostProcess(given, "--host-pid");
        }

        var inodes = ListeningInodes(url.Port, url.DnsSafeHost);
        if (inodes.Count == 0)
        {
            error = "no socket listens on port " + url.Port.ToString(CultureInfo.InvariantCulture) + " in /proc/net/tcp{,6}";
            return null;
        }

        var pids = Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : -1)
            .Where(p => p > 0 && p != Environment.ProcessId)
            .ToList();
        var hosts = pids.Where(p => CommandLine(p).Contains("Chat4All.Host", StringComparison.Ordinal)).ToList();
        foreach (var candidate in hosts.Concat(pids.Except(hosts)))
        {
            if (OwnsAny(candidate, inodes))
            {
                error = null;
                return new HostProcess(candidate, "owner of the socket listening on port " + url.Port.ToString(CultureInfo.InvariantCulture) +
                    (hosts.Contains(candidate) ? string.Empty : " (its command line does not mention Chat4All.Host)"));
            }
        }

        error = "found a socket listening on port " + url.Port.ToString(CultureInfo.InvariantCulture) +
            " but no readable process owning it (another user's process?); pass --host-pid";
        return null;
    }

    /// <summary>VmRSS and utime + stime now; null when the process is gone or unreadable.</summary>
    public ProcessSample? Sample() => Sample(Pid);

    /// <summary>The soft limit on open files (<c>ulimit -n</c>) from <c>/proc/&lt;pid&gt;/limits</c>; null when unreadable or unlimited.</summary>
    public long? OpenFilesLimit()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length > 0 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // unreadable: the connect phase will tell
        }

        return null;
    }

    /// <summary>CPU used between two samples, in % of one core (100 = one core busy all the time).</summary>
    public static double CpuPercent(ProcessSample from, ProcessSample to)
    {
        var wall = (double)(to.TakenAt - from.TakenAt) / System.Diagnostics.Stopwatch.Frequency;
        return wall <= 0 ? double.NaN : (to.CpuSeconds - from.CpuSeconds) / wall * 100;
    }

    public static string DescribeCommandLine(int pid)
    {
        var text = CommandLine(pid).Replace('\0', ' ').Trim();
        return text.Length <= 160 ? text : text[..160] + "...";
    }

    private static ProcessSample? Sample(int pid)
    {
        try
        {
            var takenAt = System.Diagnostics.Stopwatch.GetTimestamp();
            long? rss = null;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    // "VmRSS:    123456 kB"
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
                    {
                        rss = kb * 1024;
                    }

                    break;
                }
            }

            // The command (field 2) may hold spaces and parentheses; the fields after the last ')' are fixed.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
            if (rss is null || fields.Length < 13 ||
                !long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out var utime) ||
                !long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out var stime))
            {
                return null;
            }

            return new ProcessSample(rss.Value, (utime + stime) / ClockTicksPerSecond, takenAt);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    /// <summary>Inodes of LISTEN sockets on <paramref name="port"/> that accept connections to <paramref name="host"/>.</summary>
    private static HashSet<string> ListeningInodes(int port, string host)
    {
        var wanted = IPAddress.TryParse(host, out var address) ? address : IPAddress.Loopback;
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            try
            {
                foreach (var line in File.ReadLines(file).Skip(1))
                {
                    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length < 10 || parts[3] != "0A")
                    {
                        continue;
                    }

                    var colon = parts[1].IndexOf(':', StringComparison.Ordinal);
                    if (colon < 0 || !int.TryParse(parts[1][(colon + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var localPort) ||
                        localPort != port)
                    {
                        continue;
                    }

                    var local = ParseProcAddress(parts[1][..colon]);
                    if (local is null || local.Equals(IPAddress.Any) || local.Equals(IPAddress.IPv6Any) || local.Equals(wanted) ||
                        (local.IsIPv4MappedToIPv6 && local.MapToIPv4().Equals(wanted)) || (IPAddress.IsLoopback(local) && IPAddress.IsLoopback(wanted)))
                    {
                        inodes.Add(parts[9]);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // tcp6 may be missing; whatever is readable is used.
            }
        }

        return inodes;
    }

    /// <summary>/proc/net/tcp writes addresses as hex of the in-memory bytes, 32 bits at a time in host order.</summary>
    private static IPAddress? ParseProcAddress(string hex)
    {
        if (hex.Length is not (8 or 32))
        {
            return null;
        }

        var bytes = new byte[hex.Length / 2];
        for (var word = 0; word < hex.Length / 8; word++)
        {
            if (!uint.TryParse(hex.AsSpan(word * 8, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value))
            {
                return null;
            }

            var wordBytes = BitConverter.GetBytes(value); // host order, as the kernel printed it
            if (!BitConverter.IsLittleEndian)
            {
                Array.Reverse(wordBytes);
            }

            wordBytes.CopyTo(bytes, word * 4);
        }

        return new IPAddress(bytes);
    }

    private static bool OwnsAny(int pid, HashSet<string> inodes)
    {
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal) && inodes.Contains(target[8..^1]))
                {
                    return true;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Another user's process, or gone: not ours to read.
        }

        return false;
    }
}
