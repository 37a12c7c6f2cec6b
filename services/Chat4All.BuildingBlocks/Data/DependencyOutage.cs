using Npgsql;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.Data;

/// <summary>
/// Tells a dependency that is down or failing over from a request or code that is wrong: Redis or
/// PostgreSQL could not be reached, a connection was cut, or the primary is shutting down, seen on
/// the exception itself or one it wraps (an execution strategy's retry limit wraps the last
/// failure). A request answers such a failure with 503; a background loop waits and tries again.
/// </summary>
public static class DependencyOutage
{
    public static bool Is(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case RedisConnectionException or RedisTimeoutException:
                // Class 08: connection exceptions; 57P01–57P03: admin or crash shutdown, cannot connect now.
                case PostgresException { SqlState: var state } when state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("57P0", StringComparison.Ordinal):
                case NpgsqlException { IsTransient: true } and not PostgresException:
                    return true;
            }
        }

        return false;
    }
}
