using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Chat4All.Bench;

/// <summary>Where the platform's PostgreSQL is, parsed from the Npgsql connection string the host uses.</summary>
internal sealed record PostgresConnection(string Host, int Port, string Database, string? Username, string? Password)
{
    public string Describe() => $"{Username ?? "(default user)"}@{Host}:{Port.ToString(CultureInfo.InvariantCulture)}/{Database}";

    /// <summary>
    /// Reads Host, Port, Database, Username and Password (and their Npgsql synonyms); everything else
    /// (pool sizes, timeouts) is irrelevant to pgbench. Only a loopback host or a Unix socket directory
    /// is accepted, for the same reason as <c>--url</c>: the bench loads this machine only.
    /// </summary>
    public static PostgresConnection? Parse(string connectionString, out string? error)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException ex)
        {
            error = "Cannot parse the PostgreSQL connection string: " + ex.Message;
            return null;
        }

        var host = Value(builder, "Host", "Server");
        var database = Value(builder, "Database", "DB");
        var username = Value(builder, "Username", "User Name", "User Id", "UserId", "User", "UID");
        var password = Value(builder, "Password", "PSW", "PWD");
        var portText = Value(builder, "Port");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(database))
        {
            error = "The PostgreSQL connection string needs Host and Database (e.g. Host=127.0.0.1;Port=55432;Database=chat4all;Username=chat4all;Password=...).";
            return null;
        }

        var port = 5432;
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            error = $"The PostgreSQL connection string has an invalid Port '{portText}'.";
            return null;
        }

        var isLoopback = host.StartsWith('/') ||
            string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ||
            (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));
        if (!isLoopback)
        {
            error = $"Refusing PostgreSQL host '{host}': pgbench only runs against this machine (127.0.0.0/8, ::1, localhost or a socket directory).";
            return null;
        }

        error = null;
        return new PostgresConnection(host, port, database, username, password);
    }

    private static string? Value(DbConnectionStringBuilder builder, params string[] keys)
    {
        foreach (var key in keys)
        {
            if (builder.TryGetValue(key, out var value) && value?.ToString() is { Length: > 0 } text)
            {
                return text;
            }
        }

        return null;
    }
}

/// <summary>What one pgbench run reported.</summary>
internal sealed record PgbenchResult(int Clients, long Transactions, long Failed, double Tps, double LatencyAverageMilliseconds, int ExitCode);

/// <summary>
/// The PostgreSQL baseline: pgbench committing one single-row INSERT per transaction into
/// <c>bench.messages</c>, a table shaped like <c>messaging.messages</c>, on the platform's own
/// PostgreSQL. It also answers the one question the messages scenario asks that database: how many
/// outbox rows the relay has not yet published. Runs the server's own pgbench and psql, with the
/// password passed through PGPASSWORD so it never shows on a command line.
/// </summary>
internal sealed partial class PostgresBaseline(string binDirectory, PostgresConnection connection)
{
    public const string Table = "bench.messages";

    // Same columns, types and indexes as messaging.messages (the primary key, the unique
    // (conversation_id, seq) and the partial idempotency index), so each insert maintains as much.
    public const string CreateTableSql = """
        SET client_min_messages = warning;
        CREATE SCHEMA IF NOT EXISTS bench;
        CREATE TABLE IF NOT EXISTS bench.messages (
            message_id uuid PRIMARY KEY,
            conversation_id uuid NOT NULL,
            seq bigint NOT NULL,
            sender_id uuid NOT NULL,
            payload_type varchar(16) NOT NULL,
            text text,
            file_id uuid,
            channels text[] NOT NULL,
            priority varchar(8) NOT NULL,
            status varchar(16) NOT NULL,
            idempotency_key varchar(255),
            request_hash varchar(64) NOT NULL,
            created_at timestamptz NOT NULL,
            UNIQUE (conversation_id, seq)
        );
        CREATE UNIQUE INDEX IF NOT EXISTS messages_sender_idempotency_key ON bench.messages (sender_id, idempotency_key)
            WHERE idempotency_key IS NOT NULL;
        """;

    public const string TruncateSql = "TRUNCATE bench.messages;";

    // Pending = not yet published and not dead-lettered, as the relay sees it.
    private const string OutboxBacklogSql =
        "SELECT count(*) FROM messaging.outbox WHERE published_at IS NULL AND dead_lettered_at IS NULL;";

    // Bounds a psql call; pgbench gets its duration plus this.
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    public PostgresConnection Connection => connection;

    public string PgbenchPath => Path.Combine(binDirectory, "pgbench");

    /// <summary>
    /// The pgbench script: one INSERT, one transaction (pgbench wraps nothing, so autocommit makes
    /// each a durable commit). The platform uses time-ordered v7 ids; gen_random_uuid() is v4,
    /// random, which if anything makes pgbench's primary-key inserts a little more expensive.
    /// </summary>
    public static string Script() =>
        "\\set seq random(1, 1000000000000)\n" +
        "INSERT INTO bench.messages (message_id, conversation_id, seq, sender_id, payload_type, text, channels, priority, status, request_hash, created_at)\n" +
        "VALUES (gen_random_uuid(), gen_random_uuid(), :seq, gen_random_uuid(), 'text', '" + Chat4AllApi.MessageText.Replace("'", "''", StringComparison.Ordinal) +
        "', '{all}', 'normal', 'accepted', '" + new string('0', 64) + "', now());\n";

