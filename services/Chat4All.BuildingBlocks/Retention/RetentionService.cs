using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Retention;

/// <summary>
/// The one retention job of a process: every <see cref="RetentionOptions.Interval"/> it runs each
/// registered <see cref="RetentionRule"/> in batches until nothing older than the rule's age is left.
/// Several instances may run it at once: each DELETE removes what it finds, and a row two
/// instances pick is deleted once.
/// </summary>
public sealed partial class RetentionService(
    IEnumerable<RetentionRule> rules,
    IServiceScopeFactory scopes,
    IOptions<RetentionOptions> options,
    TimeProvider time,
    ILogger<RetentionService> logger) : BackgroundService
{
    /// <summary>One pass over every rule; returns the rows deleted per rule.</summary>
    public async Task<IReadOnlyDictionary<string, long>> RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var deleted = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            if (!settings.Ages.TryGetValue(rule.Name, out var age))
            {
                continue; // validated at start: every rule has an age
            }

            var cutoff = time.GetUtcNow() - age;
            long total = 0;
            int batch;
            do
            {
                await using var scope = scopes.CreateAsyncScope();
                batch = await rule.PurgeBatchAsync(scope.ServiceProvider, cutoff, settings.BatchSize, cancellationToken);
                total += batch;
            }
            while (batch >= settings.BatchSize);

            deleted[rule.Name] = deleted.GetValueOrDefault(rule.Name) + total;
            if (total > 0)
            {
                LogPurged(logger, rule.Name, total, cutoff);
            }
        }

        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        // The first pass waits one interval too: start-up is busy, and migrations may still be running.
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.Interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A failed pass (a database failover, say) is retried on the next one.
                LogPassFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(EventId = 6100, Level = LogLevel.Information, Message = "Retention {Rule}: deleted {Count} rows older than {Cutoff}")]
    private static partial void LogPurged(ILogger logger, string rule, long count, DateTimeOffset cutoff);

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "Retention pass failed; retrying on the next pass")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
