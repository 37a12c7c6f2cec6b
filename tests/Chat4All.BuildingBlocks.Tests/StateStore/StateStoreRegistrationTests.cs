using Chat4All.BuildingBlocks.Outbox;
using Chat4All.BuildingBlocks.StateStore;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Tests.StateStore;

public sealed class StateStoreRegistrationTests
{
    [Theory]
    [InlineData("standalone")]
    [InlineData("dapr")] // ADR 0016: never Dapr's state-store outbox; the relay publishes through Dapr pub/sub instead
    public void BothRuntimesKeepStateAndItsEventsInTheServicesOwnDatabase(string runtime)
    {
        using var host = Build(runtime);
        using var scope = host.Services.CreateScope();

        Assert.IsType<PostgresStateStore<StateTestDbContext>>(scope.ServiceProvider.GetRequiredService<IStateStore>());
    }

    [Fact]
    public void AddStateStoreRunsOneOutboxRelayEvenWhenTheServiceAlsoAddsItself()
    {
        var builder = NewBuilder("dapr"); // the relay is registered either way; dapr spares the Redis connection attempt
        builder.AddOutboxRelay<StateTestDbContext>();
        builder.AddStateStore<StateTestDbContext>();
        builder.AddStateStore<StateTestDbContext>();
        using var host = builder.Build();

        Assert.Single(host.Services.GetServices<IHostedService>().OfType<OutboxRelay<StateTestDbContext>>());
    }

    [Fact]
    public void ASecondDbContextCannotAlsoHoldTheStateStore()
    {
        var builder = NewBuilder("standalone");
        builder.AddStateStore<StateTestDbContext>();

        Assert.Throws<InvalidOperationException>(() => builder.AddStateStore<OtherDbContext>());
    }

    [Fact]
    public async Task AnInvalidOutboxTopicStopsTheHostFromStarting()
    {
        using var host = Build("dapr", new Dictionary<string, string?> { ["Chat4All:StateStore:OutboxTopic"] = "not a topic" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("OutboxTopic", error.Message, StringComparison.Ordinal);
    }

    private static IHost Build(string runtime, Dictionary<string, string?>? settings = null)
    {
        var builder = NewBuilder(runtime, settings);
        builder.AddStateStore<StateTestDbContext>();
        return builder.Build();
    }

    private static HostApplicationBuilder NewBuilder(string runtime, Dictionary<string, string?>? settings = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Chat4All:Runtime"] = runtime,
            // Never connected to: nothing here publishes or queries.
            ["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Port=1;Database=none",
            ["ConnectionStrings:Redis"] = "127.0.0.1:1,abortConnect=false",
        });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.AddServiceDbContext<StateTestDbContext>(StateTestDbContext.Schema);
        return builder;
    }

    private sealed class OtherDbContext(DbContextOptions<OtherDbContext> options) : DbContext(options);
}
