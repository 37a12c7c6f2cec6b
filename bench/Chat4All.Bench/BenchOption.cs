using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;

namespace Chat4All.Bench;

/// <summary>
/// The kinds of values bench options take, each bounded (so a typo cannot turn the bench into an
/// hour-long or fork-bomb-sized run) and refused with a sentence about the value, never a type name.
/// A scenario declares its options with these; <see cref="CommonOptions"/> holds the ones several share.
/// </summary>
internal static class BenchOption
{
    /// <summary>At most this many entries in a list option (--rates, --parallel, ...): every entry is a run.</summary>
    public const int MaxListEntries = 8;

    public const int MaxSeconds = 600;
    public const int MaxConcurrency = 1024;

    public static Option<int> Int(string name, string description, int defaultValue, int min, int max) => new(name)
    {
        Description = $"{description} (default {defaultValue.ToString(CultureInfo.InvariantCulture)}, {min}..{max})",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => ParseInt(result, name, min, max),
    };

    public static Option<int?> OptionalInt(string name, string description, int min, int max) => new(name)
    {
        Description = $"{description} ({min}..{max})",
        CustomParser = result => ParseInt(result, name, min, max),
    };

    /// <summary>A period given in whole seconds.</summary>
    public static Option<TimeSpan> Seconds(string name, string description, int defaultSeconds, int min = 1, int max = MaxSeconds) => new(name)
    {
        Description = $"{description}, in seconds (default {defaultSeconds.ToString(CultureInfo.InvariantCulture)}, {min}..{max})",
        DefaultValueFactory = _ => TimeSpan.FromSeconds(defaultSeconds),
        CustomParser = result => TimeSpan.FromSeconds(ParseInt(result, name, min, max)),
    };

    /// <summary>A comma-separated list of distinct whole numbers, kept in the given order.</summary>
    public static Option<IReadOnlyList<int>> IntList(string name, string description, IReadOnlyList<int> defaultValue, int min, int max) => new(name)
    {
        Description = $"{description} (default {string.Join(',', defaultValue)}; each {min}..{max}, at most {MaxListEntries})",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var value = result.Tokens[0].Value;
            var numbers = new List<int>();
            foreach (var part in value.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < min || number > max)
                {
                    result.AddError($"{name} must be a comma-separated list of whole numbers from {min} to {max} (got '{value}').");
                    return [];
                }

                if (!numbers.Contains(number))
                {
                    numbers.Add(number);
                }
            }

            if (numbers.Count > MaxListEntries)
            {
                result.AddError($"{name} takes at most {MaxListEntries} values (got {numbers.Count}).");
            }

            return numbers;
        },
    };

    /// <summary>Free text that must not be empty.</summary>
    public static Option<string?> Text(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var value = result.Tokens[0].Value;
            if (string.IsNullOrWhiteSpace(value))
            {
                result.AddError($"{name} needs a value.");
            }

            return value;
        },
    };

    /// <summary>
    /// An http(s) URL whose host is a loopback address (127.0.0.0/8, ::1) or <c>localhost</c>: the bench
    /// is a load generator, and pointing it at a shared or remote machine is never intended.
    /// </summary>
    public static Option<Uri?> LoopbackUrl(string name, string description, Uri? defaultValue) => new(name)
    {
        Description = description + (defaultValue is null ? "" : $" (default {defaultValue})"),
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var value = result.Tokens[0].Value;
            if (!Uri.TryCreate(value, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
            {
                result.AddError($"{name} must be an absolute http:// or https:// URL (got '{value}').");
                return null;
            }

            var host = parsed.DnsSafeHost; // IPv6 without brackets
            var isLoopback = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ||
                (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));
            if (!isLoopback)
            {
                result.AddError($"Refusing {name} '{value}': the host '{parsed.Host}' is not a loopback address. " +
                    "The bench only targets this machine (127.0.0.0/8, ::1 or localhost).");
                return null;
            }

            // A trailing slash makes relative request URIs ("auth/token") resolve under any path base.
            return parsed.AbsolutePath.EndsWith('/') ? parsed : new Uri(parsed.AbsoluteUri + "/");
        },
    };

    private static int ParseInt(ArgumentResult result, string name, int min, int max)
    {
        var value = result.Tokens[0].Value;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max)
        {
            return number;
        }

        result.AddError($"{name} must be a whole number from {min} to {max} (got '{value}').");
        return 0;
    }
}

