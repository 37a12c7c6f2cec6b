using System.Diagnostics;

namespace Chat4All.Host.Tests;

/// <summary>
/// The npm tools the contract tests run (redocly, asyncapi, the docs page in Chromium), installed by
/// scripts/test.sh with <c>npm ci</c> in tests/Chat4All.Clients.Tests/browser from its lock file.
/// </summary>
internal static class NodeTools
{
    public static string Directory { get; } = Find();

    public static string Bin(string tool)
    {
        var path = Path.Combine(Directory, "node_modules", ".bin", tool);
        Assert.True(File.Exists(path), $"{path} is missing: run `npm ci` in {Directory} (scripts/test.sh does).");
        return path;
    }

    /// <summary>Runs a tool to completion (bounded), with telemetry off and no update checks; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["REDOCLY_TELEMETRY"] = "off",
                ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true",
                ["CI"] = "true",
                ["NO_COLOR"] = "1",
            },
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} took too long:\n{await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    public static string? Chromium() =>
        new[] { Environment.GetEnvironmentVariable("CHAT4ALL_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" }
            .FirstOrDefault(p => p is { Length: > 0 } && File.Exists(p));

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "Chat4All.Clients.Tests", "browser");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("tests/Chat4All.Clients.Tests/browser not found above " + AppContext.BaseDirectory);
    }
}
