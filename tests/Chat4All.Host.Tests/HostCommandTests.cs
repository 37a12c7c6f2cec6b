using System.Net;
using System.Text.Json;

namespace Chat4All.Host.Tests;

/// <summary>The host binary as the README runs it: commands that exit, and serving until Ctrl-C.</summary>
public sealed class HostCommandTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _data = new();
    private TestDatabase _database = null!;
    private Dictionary<string, string> _environment = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _environment = HostProcess.Environment(_database.ConnectionString, await TestInfrastructure.RedisConnectionStringAsync(),
            _data.Path, HostProcess.KeyPrefix("cmd"));
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task MigrateAppliesEveryMigrationOnceAndExits()
    {
        var first = await HostProcess.RunAsync(_environment, "migrate");
        var second = await HostProcess.RunAsync(_environment, "migrate");

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("IdentityDbContext: applied", first.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("IdentityDbContext: up to date", second.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsersCreatePrintsOneJsonObjectWhoseCredentialsWork()
    {
        await HostProcess.RunAsync(_environment, "migrate");

        var (exitCode, stdout, stderr) = await HostProcess.RunAsync(_environment, "users", "create", "--name", "heidi", "--scopes", "messages,admin");

        Assert.True(exitCode == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var user = json.RootElement;
        Assert.True(Guid.TryParse(user.GetProperty("user_id").GetString(), out _));
        Assert.Equal(["messages", "admin"], user.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        await using var host = await new Chat4AllHost(_database.ConnectionString, _environment["ConnectionStrings__Redis"], _data.Path).StartAsync();
        using var client = host.CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(client, new TestUser(Guid.Parse(user.GetProperty("user_id").GetString()!), "heidi",
            user.GetProperty("client_id").GetString()!, user.GetProperty("client_secret").GetString()!, []));
        Assert.Contains("admin", token.Scope!.Split(' '));
    }

    [Fact]
    public async Task UsersCreateRefusesBadInputWithANonZeroExitAndAMessage()
    {
        await HostProcess.RunAsync(_environment, "migrate");

        var missingName = await HostProcess.RunAsync(_environment, "users", "create");
        var badScope = await HostProcess.RunAsync(_environment, "users", "create", "--name", "ivan", "--scopes", "root");

        Assert.Equal(2, missingName.ExitCode);
        Assert.Contains("--name", missingName.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, badScope.ExitCode);
        Assert.Contains("Unknown scope", badScope.Stderr, StringComparison.Ordinal);
        Assert.Equal("", badScope.Stdout.Trim());
    }

    [Fact]
    public async Task SeedDemoWritesAtLeastFourWorkingUsersAndKeepsThemOnTheNextRun()
    {
        await HostProcess.RunAsync(_environment, "migrate");
        var file = Path.Combine(_data.Path, "demo-users.json");

        var first = await HostProcess.RunAsync(_environment, "users", "seed-demo", "--output", file);
        var firstUsers = await File.ReadAllTextAsync(file);
        var second = await HostProcess.RunAsync(_environment, "users", "seed-demo", "--output", file);

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(firstUsers, await File.ReadAllTextAsync(file));
        var users = JsonSerializer.Deserialize<JsonElement[]>(firstUsers)!;
        Assert.True(users.Length >= 4);
        await using var host = await new Chat4AllHost(_database.ConnectionString, _environment["ConnectionStrings__Redis"], _data.Path).StartAsync();
        using var client = host.CreateHttpClient();
        foreach (var user in users)
        {
            Assert.False(string.IsNullOrEmpty(user.GetProperty("name").GetString()));
            await OAuth.RequestTokenAsync(client, new TestUser(user.GetProperty("user_id").GetGuid(), user.GetProperty("name").GetString()!,
                user.GetProperty("client_id").GetString()!, user.GetProperty("client_secret").GetString()!, []));
        }
    }

    [Fact]
    public async Task SeedDemoRepairsAFileWhoseSecretsNoLongerWork()
    {
        await HostProcess.RunAsync(_environment, "migrate");
        var file = Path.Combine(_data.Path, "demo-users.json");
        await HostProcess.RunAsync(_environment, "users", "seed-demo", "--output", file);
        var stale = (await File.ReadAllTextAsync(file)).Replace("\"client_secret\": \"", "\"client_secret\": \"stale", StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, stale);

        var rerun = await HostProcess.RunAsync(_environment, "users", "seed-demo", "--output", file);

        Assert.Equal(0, rerun.ExitCode);
        Assert.DoesNotContain("\"client_secret\": \"stale", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownTargetRefusesToStartWithAClearMessage()
    {
        var (exitCode, stdout, stderr) = await HostProcess.RunAsync(_environment, "--target", "identity,bogus", "--urls", "http://127.0.0.1:0");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Unknown target 'bogus'", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheServerLogsJsonLinesCarryingRequestAndTraceIdsAndStopsCleanlyOnCtrlC()
    {
        await HostProcess.RunAsync(_environment, "migrate");
        using var host = HostProcess.Start(new Dictionary<string, string>(_environment) { ["Serilog__MinimumLevel__Default"] = "Information" },
            "--target", "all", "--urls", HostProcess.AnyLoopbackPort);
        using var client = new HttpClient { BaseAddress = await host.WaitForAddressAsync() };
        await host.WaitUntilServingAsync(client);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/me") { Headers = { { "X-Request-ID", "log-probe-1" } } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(request)).StatusCode);
        host.Interrupt();
        int exitCode;
        try
        {
            exitCode = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));
        }
        catch (OperationCanceledException)
        {
            // Say where shutdown stopped: the last lines show which service had not finished.
            var output = host.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Fail("The host did not exit within 60 s of Ctrl-C. Last output:\n" + string.Join('\n', output.TakeLast(30)) + "\n" + host.StandardError);
            throw;
        }

        Assert.Equal(0, exitCode);
        var lines = host.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement) // every line is one JSON object
            .ToList();
        var requestLine = lines.First(l => l.TryGetProperty("request_id", out var id) && id.GetString() == "log-probe-1" &&
                                           l.GetProperty("category").GetString() == "Serilog.AspNetCore.RequestLoggingMiddleware");
        Assert.Equal("chat4all", requestLine.GetProperty("service").GetString());
        Assert.Matches("^[0-9a-f]{32}$", requestLine.GetProperty("trace_id").GetString());
        Assert.Equal(16, requestLine.GetProperty("span_id").GetString()!.Length);
        Assert.True(requestLine.TryGetProperty("timestamp", out _));
        Assert.True(requestLine.TryGetProperty("level", out _));
        Assert.Contains(lines, l => l.GetProperty("category").GetString() == "Chat4All.Audit" &&
                                    l.GetProperty("EventId").GetProperty("Name").GetString() == "auth.bearer_rejected");
    }
}
