using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Data;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Chat4All.Messaging.Receipts;

/// <summary>
/// Applies delivery's <c>message.status_changed</c> to receipts, monotonically: a status only moves
/// up (accepted → sent → delivered → read), <c>failed</c> is terminal and never overrides a delivery
/// that got further, so duplicated or reordered events cannot move anything backwards. The one way
/// out of <c>failed</c> is an operator's replay: delivery then announces the next status with
/// <c>old_status: failed</c>, which only a replayed delivery ever does. An accepted delivery may be
/// announced again as accepted with an error: a retry is scheduled, and the sender sees why.
/// A read batch is applied in one transaction and one round trip: an upsert per event, in stream
/// order, then one aggregate update per message touched (docs/adr/0038). An event that reports what
/// an edit or delete did on the channel (<c>channel_change</c>) sets it on the receipt, the latest
/// change (by seq) winning (docs/adr/0065).
/// </summary>
public sealed class StatusChangedConsumer(MessagingDbContext db) : IIntegrationEventBatchConsumer<MessageStatusChanged>
{
    // One statement per event: insert, or move forward only. rank() is spelled out as CASE for PostgreSQL.
    private const string Upsert = """
        INSERT INTO messaging.receipts AS r (message_id, recipient_id, channel, status, error, fallback_from, updated_at)
        SELECT $1, $2, $3, $4, $5, $6, $7
        WHERE EXISTS (SELECT 1 FROM messaging.messages WHERE message_id = $1)
        ON CONFLICT (message_id, recipient_id, channel) DO UPDATE
          SET status = EXCLUDED.status, error = EXCLUDED.error, fallback_from = coalesce(EXCLUDED.fallback_from, r.fallback_from),
              updated_at = EXCLUDED.updated_at
          WHERE (r.status NOT IN ('read', 'failed')
            AND (CASE EXCLUDED.status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'failed' THEN 4 ELSE 0 END)
              > (CASE r.status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'failed' THEN 4 ELSE 0 END))
            OR (r.status = 'failed' AND $8)
            OR (r.status = 'accepted' AND EXCLUDED.status = 'accepted')
        """;

    // What an edit or delete did on the channel: the latest change's outcome wins, whatever order they come in.
    private const string SetChannelChange = """
        UPDATE messaging.receipts SET channel_change = $4, channel_change_seq = $5
        WHERE message_id = $1 AND recipient_id = $2 AND channel = $3 AND (channel_change_seq IS NULL OR channel_change_seq <= $5)
        """;

    // A message shows the furthest state any of its deliveries reached; failed only if none got anywhere.
    private const string Aggregate = """
        UPDATE messaging.messages m SET status = agg.status
        FROM (
          SELECT message_id,
                 CASE max(CASE status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 ELSE 0 END)
                   WHEN 3 THEN 'read' WHEN 2 THEN 'delivered' WHEN 1 THEN 'sent'
                   ELSE CASE WHEN bool_and(status = 'failed') THEN 'failed' ELSE 'accepted' END END AS status
          FROM messaging.receipts WHERE message_id = ANY($1) GROUP BY message_id
        ) agg
        WHERE m.message_id = agg.message_id AND m.status <> agg.status
        """;

    public async Task HandleBatchAsync(IReadOnlyList<ReceivedEvent<MessageStatusChanged>> integrationEvents, CancellationToken cancellationToken)
    {
        // Check every event first: one with an unknown status fails the batch before anything is written.
        var changes = integrationEvents.Select(e => Checked(e.Data)).ToList();

        var strategy = db.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async ct =>
        {
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync(ct);
            try
            {
                await using var transaction = await connection.BeginTransactionAsync(ct);
                await using var batch = new NpgsqlBatch(connection, transaction);
                foreach (var change in changes)
                {
                    if (change.ChannelChange is not null)
                    {
                        batch.BatchCommands.Add(new NpgsqlBatchCommand(SetChannelChange)
                        {
                            Parameters =
                            {
                                new NpgsqlParameter<Guid> { TypedValue = change.MessageId },
                                new NpgsqlParameter<Guid> { TypedValue = change.RecipientId },
                                new NpgsqlParameter<string> { TypedValue = change.Channel },
                                new NpgsqlParameter<string> { TypedValue = change.ChannelChange },
                                new NpgsqlParameter<long> { TypedValue = change.ChangeSeq ?? 0 },
                            },
                        });
                        if (change.OldStatus == change.NewStatus)
                        {
                            continue; // only the change's outcome: the status did not move
                        }
                    }

                    var replayed = change.OldStatus == DeliveryStatuses.Failed && change.NewStatus != DeliveryStatuses.Failed;
                    batch.BatchCommands.Add(new NpgsqlBatchCommand(Upsert)
                    {
                        Parameters =
                        {
                            new NpgsqlParameter<Guid> { TypedValue = change.MessageId },
                            new NpgsqlParameter<Guid> { TypedValue = change.RecipientId },
                            new NpgsqlParameter<string> { TypedValue = change.Channel },
                            new NpgsqlParameter<string> { TypedValue = change.NewStatus },
                            new NpgsqlParameter<string?> { TypedValue = change.Error, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                            new NpgsqlParameter<string?> { TypedValue = change.FallbackFrom, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                            new NpgsqlParameter<DateTimeOffset> { TypedValue = change.UpdatedAt.ToUniversalTime() },
                            new NpgsqlParameter<bool> { TypedValue = replayed },
                        },
                    });
                }

                batch.BatchCommands.Add(new NpgsqlBatchCommand(Aggregate)
                {
                    Parameters = { new NpgsqlParameter<Guid[]> { TypedValue = [.. changes.Select(c => c.MessageId).Distinct()] } },
                });
                await batch.ExecuteNonQueryAsync(ct);
                await transaction.CommitAsync(ct);
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        }, cancellationToken);
    }

    private static MessageStatusChanged Checked(MessageStatusChanged change) =>
        DeliveryStatuses.Rank(change.NewStatus) < 0
            ? throw new JsonException($"Unknown delivery status '{change.NewStatus}'.")
            : change;
}
