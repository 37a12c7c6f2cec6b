using Npgsql;
using Xunit.Abstractions;

namespace Chat4All.HighAvailability.Tests;

/// <summary>
/// Faults injected under steady load through HAProxy into the real cluster of <c>scripts/ha.sh</c>:
/// a retrying client loses nothing, nothing is stored or delivered twice, and every socket comes
/// back and resumes by itself. Each test prints its report row (and appends it to
/// <c>$CHAT4ALL_TEST_RESULTS/ha-faults.md</c>); the cluster is healed before the next one.
/// </summary>
[Collection(SharedHaCluster.Name)]
public sealed class FaultToleranceTests(HaCluster cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(3);

    [Fact]
    public Task LosingOneOfThreeHostsToSigkillLosesNoAcceptedMessage() =>
        RunFaultAsync("SIGKILL one of three hosts", () => { cluster.KillHost(0); return Task.CompletedTask; }, TimeSpan.FromSeconds(8));

    [Fact]
    public async Task KillingThePostgresLeaderPromotesTheSynchronousStandbyAndLosesNothing()
    {
        Task<TimeSpan?>? healthy = null;
        await RunFaultAsync("SIGKILL PostgreSQL leader", async () =>
        {
            var killedAt = DateTimeOffset.UtcNow;
            var killed = await cluster.KillPostgresLeaderAsync();
            healthy = cluster.TimeToSynchronousLeaderAsync(killed, killedAt, TimeSpan.FromSeconds(60));
        }, TimeSpan.FromSeconds(15), () => healthy!);
    }

    [Fact]
    public Task KillingTheRedisMasterLetsSentinelPromoteTheReplicaAndLosesNothing() =>
        RunFaultAsync("SIGKILL Redis master", cluster.KillRedisMasterAsync, TimeSpan.FromSeconds(12));

    [Fact]
    public Task AHostFrozenForTwentySecondsIsRoutedAroundAndRejoins() =>
        RunFaultAsync("SIGSTOP one host for 20 s", async () =>
        {
            await cluster.FreezeHostAsync(1);
            await Task.Delay(TimeSpan.FromSeconds(20));
            await cluster.ThawHostAsync(1);
        }, TimeSpan.FromSeconds(5));

    /// <summary>
    /// A cold start after a Redis failover: Redis must come up with the master the Sentinels last
    /// promoted, or they name a replica as master and the hosts (which check the role) cannot start.
    /// The two faults run in this order in one test, whatever order xunit picks for the others.
    /// </summary>
    [Fact]
    public async Task RestartingEverythingAfterARedisFailoverStartsRedisWithTheMasterTheSentinelsKnow()
    {
        await RunFaultAsync("SIGKILL Redis master", cluster.KillRedisMasterAsync, TimeSpan.FromSeconds(12));
        await RunFaultAsync("restart everything after a Redis failover", cluster.RestartEverythingAsync, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public Task RestartingEverythingLosesNoAcceptedMessageAndEverySocketResumes() =>
        RunFaultAsync("restart everything", cluster.RestartEverythingAsync, TimeSpan.FromSeconds(5));

    /// <param name="healthyAfter">For a fault with a cluster to heal: how long until it was healthy again (reported, not asserted).</param>
    private async Task RunFaultAsync(string fault, Func<Task> inject, TimeSpan runAfter, Func<Task<TimeSpan?>>? healthyAfter = null)
    {
        var time = TimeProvider.System;
        var clients = new List<HttpClient>();
        var loadLanes = new List<(HttpClient, Guid, ResumingSocket)>();
        foreach (var lane in cluster.Lanes)
        {
            var sender = await cluster.CreateClientAsync(lane.Sender);
            clients.Add(sender);
            using var receiverClient = await cluster.CreateClientAsync(lane.Receiver);
            var token = receiverClient.DefaultRequestHeaders.Authorization!.Parameter!;
            loadLanes.Add((sender, lane.ConversationId, new ResumingSocket(cluster.Api, token, lane.ConversationId, time)));
        }

        var load = new SteadyLoad(loadLanes, time);
        FaultReport report;
        try
        {
            load.Start();
            await Task.Delay(Warmup);
            var faultAt = time.GetUtcNow();
            await inject();
            await Task.Delay(runAfter);
            await load.StopSendingAsync();
            await load.WaitForSocketsToCatchUpAsync(TimeSpan.FromSeconds(60));
            var outages = load.Lanes.Select(l => l.Socket).SelectMany(s => s.Outages).Where(o => o.Dropped >= faultAt).ToList();
            TimeSpan? back = outages.Count == 0 ? TimeSpan.Zero
                : outages.All(o => o.Resumed is not null) ? outages.Max(o => o.Resumed!.Value) - faultAt : null;
            var (lost, duplicates, delivered, deliveredTwice) = await CheckStoreAsync(load.Accepted);
            report = new FaultReport(fault, load.Accepted.Count, load.FailedRequests, [.. load.RawErrors], load.LongestWriteUnavailability,
                outages.Count, back, lost, duplicates, delivered, deliveredTwice, healthyAfter is null ? null : await healthyAfter());
            output.WriteLine(FaultReport.Header);
            output.WriteLine(report.Row());
            foreach (var (_, conversationId, socket) in load.Lanes)
            {
                var missing = load.MissingOn(socket, conversationId);
                output.WriteLine($"{socket}: {socket.GapResumes} resume(s) after a gap in the live frames");
                Assert.True(missing.Count == 0,
                    $"{socket} misses {missing.Count} accepted messages (seqs {string.Join(",", missing.Take(10))}…); " +
                    $"outages {string.Join("; ", socket.Outages.Select(o => $"{o.Dropped:HH:mm:ss.f}→{o.Resumed:HH:mm:ss.f}"))}; fault at {faultAt:HH:mm:ss.f}\n" +
                    cluster.HostLogs());
            }
        }
        finally
        {
            await load.DisposeAsync();
            foreach (var client in clients)
            {
                client.Dispose();
            }

            await cluster.HealAsync();
        }

        if (Environment.GetEnvironmentVariable("CHAT4ALL_TEST_RESULTS") is { Length: > 0 } results)
        {
            var file = Path.Combine(results, "ha-faults.md");
            await File.AppendAllTextAsync(file, (File.Exists(file) ? "" : FaultReport.Header + "\n") + report.Row() + "\n");
        }

        Assert.True(load.Accepted.Count > 0, "no send was accepted at all");
        Assert.Equal(0, report.FailedRequests);
        Assert.Equal(0, report.Lost);
        Assert.Equal(0, report.Duplicates);
        Assert.Equal(0, report.DeliveredTwice);
        Assert.Equal(report.Accepted, report.Delivered);
        Assert.NotNull(report.EverySocketBackAfter);
    }

    /// <summary>
    /// Against the store: accepted messages missing (lost), messages stored twice (same text),
    /// accepted messages a provider got, and deliveries a provider got more than once.
    /// Deliveries are awaited for up to 60 s.
    /// </summary>
    private async Task<(int Lost, int Duplicates, int Delivered, int DeliveredTwice)> CheckStoreAsync(IReadOnlyCollection<AcceptedSend> accepted)
    {
        var ids = accepted.Select(a => a.MessageId).ToArray();
        var conversations = accepted.Select(a => a.ConversationId).Distinct().ToArray();
        var lost = (int)await ScalarAsync<long>(
            "SELECT count(*) FROM unnest(@ids) AS a(id) WHERE NOT EXISTS (SELECT 1 FROM messaging.messages m WHERE m.message_id = a.id)",
            ("ids", ids));
        var duplicates = (int)await ScalarAsync<long>(
            "SELECT count(*) FROM (SELECT text FROM messaging.messages WHERE conversation_id = ANY(@c) GROUP BY text HAVING count(*) > 1) d",
            ("c", conversations));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        long delivered;
        while (true)
        {
            delivered = await ScalarAsync<long>(
                "SELECT count(DISTINCT substr(delivery_key, 10, 32)) FROM delivery.provider_messages WHERE substr(delivery_key, 10, 32) = ANY(@ids)",
                ("ids", ids.Select(i => i.ToString("N")).ToArray()));
            if (delivered >= ids.Length || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(500);
        }

        var deliveredTwice = (int)await ScalarAsync<long>(
            "SELECT count(*) FROM (SELECT delivery_key FROM delivery.provider_messages WHERE substr(delivery_key, 10, 32) = ANY(@ids) GROUP BY delivery_key HAVING count(*) > 1) d",
            ("ids", ids.Select(i => i.ToString("N")).ToArray()));
        return (lost, duplicates, (int)delivered, deliveredTwice);
    }

    private async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(cluster.AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }
}
