using System.Globalization;
using System.Net;

namespace Chat4All.Bench;

/// <summary>Which scenarios to run.</summary>
internal enum ScenarioSelection
{
    All,
    Token,
    Noop,
}

/// <summary>Command-line settings. Parsed by hand: a dozen flags do not justify a parser dependency.</summary>
internal sealed record BenchOptions(
    Uri Url,
    string? UsersPath,
    TimeSpan Duration,
    TimeSpan Warmup,
    int Concurrency,
    int TokenConcurrency,
    ScenarioSelection Scenario,
    bool Markdown)
{
    public const string DefaultUsersPath = ".chat4all/demo-users.json";

    // Hard bounds so a typo cannot turn the bench into an hour-long or fork-bomb-sized run.
    private const int MaxSeconds = 600;
    private const int MaxConcurrency = 1024;

    private static readonly HashSet<string> ValueOptions =
        new(["--url", "--users", "--duration", "--warmup", "--concurrency", "--token-concurrency", "--scenario"], StringComparer.Ordinal);

    public const string Usage = """
        Chat4All.Bench: closed-loop HTTP load against a running Chat4All host, next to a bare Kestrel ceiling.

        Usage: dotnet run -c Release --project bench/Chat4All.Bench -- [options]

          --url <url>                 Chat4All base URL; loopback only (default http://127.0.0.1:8080)
          --users <path>              demo users JSON (default .chat4all/demo-users.json, looked up in the
                                      current directory, then in the repo root holding Chat4All.sln)
          --duration <seconds>        measured period per target (default 10, max 600)
          --warmup <seconds>          unrecorded warm-up per target (default 3, max 600)
          --concurrency <n>           workers for the authenticated no-op (default 32, max 1024)
          --token-concurrency <n>     workers for token issuance (default 8; it is CPU-heavy server-side)
          --scenario all|token|noop   what to run (default all)
          --markdown                  print the results as a Markdown table
          --help                      show this text
        """;

    public static BenchOptions Default { get; } = new(
        new Uri("http://127.0.0.1:8080"),
        UsersPath: null,
        Duration: TimeSpan.FromSeconds(10),
        Warmup: TimeSpan.FromSeconds(3),
        Concurrency: 32,
        TokenConcurrency: 8,
        ScenarioSelection.All,
        Markdown: false);

    /// <summary>Parses <paramref name="args"/>; returns null and sets <paramref name="error"/> (empty for --help).</summary>
    public static BenchOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        var options = Default;
        error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inlineValue = null;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                inlineValue = arg[(equals + 1)..];
                arg = arg[..equals];
            }

            switch (arg)
            {
                case "--help" or "-h" or "-?":
                    error = string.Empty;
                    return null;
                case "--markdown":
                    options = options with { Markdown = true };
                    continue;
            }

            if (!ValueOptions.Contains(arg))
            {
                error = $"Unknown option '{arg}'.";
                return null;
            }

            // Every remaining flag takes a value, either inline (--x=1) or as the next argument.
            string value;
            if (inlineValue is not null)
            {
                value = inlineValue;
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                error = $"{arg} needs a value.";
                return null;
            }

            switch (arg)
            {
                case "--url":
                    if (!TryParseLoopbackUrl(value, out var url, out error))
                    {
                        return null;
                    }

                    options = options with { Url = url };
                    break;
                case "--users":
                    options = options with { UsersPath = value };
                    break;
                case "--duration":
                    if (!TryParseInt(arg, value, 1, MaxSeconds, out var duration, out error))
                    {
                        return null;
                    }

                    options = options with { Duration = TimeSpan.FromSeconds(duration) };
                    break;
                case "--warmup":
                    if (!TryParseInt(arg, value, 0, MaxSeconds, out var warmup, out error))
                    {
                        return null;
                    }

                    options = options with { Warmup = TimeSpan.FromSeconds(warmup) };
                    break;
                case "--concurrency":
                    if (!TryParseInt(arg, value, 1, MaxConcurrency, out var concurrency, out error))
                    {
                        return null;
                    }

                    options = options with { Concurrency = concurrency };
                    break;
                case "--token-concurrency":
                    if (!TryParseInt(arg, value, 1, MaxConcurrency, out var tokenConcurrency, out error))
                    {
                        return null;
                    }

                    options = options with { TokenConcurrency = tokenConcurrency };
                    break;
                case "--scenario":
                    ScenarioSelection? scenario = value.ToUpperInvariant() switch
                    {
                        "ALL" => ScenarioSelection.All,
                        "TOKEN" => ScenarioSelection.Token,
                        "NOOP" => ScenarioSelection.Noop,
                        _ => null,
                    };
                    if (scenario is null)
                    {
                        error = $"--scenario must be all, token or noop (got '{value}').";
                        return null;
                    }

                    options = options with { Scenario = scenario.Value };
                    break;
                default:
                    throw new InvalidOperationException("ValueOptions lists " + arg + " but nothing parses it.");
            }
        }

        return options;
    }

    /// <summary>
    /// Accepts only http(s) URLs whose host is a loopback address (127.0.0.0/8, ::1) or <c>localhost</c>:
    /// the bench is a load generator, and pointing it at a shared or remote machine is never intended.
    /// </summary>
    public static bool TryParseLoopbackUrl(string value, out Uri url, out string? error)
    {
        url = null!;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
        {
            error = $"--url must be an absolute http:// or https:// URL (got '{value}').";
            return false;
        }

        var host = parsed.DnsSafeHost; // IPv6 without brackets
        var isLoopback = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ||
            (IPAddress.TryParse(host, out var address) &&
             IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));
        if (!isLoopback)
        {
            error = $"Refusing --url '{value}': the host '{parsed.Host}' is not a loopback address. " +
                "The bench only targets this machine (127.0.0.0/8, ::1 or localhost).";
            return false;
        }

        // A trailing slash makes relative request URIs ("auth/token") resolve under any path base.
        url = parsed.AbsolutePath.EndsWith('/') ? parsed : new Uri(parsed.AbsoluteUri + "/");
        error = null;
        return true;
    }

    private static bool TryParseInt(string name, string value, int min, int max, out int result, out string? error)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out result) && result >= min && result <= max)
        {
            error = null;
            return true;
        }

        error = $"{name} must be a whole number from {min} to {max} (got '{value}').";
        return false;
    }
}
