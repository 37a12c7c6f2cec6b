using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Chat4All.HighAvailability.Tests;

/// <summary>The restore drill: a base backup plus archived WAL brings back exactly what was committed before a chosen moment.</summary>
[Collection(SharedHaCluster.Name)]
public sealed class RestoreDrillTests(HaCluster cluster)
{
    [Fact]
    public async Task RestoringToAPointInTimeFindsExactlyTheRowsCommittedBeforeIt()
    {
        var table = "drill_" + Guid.NewGuid().ToString("N")[..8];
        await ExecuteAsync(cluster.AdminConnectionString, $"CREATE TABLE {table} (n int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
        await InsertAsync(table, 1, 5);
        await cluster.HaScriptAsync(TimeSpan.FromMinutes(2), "backup");
        await Task.Delay(TimeSpan.FromSeconds(1.1)); // backups are chosen by their start second
        await InsertAsync(table, 6, 10);
        var target = await ScalarAsync<DateTime>(cluster.AdminConnectionString, "SELECT clock_timestamp()");
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        await InsertAsync(table, 11, 15);

        var directory = Path.Combine(cluster.DataDirectory, "restore-" + Guid.NewGuid().ToString("N")[..8]);
        var port = int.Parse((await cluster.HaScriptAsync(TimeSpan.FromMinutes(3), "restore",
            target.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.ffffff'+00'", CultureInfo.InvariantCulture), directory)).Trim(),
            CultureInfo.InvariantCulture);
        try
        {
            var restored = new NpgsqlConnectionStringBuilder(cluster.AdminConnectionString) { Host = "127.0.0.1", Port = port }.ConnectionString;
            var rows = await ScalarAsync<int[]>(restored, $"SELECT coalesce(array_agg(n ORDER BY n), '{{}}') FROM {table}");

            Assert.Equal(Enumerable.Range(1, 10), rows);
        }
        finally
        {
            string[] pgCtl = [Path.Combine(TestInfrastructure.PostgresBinDirectory, "pg_ctl"), "-D", directory, "-m", "immediate", "stop"];
            using var stop = Environment.UserName == "root" ? Process.Start("runuser", ["-u", "postgres", "--", .. pgCtl])! : Process.Start(pgCtl[0], pgCtl[1..])!;
            await stop.WaitForExitAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private async Task InsertAsync(string table, int from, int to)
    {
        // One commit per row: the restore must cut between two of them.
        for (var n = from; n <= to; n++)
        {
            await ExecuteAsync(cluster.AdminConnectionString, string.Create(CultureInfo.InvariantCulture, $"INSERT INTO {table} (n) VALUES ({n})"));
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