    /// <summary>
    /// Finds the directory holding pgbench: <paramref name="explicitDirectory"/>, else
    /// <c>$CHAT4ALL_PG_BIN</c>, else the PATH. Returns null and lists what was tried.
    /// </summary>
    public static string? ResolveBinDirectory(string? explicitDirectory, out IReadOnlyList<string> tried)
    {
        var candidates = new List<string>();
        if (explicitDirectory is not null)
        {
            candidates.Add(Path.GetFullPath(explicitDirectory));
        }
        else
        {
            if (Environment.GetEnvironmentVariable(CommonOptions.PostgresBinEnvironmentVariable) is { Length: > 0 } fromEnvironment)
            {
                candidates.Add(Path.GetFullPath(fromEnvironment));
            }

            candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
                .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        tried = candidates;
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "pgbench")) && File.Exists(Path.Combine(d, "psql")));
    }

    /// <summary>Creates <c>bench.messages</c> if missing. Touches nothing outside schema <c>bench</c>.</summary>
    public Task EnsureTableAsync(CancellationToken cancellationToken) => PsqlAsync(CreateTableSql, cancellationToken);

    public Task TruncateAsync(CancellationToken cancellationToken) => PsqlAsync(TruncateSql, cancellationToken);

    /// <summary>Outbox rows the relay has yet to publish; null when the table cannot be read (another schema, no access).</summary>
    public async Task<long?> OutboxBacklogAsync(CancellationToken cancellationToken)
    {
        try
        {
            var output = await PsqlAsync(OutboxBacklogSql, cancellationToken);
            return long.TryParse(output.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Runs the script for <paramref name="seconds"/> with <paramref name="clients"/> connections, one thread each.</summary>
    public async Task<PgbenchResult> RunAsync(string scriptPath, int clients, int seconds, CancellationToken cancellationToken)
    {
        var clientCount = clients.ToString(CultureInfo.InvariantCulture);
        string[] arguments =
        [
            "-n", "-f", scriptPath, "-c", clientCount, "-j", clientCount, "-T", seconds.ToString(CultureInfo.InvariantCulture), "-M", "prepared",
            .. ConnectionArguments(),
            connection.Database, // pgbench takes the database as its last argument (its -d means --debug)
        ];
        var (exitCode, output, errors) = await ExecuteAsync(PgbenchPath, arguments, TimeSpan.FromSeconds(seconds) + ToolTimeout, cancellationToken);
        return ParseOutput(output, clients, exitCode) ??
            throw new InvalidOperationException($"pgbench exited with {exitCode} without a tps line: {Excerpt(errors + output)}");
    }

    /// <summary>
    /// Reads pgbench's summary; null without a <c>tps = ... (without initial connection time)</c> line.
    /// Exit code 2 (some clients aborted) still has a summary, and its failures are counted.
    /// </summary>
    public static PgbenchResult? ParseOutput(string output, int clients, int exitCode)
    {
        var tps = TpsLine().Match(output);
        if (!tps.Success)
        {
            return null;
        }

        var processed = ProcessedLine().Match(output);
        var failed = FailedLine().Match(output);
        var latency = LatencyLine().Match(output);
        return new PgbenchResult(
            clients,
            processed.Success ? long.Parse(processed.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            failed.Success ? long.Parse(failed.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture),
            latency.Success ? double.Parse(latency.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN,
            exitCode);
    }

    /// <summary>Runs <paramref name="sql"/> through psql (unaligned, tuples only) and returns its output.</summary>
    public async Task<string> PsqlAsync(string sql, CancellationToken cancellationToken)
    {
        string[] arguments = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", .. ConnectionArguments(), "-d", connection.Database, "-c", sql];
        var (exitCode, output, errors) = await ExecuteAsync(Path.Combine(binDirectory, "psql"), arguments, ToolTimeout, cancellationToken);
        return exitCode == 0
            ? output
            : throw new InvalidOperationException($"psql on {connection.Describe()} exited with {exitCode}: {Excerpt(errors)}");
    }

    private string[] ConnectionArguments() =>
        connection.Username is null
            ? ["-h", connection.Host, "-p", connection.Port.ToString(CultureInfo.InvariantCulture)]
            : ["-h", connection.Host, "-p", connection.Port.ToString(CultureInfo.InvariantCulture), "-U", connection.Username];

    private async Task<(int ExitCode, string Output, string Errors)> ExecuteAsync(
        string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (connection.Password is not null)
        {
            startInfo.Environment["PGPASSWORD"] = connection.Password;
        }

        startInfo.Environment["PGCONNECT_TIMEOUT"] = "5";
        startInfo.Environment["PGAPPNAME"] = "chat4all-bench";

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Cannot start " + fileName);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            // Only the child this method started; a cancelled bench must not leave pgbench loading the server.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            throw new InvalidOperationException($"{Path.GetFileName(fileName)} did not finish within {timeout.TotalSeconds:0} s and was stopped.");
        }

        return (process.ExitCode, await output, await errors);
    }

    private static string Excerpt(string text)
    {
        var trimmed = text.Trim();
        return trimmed.Length <= 500 ? trimmed : trimmed[..500] + "...";
    }

    [GeneratedRegex(@"^tps = ([0-9]+(?:\.[0-9]+)?) \(without initial connection time\)", RegexOptions.Multiline)]
    private static partial Regex TpsLine();

    [GeneratedRegex(@"^number of transactions actually processed: ([0-9]+)", RegexOptions.Multiline)]
    private static partial Regex ProcessedLine();

    [GeneratedRegex(@"^number of failed transactions: ([0-9]+)", RegexOptions.Multiline)]
    private static partial Regex FailedLine();

    [GeneratedRegex(@"^latency average = ([0-9]+(?:\.[0-9]+)?) ms", RegexOptions.Multiline)]
    private static partial Regex LatencyLine();
}
