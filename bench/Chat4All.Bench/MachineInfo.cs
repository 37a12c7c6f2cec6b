using System.Globalization;
using System.Runtime.InteropServices;

namespace Chat4All.Bench;

/// <summary>One line describing the machine, so a results table is never read without its context.</summary>
internal static class MachineInfo
{
    /// <summary>A closing line, to compare with the machine line: a load that climbs far past a quiet run's means other work shared the machine.</summary>
    public static string? DescribeLoadAtEnd() =>
        LoadAverage() is { } load
            ? "1-minute load average at the end: " + load + " on " + Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) +
              " cores (the start value is on the machine line). The run raises it by itself; far more than a quiet run shows means other work shared the machine."
            : null;

    public static string Describe()
    {
        var memoryGiB = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        var parts = new List<string>
        {
            Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) + " cores",
            memoryGiB.ToString("0.0", CultureInfo.InvariantCulture) + " GiB RAM",
        };
        if (CpuModel() is { } cpu)
        {
            parts.Add(cpu);
        }

        parts.Add(RuntimeInformation.OSDescription.Trim());
        parts.Add(RuntimeInformation.FrameworkDescription);
        if (LoadAverage() is { } load)
        {
            // Other work on the machine skews every number; a load above the core count says so up front.
            parts.Add("load average " + load + " at start");
        }

        return "Machine: " + string.Join(", ", parts);
    }

    /// <summary>The 1-minute load average from /proc/loadavg; null where there is none.</summary>
    public static string? LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ', 2)[0] is { Length: > 0 } first ? first : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The first "model name" of /proc/cpuinfo; null where there is none (non-Linux, many ARM boards).</summary>
    private static string? CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0)
                {
                    return line[(colon + 1)..].Trim();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Unreadable is fine: the CPU model is a nicety, not a requirement.
        }

        return null;
    }
}
