using Xunit;

namespace Chat4All.Testing;

/// <summary>A provisioned API principal and its client credentials.</summary>
public sealed record TestUser(Guid UserId, string Name, string ClientId, string ClientSecret, IReadOnlyList<string> Scopes);

/// <summary>
/// One running platform per test class: a fresh database, the shared test Redis, a private data
/// directory (token keys) and the host on Kestrel. More instances can join the same state.
/// </summary>
public class PlatformFixture : IAsyncLifetime
{
    private readonly List<Chat4AllHost> _extraInstances = [];

    public TestDatabase Database { get; private set; } = null!;

    public TemporaryDirectory DataDirectory { get; } = new();

    public string Redis { get; private set; } = null!;

    public Chat4AllHost Host { get; private set; } = null!;

    protected virtual IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>();

    public virtual async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        Redis = await TestInfrastructure.RedisConnectionStringAsync();
        Host = await NewInstance().StartAsync();
    }

    /// <summary>Another host process-alike over the same database, Redis and keys (a second replica).</summary>
    public async Task<Chat4AllHost> StartAnotherInstanceAsync()
    {
        var instance = NewInstance();
        _extraInstances.Add(instance);
        return await instance.StartAsync();
    }

    /// <summary>Replaces the main instance with a new one over the same state, as a restart would.</summary>
    public async Task RestartAsync()
    {
        await Host.DisposeAsync();
        Host = await NewInstance().StartAsync();
    }

    public Task<TestUser> CreateUserAsync(params string[] scopes) => Host.CreateUserAsync(scopes);

    public Task<HttpClient> CreateAuthenticatedClientAsync(TestUser user, Chat4AllHost? instance = null) =>
        (instance ?? Host).CreateAuthenticatedClientAsync(user);

    public virtual async Task DisposeAsync()
    {
        foreach (var instance in _extraInstances)
        {
            await instance.DisposeAsync();
        }

        await Host.DisposeAsync();
        await Database.DisposeAsync();
        DataDirectory.Dispose();
    }

    private Chat4AllHost NewInstance() => new(Database.ConnectionString, Redis, DataDirectory.Path, Settings);
}