/// <summary>Options every scenario takes, and the ones several scenarios share (declared once, listed by each scenario that reads them).</summary>
internal static class CommonOptions
{
    public const string DefaultUsersPath = ".chat4all/demo-users.json";

    /// <summary>The environment variable <c>scripts/infra.sh env</c> exports and the host reads.</summary>
    public const string PostgresEnvironmentVariable = "ConnectionStrings__Postgres";

    /// <summary>The PostgreSQL bin directory <c>scripts/infra.sh env</c> exports.</summary>
    public const string PostgresBinEnvironmentVariable = "CHAT4ALL_PG_BIN";

    /// <summary>The environment variable <c>scripts/infra.sh env</c> exports for Redis (host:port).</summary>
    public const string RedisEnvironmentVariable = "ConnectionStrings__Redis";

    public static Option<Uri?> Url { get; } = BenchOption.LoopbackUrl("--url", "Chat4All base URL; loopback only", new Uri("http://127.0.0.1:8080/"));

    public static Option<string?> Users { get; } = BenchOption.Text("--users",
        $"demo users JSON (default {DefaultUsersPath}, looked up in the current directory, then in the repo root holding Chat4All.sln)");

    public static Option<bool> Markdown { get; } = new("--markdown") { Description = "print the results as a Markdown table" };

    public static Option<TimeSpan> Duration { get; } = BenchOption.Seconds("--duration", "measured (or sending) period per run", 10);

    public static Option<TimeSpan> Warmup { get; } = BenchOption.Seconds("--warmup", "unrecorded warm-up per run", 3, min: 0);

    public static Option<int> MaxInFlight { get; } = BenchOption.Int("--max-in-flight",
        "open-loop cap on requests in flight; a send due while the cap is reached is dropped and counted as an error", 1024, 1, BenchOption.MaxConcurrency);

    public static Option<IReadOnlyList<int>> Rates { get; } = BenchOption.IntList("--rates", "offered messages/s, open loop, one run each", [100, 500, 1000], 1, 100_000);

    public static Option<int> Conversations { get; } = BenchOption.Int("--conversations",
        "conversations sent to round robin (1 = one private conversation, every message in one partition)", 32, 1, 1000);

    public static Option<string?> Postgres { get; } = BenchOption.Text("--postgres",
        $"the platform's PostgreSQL as an Npgsql connection string, loopback only (default: ${PostgresEnvironmentVariable}, which " +
        "`eval \"$(scripts/infra.sh env)\"` exports); the password reaches pgbench and psql through PGPASSWORD, never on a command line");

    public static Option<string?> PgBin { get; } = BenchOption.Text("--pg-bin", $"directory holding pgbench and psql (default: ${PostgresBinEnvironmentVariable}, else PATH)");

    public static Option<int?> HostPid { get; } = BenchOption.OptionalInt("--host-pid",
        "the host process to read /proc/<pid> from (default: the process listening on --url's port)", 1, int.MaxValue);

    /// <summary>The connection string from <c>--postgres</c>, else from the environment; null when neither is set.</summary>
    public static string? ResolvePostgres(string? option) =>
        option ?? (Environment.GetEnvironmentVariable(PostgresEnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null);

    /// <summary>Redis from <paramref name="option"/>, else the environment, as (host, port); null when neither is set or it is not host:port.</summary>
    public static (string Host, int Port)? ResolveRedis(string? option)
    {
        var value = option ?? Environment.GetEnvironmentVariable(RedisEnvironmentVariable);
        var first = value?.Split(',')[0].Trim();
        var colon = first?.LastIndexOf(':') ?? -1;
        return first is not null && colon > 0 && int.TryParse(first[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            ? (first[..colon], port)
            : null;
    }
}
