using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.BuildingBlocks.Retention;

/// <summary>
/// One kind of data that must not grow forever: deletes up to <c>batch</c> rows older than the
/// cutoff and returns how many it deleted (fewer than <c>batch</c>: nothing old is left).
/// </summary>
public sealed record RetentionRule(string Name, Func<IServiceProvider, DateTimeOffset, int, CancellationToken, Task<int>> PurgeBatchAsync);

public static class RetentionRules
{
    public const string Outbox = "outbox";
    public const string RealtimeMessageLog = "realtime-message-log";
    public const string ProviderMessages = "provider-messages";
    public const string FinishedDeliveries = "finished-deliveries";
    public const string ExpiredTokens = "expired-tokens";
    public const string ConsumedStreamEntries = "consumed-stream-entries";
    public const string WebhookDeliveries = "webhook-deliveries";
    public const string ChannelChanges = "channel-changes";

    /// <summary>
    /// Deletes rows of <paramref name="table"/> (in the context's schema) whose
    /// <paramref name="timestampColumn"/> is older than the cutoff; rows where it is NULL (e.g. an
    /// outbox row not yet published) are never touched.
    /// </summary>
    public static RetentionRule Table<TContext>(string name, string table, string timestampColumn)
        where TContext : DbContext =>
        Where<TContext>(name, table, $"\"{timestampColumn}\" < {{0}}");

    /// <summary>
    /// Deletes rows of <paramref name="table"/> (in the context's schema) that match
    /// <paramref name="condition"/>, SQL in which <c>{0}</c> is the cutoff.
    /// </summary>
    public static RetentionRule Where<TContext>(string name, string table, string condition)
        where TContext : DbContext =>
        new(name, async (services, cutoff, batch, cancellationToken) =>
        {
            var db = services.GetRequiredService<TContext>();
            var qualified = $"\"{db.Model.GetDefaultSchema()}\".\"{table}\"";
            // ctid batches: one short statement per batch, whatever the table's key.
#pragma warning disable EF1002 // identifiers and conditions come from code, values are parameters
            return await db.Database.ExecuteSqlRawAsync(
                $"DELETE FROM {qualified} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {qualified} WHERE {condition} LIMIT {{1}}))",
                [cutoff, batch], cancellationToken);
#pragma warning restore EF1002
        });
}
