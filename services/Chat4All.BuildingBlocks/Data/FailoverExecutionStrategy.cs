using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Chat4All.BuildingBlocks.Data;

/// <summary>
/// The one place the host survives a PostgreSQL failover (Patroni promotes a standby; HAProxy
/// moves the address to it). Every DbContext runs its work through this strategy:
/// <list type="bullet">
/// <item>On an error that means "this server is gone or is no longer the primary" it clears the
/// shared data source's pool, so no idle connection to the old primary is handed out again.</item>
/// <item>It retries a unit EF runs on its own (a query, <c>SaveChanges</c>, one
/// <c>ExecuteSql</c> — each its own implicit transaction, so a retry repeats all of it or none),
/// with short delays covering a failover of a few seconds.</item>
/// <item>Inside a transaction the caller began it does not retry — only the caller knows whether
/// repeating from the middle is safe — but it no longer refuses such transactions, as EF's own
/// retrying strategies do; the caller fails fast on a clean pool and its own loop or client retries.</item>
/// </list>
/// </summary>
public sealed class FailoverExecutionStrategy(ExecutionStrategyDependencies dependencies, NpgsqlDataSource dataSource)
    : ExecutionStrategy(dependencies, MaxRetries, MaxDelay)
{
    // 250 ms, 500 ms, then 1 s apart: about 20 s of retries, longer than a leader election.
    private const int MaxRetries = 22;
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    private bool _inCallerTransaction;

    /// <summary>
    /// True for errors a failover causes: the server shut down or restarted (57P01–57P03), it is a
    /// standby now (25006 read-only), too many connections while it starts, or the connection
    /// broke or was refused (a transient <see cref="NpgsqlException"/>, e.g. a socket error).
    /// </summary>
    public static bool IsFailoverError(Exception exception) => exception switch
    {
        PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "25006" or "53300" } => true,
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal),
        NpgsqlException { IsTransient: true } => true,
        TimeoutException => true,
        _ => exception.InnerException is { } inner && IsFailoverError(inner),
    };

    protected override void OnFirstExecution()
    {
        _inCallerTransaction = Dependencies.CurrentContext.Context.Database.CurrentTransaction is not null;
        if (_inCallerTransaction)
        {
            ExceptionsEncountered.Clear();
            return;
        }

        base.OnFirstExecution();
    }

    protected override bool ShouldRetryOn(Exception exception)
    {
        var failover = IsFailoverError(exception);
        if (failover)
        {
            dataSource.Clear();
        }

        return failover && !_inCallerTransaction;
    }

    protected override TimeSpan? GetNextDelay(Exception lastException)
    {
        var attempt = ExceptionsEncountered.Count;
        if (attempt > MaxRetryCount)
        {
            return null;
        }

        var delay = FirstDelay * Math.Pow(2, attempt - 1);
        return delay < MaxRetryDelay ? delay : MaxRetryDelay;
    }
}
