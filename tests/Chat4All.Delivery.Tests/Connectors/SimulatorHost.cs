using Chat4All.Contracts;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Simulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat4All.Delivery.Tests.Connectors;

/// <summary>
/// A generic host with the simulated connectors, configured as the delivery service would be,
/// against the real test Redis under a key prefix of its own. No HTTP server: webhooks go to
/// <c>WebhookBaseUrl</c> when a test sets it, and otherwise wait in the queue.
/// </summary>
public sealed class SimulatorHost : IAsyncDisposable
{
    private readonly IHost _host;
    private bool _disposed;

    private SimulatorHost(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public ChannelSimulator Simulator => Services.GetRequiredService<ChannelSimulator>();

    public ChannelConnectors Connectors => Services.GetRequiredService<ChannelConnectors>();

    internal SimulatorCallbackQueue Callbacks => Services.GetRequiredService<SimulatorCallbackQueue>();

    public static IHost Build(IReadOnlyDictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddSimulatedChannelConnectors();
        return builder.Build();
    }

    public static async Task<SimulatorHost> StartAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var host = Build(settings);
        await host.StartAsync();
        return new SimulatorHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>A unique key prefix on the shared test Redis, the settings that use it, and the cleanup of its keys.</summary>
public sealed class SimulatorRedis : IAsyncDisposable
{
    /// <summary>One fixed secret per channel for the whole run, so tests can verify signatures independently.</summary>
    public static readonly IReadOnlyDictionary<string, string> Secrets = Channels.All.ToDictionary(c => c, _ => StandardWebhooks.GenerateSecret());

    private SimulatorRedis(string connectionString, ConnectionMultiplexer connection)
    {
        ConnectionString = connectionString;
        Connection = connection;
    }

    public string ConnectionString { get; }

    public string Prefix { get; } = "c4a-test-" + Guid.NewGuid().ToString("N")[..12];

    public ConnectionMultiplexer Connection { get; }

    public static async Task<SimulatorRedis> CreateAsync()
    {
        var connectionString = await TestInfrastructure.RedisConnectionStringAsync();
        return new SimulatorRedis(connectionString, await ConnectionMultiplexer.ConnectAsync(connectionString));
    }

    /// <summary>
    /// Settings of a quiet provider under this prefix: no latency, no failures, no reads, webhooks
    /// due at once and retried quickly. <paramref name="overrides"/> win; keys without a section are
    /// taken as settings of every channel (e.g. <c>ReadProbability</c>).
    /// </summary>
    public Dictionary<string, string?> Settings(params (string Key, string? Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = ConnectionString,
            ["Chat4All:Delivery:Simulator:KeyPrefix"] = Prefix,
            ["Chat4All:Delivery:Simulator:CallbackPollInterval"] = "00:00:00.020",
            ["Chat4All:Delivery:Simulator:CallbackInitialRetryDelay"] = "00:00:00.050",
        };
        foreach (var channel in Channels.All)
        {
            var section = SimulatedChannelOptions.SectionName(channel);
            settings[$"{section}:WebhookSecret"] = Secrets[channel];
            settings[$"{section}:DeliveredDelay"] = "00:00:00";
            settings[$"{section}:ReadProbability"] = "0";
            settings[$"{section}:Timeout"] = "00:00:00.050";
        }

        foreach (var (key, value) in overrides)
        {
            if (key.Contains(':', StringComparison.Ordinal))
            {
                settings[key] = value;
                continue;
            }

            foreach (var channel in Channels.All)
            {
                settings[$"{SimulatedChannelOptions.SectionName(channel)}:{key}"] = value;
            }
        }

        return settings;
    }

    public async ValueTask DisposeAsync()
    {
        var database = Connection.GetDatabase();
        foreach (var endpoint in Connection.GetEndPoints())
        {
            await foreach (var key in Connection.GetServer(endpoint).KeysAsync(pattern: Prefix + ":*"))
            {
                await database.KeyDeleteAsync(key);
            }
        }

        await Connection.DisposeAsync();
    }
}

public static class Eventually
{
    /// <summary>Polls until <paramref name="condition"/> holds; fails the test after <paramref name="timeout"/> (30 s by default).</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string description, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("Not in time: " + description);
            }

            await Task.Delay(20);
        }
    }

    public static Task HoldsAsync(Func<bool> condition, string description, TimeSpan? timeout = null) =>
        HoldsAsync(() => Task.FromResult(condition()), description, timeout);
}
