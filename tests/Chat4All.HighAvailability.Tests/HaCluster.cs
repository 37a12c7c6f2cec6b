using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

namespace Chat4All.HighAvailability.Tests;

/// <summary>
/// The cluster <c>scripts/ha.sh up</c> runs (etcd, three PostgreSQL nodes under Patroni, HAProxy,
/// Redis master + replica + three Sentinels) on a port range and data directory of its own, plus
/// three host processes behind HAProxy that the tests start, kill, freeze and restart. The
/// platform's state lives in a fresh database, dropped at the end.
/// </summary>
public sealed class HaCluster : IAsyncLifetime
{
    // The fault tests' own ports (25000–25018) and directory, apart from a developer's `ha.sh up`.
    private const string PortBase = "25000";
    private readonly HostProcess?[] _hosts = new HostProcess?[3];
    private readonly TemporaryDirectory _hostData = new("chat4all-ha-keys-");
    private Dictionary<string, string> _clusterEnv = [];
    private string _database = "";

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public string DataDirectory { get; } = Path.Combine(RepositoryRoot, ".chat4all", "ha", "tests");

    public Uri Api => new(_clusterEnv["CHAT4ALL_HA_API"] + "/");

    public IReadOnlyList<int> HostPorts { get; private set; } = [];

    /// <summary>Superuser on the test database, through HAProxy (so: the current leader). No pooling: each check reconnects.</summary>
    public string AdminConnectionString => new NpgsqlConnectionStringBuilder(_clusterEnv["CHAT4ALL_HA_POSTGRES_ADMIN"])
    {
        Database = _database, Pooling = false, Timeout = 5, CommandTimeout = 15,
    }.ConnectionString;

