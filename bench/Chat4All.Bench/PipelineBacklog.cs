using System.Diagnostics;
using System.Globalization;

namespace Chat4All.Bench;

/// <summary>One reading of every backlog the pipeline has, by name (e.g. <c>outbox messaging</c>, <c>lag delivery/message.created</c>).</summary>
internal sealed record BacklogSample(IReadOnlyDictionary<string, long> Items)
{
    public long Total => Items.Values.Sum();

    public string Describe() => Total == 0 ? "empty"
        : string.Join(", ", Items.Where(i => i.Value > 0).OrderByDescending(i => i.Value).Select(i => i.Key + " " + ResultTable.Format(i.Value)));
}

/// <summary>
/// Reads the pipeline's backlogs from the platform's own stores: unpublished outbox rows of every
/// schema that has an outbox and deliveries not yet final (psql), and per consumer group the lag
/// and pending entries of every stream shard under the host's key prefix (redis-cli). Read-only.
/// </summary>
internal sealed class PipelineBacklog(PostgresBaseline postgres, string redisCli, string redisHost, int redisPort, string keyPrefix)
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);
    private static readonly string[] RedisCliPaths = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"];
    private string? outboxSql;
    private List<string>? streamKeys;

    /// <summary>Null (with a note) when PostgreSQL or Redis cannot be reached from here; the scenario then waits for the frames only.</summary>
    public static PipelineBacklog? Create(PipelineScenario.Settings options, out string? note)
    {
        note = null;
        if (options.ResolvePostgres() is not { } connectionString || PostgresConnection.Parse(connectionString, out _) is not { } connection ||
            PostgresBaseline.ResolveBinDirectory(options.PostgresBin, out _) is not { } binDirectory)
        {
            note = "Backlogs not read: no usable --postgres / $" + CommonOptions.PostgresEnvironmentVariable + " with psql (eval \"$(scripts/infra.sh env)\").";
            return null;
        }

        var cli = RedisCliPaths.FirstOrDefault(File.Exists);
        var redis = options.ResolveRedis();
        if (cli is null || redis is null)
        {
            note = "Backlogs not read: " + (cli is null ? "redis-cli not found" : "no --redis / $ConnectionStrings__Redis") + ".";
            return null;
        }

        return new PipelineBacklog(new PostgresBaseline(binDirectory, connection), cli, redis.Value.Host, redis.Value.Port, options.KeyPrefix);
    }

    public async Task<BacklogSample> ReadAsync(CancellationToken cancellationToken)
    {
        var items = new Dictionary<string, long>(StringComparer.Ordinal);
        outboxSql ??= await OutboxSqlAsync(cancellationToken);
        foreach (var line in (await postgres.PsqlAsync(outboxSql, cancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('|');
            if (parts.Length == 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                items[parts[0]] = count;
            }
        }

        foreach (var (name, value) in await StreamBacklogAsync(cancellationToken))
        {
            items[name] = items.GetValueOrDefault(name) + value;
        }

        return new BacklogSample(items);
    }

    // One statement for every schema with an outbox, plus delivery's records that are not final.
    private async Task<string> OutboxSqlAsync(CancellationToken cancellationToken)
    {
        var schemas = (await postgres.PsqlAsync(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox' AND table_schema NOT IN ('bench') ORDER BY 1;", cancellationToken))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var parts = schemas
            .Select(s => $"SELECT 'outbox {s}', count(*) FROM \"{s}\".outbox WHERE published_at IS NULL AND dead_lettered_at IS NULL")
            .ToList();
        var hasDeliveries = (await postgres.PsqlAsync(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'delivery' AND table_name = 'state';", cancellationToken)).Trim() == "1";
        if (hasDeliveries)
        {
            parts.Add("SELECT 'deliveries not final', count(*) FROM delivery.state WHERE key LIKE 'delivery|%' AND " +
                "value->>'status' NOT IN ('delivered', 'read', 'failed')");
        }

        return string.Join(" UNION ALL ", parts) + ";";
    }

    /// <summary>Per (group, topic): lag (entries not yet read) plus pending (read, not acknowledged), over the topic's shards.</summary>
    private async Task<Dictionary<string, long>> StreamBacklogAsync(CancellationToken cancellationToken)
    {
        // Scanned once: the host creates every stream with its consumer group when it starts, and a scan
        // walks the whole keyspace, which on a shared Redis is slow.
        var keys = streamKeys ??= (await RedisAsync(["--scan", "--pattern", keyPrefix + ":stream:*"], null, cancellationToken))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(k => !k.EndsWith(".dlq", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        if (keys.Count == 0)
        {
            return result;
        }

        // One redis-cli for every key: it reads the commands from stdin and prints raw replies, one value a line.
        var output = await RedisAsync([], string.Join('\n', keys.Select(k => "XINFO GROUPS " + k)) + "\n", cancellationToken);
        var lines = output.Split('\n', StringSplitOptions.TrimEntries);
        string? group = null;
        for (var i = 0; i < lines.Length - 1; i++)
        {
            switch (lines[i])
            {
                case "name":
                    group = lines[i + 1];
                    break;
                case "pending" or "lag" when group is not null && long.TryParse(lines[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value):
                    // The reply names no stream, so the backlog is per group, summed over its topics and shards.
                    result["stream " + group] = result.GetValueOrDefault("stream " + group) + value;
                    break;
            }
        }

        return result;
    }

    private async Task<string> RedisAsync(IReadOnlyList<string> arguments, string? input, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(redisCli)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["-h", redisHost, "-p", redisPort.ToString(CultureInfo.InvariantCulture), .. arguments])
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Cannot start " + redisCli);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ToolTimeout);
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            throw new InvalidOperationException("redis-cli did not finish within " + ToolTimeout.TotalSeconds + " s and was stopped.");
        }

        return process.ExitCode == 0 ? await output : throw new InvalidOperationException("redis-cli exited with " + process.ExitCode);
    }
}
