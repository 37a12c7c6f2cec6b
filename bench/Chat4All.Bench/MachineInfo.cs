using System.Globalization;
using System.Runtime.InteropServices;

namespace Chat4All.Bench;

/// <summary>One line describing the machine, so a results table is never read without its context.</summary>
internal static class MachineInfo
{
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
        return "Machine: " + string.Join(", ", parts);
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