    public async Task InitializeAsync()
    {
        await HaScriptAsync(TimeSpan.FromMinutes(5), "up");
        _clusterEnv = ParseExports(await HaScriptAsync(TimeSpan.FromSeconds(30), "env"));
        HostPorts = [.. _clusterEnv["CHAT4ALL_HA_HOST_PORTS"].Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture))];
        _database = "c4a_ha_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = "postgres" }.ConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{_database}\" OWNER chat4all", admin);
            await create.ExecuteNonQueryAsync();
        }

        var (exitCode, _, stderr) = await HostProcess.RunAsync(HostEnvironment(0), "migrate");
        Assert.True(exitCode == 0, stderr);
        await Task.WhenAll(Enumerable.Range(0, 3).Select(StartHostAsync));

        // Three sender → receiver conversations; receivers have a Telegram address, so every message is also delivered.
        var users = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => CreateUserAsync()));
        var lanes = new List<Lane>();
        for (var i = 0; i < 3; i++)
        {
            var (sender, receiver) = (users[2 * i], users[(2 * i) + 1]);
            await AddTelegramAddressAsync(receiver.UserId);
            using var client = await CreateClientAsync(sender);
            lanes.Add(new Lane(sender, receiver, await CreateConversationAsync(client, receiver.UserId)));
        }

        Lanes = lanes;
    }

    /// <summary>One sender's conversation with one receiver, who watches it on a socket.</summary>
    public sealed record Lane(TestUser Sender, TestUser Receiver, Guid ConversationId);

    public IReadOnlyList<Lane> Lanes { get; private set; } = [];

    /// <summary>Settings of host <paramref name="index"/>: the cluster's connection strings (HAProxy, Sentinel), shared keys, a fast heartbeat.</summary>
    public Dictionary<string, string> HostEnvironment(int index) => new()
    {
        ["ASPNETCORE_URLS"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{HostPorts[index]}"),
        ["ConnectionStrings__Postgres"] = new NpgsqlConnectionStringBuilder(_clusterEnv["ConnectionStrings__Postgres"]) { Database = _database }.ConnectionString,
        ["ConnectionStrings__Redis"] = _clusterEnv["ConnectionStrings__Redis"],
        ["Chat4All__Runtime"] = "standalone",
        ["Chat4All__Targets"] = "all",
        ["Chat4All__DataDirectory"] = _hostData.Path,
        ["Chat4All__Auth__Issuer"] = Api.ToString(),
        ["Chat4All__RateLimiting__Budgets__default__PermitLimit"] = "100000",
        // A client behind a frozen host learns it within seconds, not after the default 40 s.
        ["Chat4All__Realtime__HeartbeatInterval"] = "00:00:02",
        ["Chat4All__Realtime__PongTimeout"] = "00:00:01.500",
        ["Serilog__MinimumLevel__Default"] = "Warning",
    };

    public async Task StartHostAsync(int index)
    {
        _hosts[index]?.Dispose();
        var host = HostProcess.Start(HostEnvironment(index), "--target", "all");
        _hosts[index] = host;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            try
            {
                using var ready = await http.GetAsync(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{HostPorts[index]}/ready"));
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"host {index + 1} did not become ready: {host.StandardError}{host.StandardOutput}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>The last warnings and errors each host logged, to explain a failed check.</summary>
    public string HostLogs(int lines = 15) => string.Join("\n", _hosts.Select((h, i) =>
        $"--- host {i + 1}:\n" + string.Join("\n", (h?.StandardOutput + h?.StandardError).Split('\n').TakeLast(lines))));

    /// <summary>SIGKILL of one host: it dies mid-request with nothing flushed.</summary>
    public void KillHost(int index) => _hosts[index]?.Kill();

    /// <summary>SIGSTOP / SIGCONT: a hung process that keeps its sockets open but answers nothing.</summary>
    public Task FreezeHostAsync(int index) => SignalAsync("-STOP", _hosts[index]!.Id);

    public Task ThawHostAsync(int index) => SignalAsync("-CONT", _hosts[index]!.Id);

    /// <summary>SIGKILL of the PostgreSQL leader node (Patroni and its postmaster); returns its name.</summary>
    public async Task<string> KillPostgresLeaderAsync() => (await HaScriptAsync(TimeSpan.FromSeconds(60), "kill", "pg-leader")).Trim();

    /// <summary>
    /// How long after <paramref name="since"/> the surviving Patroni nodes report a healthy cluster again:
    /// a running leader other than <paramref name="killed"/> and a streaming synchronous standby, so
    /// writes are synchronously replicated once more. Null if that takes longer than <paramref name="limit"/>.
    /// </summary>
    public async Task<TimeSpan?> TimeToSynchronousLeaderAsync(string killed, DateTimeOffset since, TimeSpan limit)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        // Node N (pgN) answers on the N-th of ha.sh's Patroni REST ports.
        var restPorts = _clusterEnv["CHAT4ALL_HA_PATRONI_PORTS"].Split(',');
        while (DateTimeOffset.UtcNow - since < limit)
        {
            for (var node = 1; node <= restPorts.Length; node++)
            {
                if ($"pg{node}" == killed)
                {
                    continue;
                }

                try
                {
                    using var document = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{restPorts[node - 1]}/cluster")));
                    var members = document.RootElement.GetProperty("members").EnumerateArray().Select(m => (
                        Name: m.GetProperty("name").GetString(),
                        Role: m.GetProperty("role").GetString(),
                        State: m.GetProperty("state").GetString())).ToList();
                    if (members.Any(m => m.Role == "leader" && m.Name != killed && m.State == "running")
                        && members.Any(m => m.Role == "sync_standby" && m.State is "streaming" or "running"))
                    {
                        return DateTimeOffset.UtcNow - since;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or KeyNotFoundException)
                {
                    // that node is not answering yet; ask the next
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }

        return null;
    }

    /// <summary>SIGKILL of the Redis master; returns its name.</summary>
    public async Task<string> KillRedisMasterAsync() => (await HaScriptAsync(TimeSpan.FromSeconds(60), "kill", "redis-master")).Trim();

    /// <summary>Brings back whatever is down (the killed node rejoins as a replica) and waits for a healthy cluster and three ready hosts.</summary>
    public async Task HealAsync()
    {
        await HaScriptAsync(TimeSpan.FromMinutes(3), "up");
        for (var i = 0; i < 3; i++)
        {
            if (_hosts[i] is not { } host || !IsRunning(host))
            {
                await StartHostAsync(i);
            }
        }
    }

    /// <summary>Everything down — hosts (Ctrl-C), Sentinels, Redis, Patroni and PostgreSQL, HAProxy, etcd — and up again.</summary>
    public async Task RestartEverythingAsync()
    {
        foreach (var host in _hosts.OfType<HostProcess>())
        {
            host.Interrupt();
        }

        foreach (var host in _hosts.OfType<HostProcess>())
        {
            try
            {
                await host.WaitForExitAsync(TimeSpan.FromSeconds(30));
            }
            catch (OperationCanceledException)
            {
                host.Kill();
            }
        }

        await HaScriptAsync(TimeSpan.FromMinutes(2), "down");
        await HaScriptAsync(TimeSpan.FromMinutes(5), "up");
        await Task.WhenAll(Enumerable.Range(0, 3).Select(StartHostAsync));
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts.OfType<HostProcess>())
        {
            host.Dispose();
        }

        try
        {
            await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = "postgres" }.ConnectionString);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
        finally
        {
            // The cluster is stopped (its data kept for the next run, which starts in seconds).
            await HaScriptAsync(TimeSpan.FromMinutes(2), "down");
            _hostData.Dispose();
        }
    }

    /// <summary>A user provisioned by the host's own <c>users create</c> command.</summary>
    public Task<TestUser> CreateUserAsync() => HostProcess.CreateUserAsync(HostEnvironment(0));

    /// <summary>Gives <paramref name="userId"/> a Telegram address, so messages to them are delivered by the simulated provider.</summary>
    public async Task AddTelegramAddressAsync(Guid userId)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            "INSERT INTO delivery.channel_addresses (user_id, channel, address, updated_at) VALUES (@u, 'telegram', @a, now())", connection);
        insert.Parameters.AddWithValue("u", userId);
        insert.Parameters.AddWithValue("a", "@ha_" + userId.ToString("N")[..12]);
        await insert.ExecuteNonQueryAsync();
    }

    public async Task<HttpClient> CreateClientAsync(TestUser user)
    {
        var client = new HttpClient { BaseAddress = Api, Timeout = Timeout.InfiniteTimeSpan };
        var token = await OAuth.RequestTokenAsync(client, user);
        client.DefaultRequestHeaders.Authorization = new("Bearer", token.AccessToken);
        return client;
    }

    /// <summary>
    /// Users provisioned a moment ago become members-to-be once messaging has consumed their
    /// <c>user.created</c>; until then the answer is 422 <c>unknown_members</c>, which a client retries.
    /// </summary>
    public static async Task<Guid> CreateConversationAsync(HttpClient client, Guid member)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var response = await client.PostAsJsonAsync("/v1/conversations", new { type = "private", members = new[] { member } });
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (response.StatusCode == HttpStatusCode.UnprocessableEntity && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
                continue;
            }

            Assert.True(response.IsSuccessStatusCode, body.ToString());
            return body.GetProperty("conversation_id").GetGuid();
        }
    }

    private static bool IsRunning(HostProcess host)
    {
        try
        {
            using var process = Process.GetProcessById(host.Id);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static async Task SignalAsync(string signal, int pid)
    {
        using var kill = Process.Start("kill", [signal, pid.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
    }

    /// <summary>Runs <c>scripts/ha.sh</c> against this cluster; returns its stdout.</summary>
    public async Task<string> HaScriptAsync(TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot, "scripts", "ha.sh"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["CHAT4ALL_HA_DATA"] = DataDirectory;
        info.Environment["CHAT4ALL_HA_PORT_BASE"] = PortBase;
        info.Environment["CHAT4ALL_HA_HOSTS"] = "0";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cancel.Token);
        Assert.True(process.ExitCode == 0, $"ha.sh {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    private static Dictionary<string, string> ParseExports(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // `export NAME=value`, value shell-quoted by printf %q: these values never need more than backslashes removed.
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            values[line["export ".Length..eq]] = line[(eq + 1)..].Replace("\\", "", StringComparison.Ordinal).Trim('\'');
        }

        return values;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "scripts", "ha.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("scripts/ha.sh not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Every test on the cluster shares it and runs one after another (a fault must not overlap another).</summary>
[CollectionDefinition(Name)]
public sealed class SharedHaCluster : ICollectionFixture<HaCluster>
{
    public const string Name = "ha cluster";
}
