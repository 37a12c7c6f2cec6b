using Npgsql;
using Testcontainers.PostgreSql;
using Testcontainers.Redis;

namespace Chat4All.Testing;

/// <summary>
/// Where the real PostgreSQL and Redis for tests are. <c>scripts/test.sh</c> starts both on loopback
/// and exports <c>CHAT4ALL_TEST_POSTGRES</c> / <c>CHAT4ALL_TEST_REDIS</c>; only where those are
/// missing and a Docker engine exists do we fall back to Testcontainers.
/// </summary>
public static class TestInfrastructure
{
    private static readonly Lazy<Task<(string Postgres, string Redis)>> Servers = new(ResolveAsync);

    public static async Task<string> PostgresAdminConnectionStringAsync() => (await Servers.Value).Postgres;

    public static async Task<string> RedisConnectionStringAsync() => (await Servers.Value).Redis;

    /// <summary>Directory of PostgreSQL server binaries (for tests that run their own server).</summary>
    public static string PostgresBinDirectory =>
        Environment.GetEnvironmentVariable("CHAT4ALL_PG_BIN") is { Length: > 0 } bin ? bin : "/usr/lib/postgresql/15/bin";

    private static async Task<(string, string)> ResolveAsync()
    {
        var postgres = Environment.GetEnvironmentVariable("CHAT4ALL_TEST_POSTGRES");
        var redis = Environment.GetEnvironmentVariable("CHAT4ALL_TEST_REDIS");
        if (!string.IsNullOrWhiteSpace(postgres) && !string.IsNullOrWhiteSpace(redis))
        {
            return (postgres, redis);
        }

        if (!File.Exists("/var/run/docker.sock"))
        {
            throw new InvalidOperationException(
                "CHAT4ALL_TEST_POSTGRES and CHAT4ALL_TEST_REDIS are not set and no Docker engine is available. " +
                "Run the suite with scripts/test.sh, which starts PostgreSQL and Redis on loopback.");
        }

        var pg = new PostgreSqlBuilder("postgres:15").Build();
        var rd = new RedisBuilder("redis:7").Build();
        await Task.WhenAll(pg.StartAsync(), rd.StartAsync());
        return (pg.GetConnectionString(), rd.GetConnectionString());
    }
}

/// <summary>A database of its own for one test class, dropped afterwards.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _admin;

    private TestDatabase(string admin, string name, string connectionString)
    {
        _admin = admin;
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public static async Task<TestDatabase> CreateAsync()
    {
        var admin = await TestInfrastructure.PostgresAdminConnectionStringAsync();
        var name = "c4a_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 20 };
        return new TestDatabase(admin, name, builder.ConnectionString);
    }

    /// <summary>
    /// Drops the database. <c>WITH (FORCE)</c> is not used: it also tries to terminate backends of
    /// other roles (an autovacuum worker has none), which a non-superuser may not, and fails with
    /// 42501. Instead the database is closed to new connections, this role's own client backends
    /// (a host process the test left behind) are terminated, and a plain DROP, which stops
    /// autovacuum workers by itself, is retried while another session is still leaving.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        await using (var close = new NpgsqlCommand($"ALTER DATABASE \"{Name}\" ALLOW_CONNECTIONS false", connection))
        {
            try
            {
                await close.ExecuteNonQueryAsync();
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidCatalogName)
            {
                return;
            }
        }

        for (var attempt = 1; ; attempt++)
        {
            await using (var terminate = new NpgsqlCommand(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()",
                connection))
            {
                terminate.Parameters.AddWithValue(Name);
                await terminate.ExecuteNonQueryAsync();
            }

            try
            {
                await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\"", connection);
                await drop.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ObjectInUse && attempt < 20)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }
        }
    }
}
