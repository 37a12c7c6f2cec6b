using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Chat4All.Testing;

/// <summary>
/// The repository's <c>scripts/observability.sh</c>, run for real: Debian's Prometheus and
/// Alertmanager on loopback ports with a private state folder, scraping the given hosts.
/// </summary>
public sealed class LocalMonitoring : IAsyncDisposable
{
    private readonly TemporaryDirectory _directory = new("chat4all-observability-");
    private readonly Dictionary<string, string> _environment;

    /// <param name="scrapeTargets">host:port of each Chat4All host to scrape.</param>
    /// <param name="settings">More CHAT4ALL_* settings of the script (intervals, receivers).</param>
    public LocalMonitoring(IEnumerable<string> scrapeTargets, IReadOnlyDictionary<string, string>? settings = null)
    {
        PrometheusPort = ProcessHelpers.FreeLoopbackPort();
        AlertmanagerPort = ProcessHelpers.FreeLoopbackPort();
        _environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CHAT4ALL_OBSERVABILITY_DIR"] = _directory.Path,
            ["CHAT4ALL_PROMETHEUS_PORT"] = PrometheusPort.ToString(CultureInfo.InvariantCulture),
            ["CHAT4ALL_ALERTMANAGER_PORT"] = AlertmanagerPort.ToString(CultureInfo.InvariantCulture),
            ["CHAT4ALL_SCRAPE_TARGETS"] = string.Join(',', scrapeTargets),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            _environment[key] = value;
        }
    }

    public int PrometheusPort { get; }

    public int AlertmanagerPort { get; }

    /// <summary>Where the receivers' secret files go (CHAT4ALL_ALERT_SECRETS), before <see cref="UpAsync"/>.</summary>
    public string SecretsDirectory => Directory.CreateDirectory(Path.Combine(_directory.Path, "secrets")).FullName;

    public Uri Prometheus => new($"http://127.0.0.1:{PrometheusPort}/");

    public Task UpAsync() => RunAsync("up");

    /// <summary>The alerts Prometheus evaluates as firing now, as its /api/v1/alerts lists them.</summary>
    public async Task<IReadOnlyList<JsonElement>> FiringAlertsAsync(HttpClient client)
    {
        var response = await client.GetFromJsonAsync<JsonElement>(new Uri(Prometheus, "api/v1/alerts"));
        return [.. response.GetProperty("data").GetProperty("alerts").EnumerateArray()
            .Where(a => a.GetProperty("state").GetString() == "firing")];
    }

    /// <summary>Runs the script with this stack's settings; throws with its output when it fails.</summary>
    public async Task<string> RunAsync(params string[] args)
    {
        var (exitCode, output) = await RunScriptAsync(_environment, args);
        return exitCode == 0 ? output : throw new InvalidOperationException($"observability.sh {string.Join(' ', args)} exited {exitCode}: {output}");
    }

    /// <summary>Runs <c>scripts/observability.sh</c>; its exit code and its stdout and stderr together.</summary>
    public static async Task<(int ExitCode, string Output)> RunScriptAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot.Path, "scripts", "observability.sh"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start bash.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    public async ValueTask DisposeAsync()
    {
        await RunScriptAsync(_environment, "down");
        _directory.Dispose();
    }
}

/// <summary>The repository checkout these tests run from (the folder holding Chat4All.sln).</summary>
public static class RepositoryRoot
{
    public static readonly string Path = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Chat4All.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Chat4All.sln above {AppContext.BaseDirectory}.");
    }
}
