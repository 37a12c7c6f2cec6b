using Chat4All.BuildingBlocks.Blobs;
using Chat4All.Files.Data;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Chat4All.Files.Uploads;

/// <summary>
/// The chunk rows as a claim table (ADR 0013): <c>receiving</c> rows with a lease mark a chunk some
/// request is streaming; <c>stored</c> rows are final. Plain SQL on the data source, because each
/// statement must stand alone (no ambient transaction while bytes flow for seconds).
/// </summary>
internal static partial class ChunkClaims
{
    public enum Outcome
    {
        /// <summary>This request owns the chunk and may write it.</summary>
        Claimed,

        /// <summary>Stored already, or another live request is writing it.</summary>
        Taken,

        /// <summary>The upload no longer exists (purged meanwhile).</summary>
        UploadGone,
    }

    /// <summary>
    /// Claims chunk <paramref name="number"/>: a new row, or a <c>receiving</c> row whose lease has
    /// lapsed (its request crashed or vanished). A stored chunk is never claimed again.
    /// </summary>
    public static async Task<Outcome> TryClaimAsync(NpgsqlDataSource dataSource, Guid uploadId, int number, Guid claim, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO files.upload_chunks AS c (upload_id, chunk_number, state, size, claim_id, claimed_until)
            VALUES ($1, $2, 'receiving', 0, $3, $4)
            ON CONFLICT (upload_id, chunk_number) DO UPDATE SET claim_id = EXCLUDED.claim_id, claimed_until = EXCLUDED.claimed_until
            WHERE c.state = 'receiving' AND c.claimed_until < $5
            RETURNING c.claim_id
            """);
        command.Parameters.AddWithValue(uploadId);
        command.Parameters.AddWithValue(number);
        command.Parameters.AddWithValue(claim);
        command.Parameters.AddWithValue(until);
        command.Parameters.AddWithValue(now);
        try
        {
            return await command.ExecuteScalarAsync(cancellationToken) is Guid owner && owner == claim ? Outcome.Claimed : Outcome.Taken;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return Outcome.UploadGone;
        }
    }

    /// <summary>Records the chunk as stored, if the claim is still ours; the upload moves to <c>uploading</c> with its first chunk.</summary>
    public static async Task<bool> StoreAsync(NpgsqlDataSource dataSource, Guid uploadId, int number, Guid claim, StagedPart part, DateTimeOffset now)
    {
        await using var command = dataSource.CreateCommand("""
            WITH stored AS (
                UPDATE files.upload_chunks SET state = 'stored', size = $4, sha256 = $5, etag = $6, stored_at = $7
                WHERE upload_id = $1 AND chunk_number = $2 AND claim_id = $3 AND state = 'receiving'
                RETURNING upload_id),
            started AS (
                UPDATE files.uploads SET status = 'uploading'
                WHERE upload_id IN (SELECT upload_id FROM stored) AND status = 'pending')
            SELECT count(*) FROM stored
            """);
        command.Parameters.AddWithValue(uploadId);
        command.Parameters.AddWithValue(number);
        command.Parameters.AddWithValue(claim);
        command.Parameters.AddWithValue(part.Length);
        command.Parameters.AddWithValue(part.Sha256);
        command.Parameters.AddWithValue((object?)part.ETag ?? DBNull.Value);
        command.Parameters.AddWithValue(now);

        // Not cancellable: the bytes are in the store; recording them must not be abandoned half way.
        return await command.ExecuteScalarAsync(CancellationToken.None) is long count && count == 1;
    }

    /// <summary>Gives the chunk back (the write failed or was refused), so a retry may claim it at once.</summary>
    public static async Task ReleaseAsync(NpgsqlDataSource dataSource, Guid uploadId, int number, Guid claim)
    {
        await using var command = dataSource.CreateCommand(
            "DELETE FROM files.upload_chunks WHERE upload_id = $1 AND chunk_number = $2 AND claim_id = $3 AND state = 'receiving'");
        command.Parameters.AddWithValue(uploadId);
        command.Parameters.AddWithValue(number);
        command.Parameters.AddWithValue(claim);
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    /// <summary>Whether the upload's row still exists (the purge deletes expired ones).</summary>
    public static async Task<bool> UploadExistsAsync(NpgsqlDataSource dataSource, Guid uploadId)
    {
        await using var command = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM files.uploads WHERE upload_id = $1)");
        command.Parameters.AddWithValue(uploadId);
        return await command.ExecuteScalarAsync(CancellationToken.None) is true;
    }

    /// <summary>Extends the lease every third of it while the bytes flow; stops when disposed.</summary>
    internal sealed partial class Renewal : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public Renewal(NpgsqlDataSource dataSource, Guid uploadId, int number, Guid claim, TimeSpan lease, TimeProvider time, ILogger logger)
        {
            _loop = RunAsync(dataSource, uploadId, number, claim, lease, time, logger, _stop.Token);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _stop.Dispose();
        }

        private static async Task RunAsync(NpgsqlDataSource dataSource, Guid uploadId, int number, Guid claim, TimeSpan lease, TimeProvider time, ILogger logger, CancellationToken stop)
        {
            using var timer = new PeriodicTimer(lease / 3, time);
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    await using var command = dataSource.CreateCommand(
                        "UPDATE files.upload_chunks SET claimed_until = $4 WHERE upload_id = $1 AND chunk_number = $2 AND claim_id = $3 AND state = 'receiving'");
                    command.Parameters.AddWithValue(uploadId);
                    command.Parameters.AddWithValue(number);
                    command.Parameters.AddWithValue(claim);
                    command.Parameters.AddWithValue(time.GetUtcNow() + lease);
                    await command.ExecuteNonQueryAsync(stop);
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    // The next tick tries again; if the lease lapses, storing the chunk notices.
                    LogRenewalFailed(logger, ex, uploadId, number);
                }
            }
        }

        [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Could not renew the claim on chunk {ChunkNumber} of upload {UploadId}")]
        private static partial void LogRenewalFailed(ILogger logger, Exception exception, Guid uploadId, int chunkNumber);
    }
}
