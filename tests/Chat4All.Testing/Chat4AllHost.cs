using Chat4All.BuildingBlocks.Data;
using Chat4All.Contracts;
using Chat4All.Identity.Users;
using Chat4All.Messaging.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Testing;

/// <summary>
/// The real host (<c>Program</c>) on Kestrel on a loopback port, configured like the main job but
/// against a test database, the test Redis and a private data directory.
/// </summary>
public sealed class Chat4AllHost : WebApplicationFactory<Program>
{
    public const string TestIssuer = "http://chat4all.test/";

    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _configureServices;

    public Chat4AllHost(string postgres, string redis, string dataDirectory, IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null)
    {
        _configureServices = configureServices;
        _settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = postgres,
            ["ConnectionStrings:Redis"] = redis,
            ["Chat4All:Targets"] = "all",
            ["Chat4All:Runtime"] = "standalone",
            ["Chat4All:DataDirectory"] = dataDirectory,
            ["Chat4All:Auth:Issuer"] = TestIssuer,
            ["Serilog:MinimumLevel:Default"] = "Warning",
            // Every test host shares Redis and the source address 127.0.0.1, so one per-address
            // token budget would be drawn down by every suite running at the same time.
            ["Chat4All:RateLimiting:Budgets:token_address:PermitLimit"] = "1000000",
            // Streams of their own per test database (instances over one database share them), so another
            // test's host in the shared Redis never consumes this one's events (user.created above all).
            ["Chat4All:EventBus:KeyPrefix"] = "c4a-" + new Npgsql.NpgsqlConnectionStringBuilder(postgres).Database,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        UseKestrel(0); // the kernel picks the port as Kestrel binds; StartAsync reads it back
    }

    /// <summary>The loopback port Kestrel bound (known once <see cref="StartAsync"/> has run).</summary>
    public int Port { get; private set; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>Starts the server and applies every service's migrations, as the <c>migrate</c> command does.</summary>
    public async Task<Chat4AllHost> StartAsync()
    {
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        Port = new Uri(address).Port;
        foreach (var migration in Services.GetServices<IDatabaseMigration>())
        {
            await migration.ApplyAsync(Services, CancellationToken.None);
        }

        return this;
    }

    /// <summary>Provisions a user of the default tenant directly through identity's provisioning service, as the admin API would.</summary>
    public Task<TestUser> CreateUserAsync(params string[] scopes) => CreateUserInTenantAsync(null, scopes);

    /// <summary>
    /// Provisions a user of <paramref name="tenantId"/> (null: the default tenant) and, when this host
    /// runs messaging, waits until messaging has learnt of the user from <c>user.created</c>, as a
    /// client that just got its credentials would find it.
    /// </summary>
    public async Task<TestUser> CreateUserInTenantAsync(Guid? tenantId, params string[] scopes)
    {
        await using var scope = Services.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<UserProvisioner>().CreateAsync(
            "user-" + Guid.NewGuid().ToString("N")[..12], scopes.Length > 0 ? scopes : [ChatScopes.Messages, ChatScopes.Files],
            tenantId, CancellationToken.None);
        if (scope.ServiceProvider.GetService<MessagingDbContext>() is { } messaging)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (!await messaging.Users.AnyAsync(u => u.UserId == user.UserId, timeout.Token))
            {
                await Task.Delay(10, timeout.Token);
            }
        }

        return new TestUser(user.UserId, user.Name, user.ClientId, user.ClientSecret, user.Scopes);
    }

    /// <summary>A client over real HTTP carrying a fresh access token of <paramref name="user"/>.</summary>
    public async Task<HttpClient> CreateAuthenticatedClientAsync(TestUser user)
    {
        var client = CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(client, user);
        client.DefaultRequestHeaders.Authorization = new("Bearer", token.AccessToken);
        return client;
    }

    /// <summary>A plain HttpClient over real loopback HTTP to this instance.</summary>
    public HttpClient CreateHttpClient() => new() { BaseAddress = BaseAddress };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (_configureServices is not null)
        {
            builder.ConfigureTestServices(_configureServices);
        }
    }
}
