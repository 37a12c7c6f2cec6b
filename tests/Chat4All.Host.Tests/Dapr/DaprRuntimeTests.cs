using System.Net;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Presence;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts;
using Dapr.Client.Autogen.Grpc.v1;
using Dapr.Workflow.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Host.Tests.Dapr;

/// <summary>
/// The real host (Program) in the dapr runtime, one target per app as dapr.yaml and k8s/ run it, against
/// a stand-in sidecar on loopback: it proves the wiring — adapters resolved, subscriptions with their
/// dead-letter topics, actors and workflows registered, the sidecar awaited on start and required.
/// What each target must have is <see cref="DaprApps"/>, which the deployment tests hold the YAML to.
/// </summary>
public sealed class DaprRuntimeTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _data = new();
    private TestDatabase _database = null!;
    private string _redis = null!;
    private FakeDaprSidecar _sidecar = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _redis = await TestInfrastructure.RedisConnectionStringAsync();
        _sidecar = await FakeDaprSidecar.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _sidecar.DisposeAsync();
        await _database.DisposeAsync();
        _data.Dispose();
    }

    public static TheoryData<string> EveryTarget => [.. Targets.Implemented];

    [Theory]
    [MemberData(nameof(EveryTarget))]
    public async Task EachTargetWaitsForItsSidecarThenListsEverySubscriptionWithItsDeadLetterTopic(string target)
    {
        await using var host = await StartAsync(target);
        using var client = host.CreateHttpClient();

        using var response = await client.GetAsync("/dapr/subscribe");

        var expected = DaprApps.Of(target).Subscriptions
            .Select(topic => $"{Components.PubSub} {topic} /events/{target}/{topic} {Topics.DeadLetterOf(topic)}")
            .Order(StringComparer.Ordinal);
        var listed = response.StatusCode == HttpStatusCode.NotFound
            ? [] // an app without subscriptions maps no list; daprd reads 404 as "none"
            : (await response.ReadJsonAsync()).EnumerateArray()
                .Select(s => $"{s.GetProperty("pubsubname").GetString()} {s.GetProperty("topic").GetString()} " +
                             $"{s.GetProperty("route").GetString()} {s.GetProperty("deadLetterTopic").GetString()}")
                .Order(StringComparer.Ordinal)
                .ToList();
        Assert.Equal(expected, listed);
        // The start was held until the sidecar's outbound health answered.
        Assert.Contains(_sidecar.Calls, c => c is { Api: "http", Path: "/v1.0/healthz/outbound" });
    }

    [Theory]
    [MemberData(nameof(EveryTarget))]
    public async Task EachTargetResolvesTheDaprAdapterOfEveryBuildingBlockItUses(string target)
    {
        var app = DaprApps.Of(target);
        await using var host = await StartAsync(target);
        await using var scope = host.Services.CreateAsyncScope();
        var services = scope.ServiceProvider;

        Assert.Equal(app.UsesPubSub ? "DaprEventBus" : null, services.GetService<IEventBus>()?.GetType().Name);
        // ADR 0016: state and its events stay in the service's own PostgreSQL outbox in the dapr runtime too.
        Assert.Equal(app.UsesStateStore ? "PostgresStateStore`1" : null, services.GetService<IStateStore>()?.GetType().Name);
        Assert.Equal(app.ActorTypes.Count > 0 ? "DaprPresenceTracker" : null, services.GetService<IPresenceTracker>()?.GetType().Name);
        Assert.Equal(app.Workflows.Count > 0, services.GetService<IWorkflowsFactory>() is not null);
    }

    [Fact]
    public async Task AnEventPublishedByADaprAppGoesToThePubSubComponentWithItsPartitionKey()
    {
        await using var host = await StartAsync(Targets.Messaging);
        var id = Guid.CreateVersion7();

        await host.Services.GetRequiredService<IEventBus>().PublishAsync(
            new IntegrationEvent(id, Topics.MessageCreated, "MessageCreated", "conversation-7", "{\"seq\":1}", DateTimeOffset.UtcNow, null),
            CancellationToken.None);

        var call = Assert.Single(_sidecar.Calls, c => c is { Api: "grpc", Path: "/dapr.proto.runtime.v1.Dapr/PublishEvent" });
        var request = PublishEventRequest.Parser.ParseFrom(call.Body);
        Assert.Equal((Components.PubSub, Topics.MessageCreated), (request.PubsubName, request.Topic));
        Assert.Equal("conversation-7", request.Metadata["partitionKey"]);
        // The same key under Azure Service Bus's case-sensitive names (components/alternatives/pubsub-azure-servicebus.yaml).
        Assert.Equal(("conversation-7", "conversation-7"), (request.Metadata["SessionId"], request.Metadata["PartitionKey"]));
        Assert.Equal(id.ToString("D"), request.Metadata["cloudevent.id"]);
        Assert.Equal("{\"seq\":1}", request.Data.ToStringUtf8());
    }

    [Fact]
    public async Task DeliveryKeepsItsRecordsInItsOwnDatabaseAndNeverCallsDaprsStateApi()
    {
        await using var host = await StartAsync(Targets.Delivery);
        await using var scope = host.Services.CreateAsyncScope();

        var missing = await scope.ServiceProvider.GetRequiredService<IStateStore>().GetAsync<JsonElement>("delivery|probe", CancellationToken.None);

        Assert.Null(missing);
        // ADR 0016: Dapr's state-store outbox is not used (daprd panics on two projections, rewrites ids, drops keys).
        Assert.DoesNotContain(_sidecar.Calls, c => c.Path.Contains("State", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RealtimeHostsTheUserPresenceActorAndCallsItThroughItsSidecar()
    {
        var user = Guid.NewGuid();
        _sidecar.ActorAnswer = JsonSerializer.Serialize(new { userId = user, online = true, connections = 2, lastSeenAt = (DateTimeOffset?)null });
        await using var host = await StartAsync(Targets.Realtime);
        using var client = host.CreateHttpClient();

        using var config = JsonDocument.Parse(await client.GetStringAsync("/dapr/config"));
        var status = Assert.Single(await host.Services.GetRequiredService<IPresenceTracker>().GetAsync([user], CancellationToken.None));

        Assert.Equal(DaprApps.Of(Targets.Realtime).ActorTypes, config.RootElement.GetProperty("entities").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal((true, 2), (status.Online, status.Connections));
        Assert.Contains(_sidecar.Calls, c => c is { Api: "http", Method: "PUT" } && c.Path == $"/v1.0/actors/{Actors.UserPresence}/{user:D}/method/GetAsync");
    }

    [Fact]
    public async Task FilesRegistersTheAssemblyWorkflowWithEveryActivityAndItsWorkerConnectsToTheSidecar()
    {
        await using var host = await StartAsync(Targets.Files);
        await using var scope = host.Services.CreateAsyncScope();
        var factory = scope.ServiceProvider.GetRequiredService<IWorkflowsFactory>();

        foreach (var workflow in DaprApps.Of(Targets.Files).Workflows)
        {
            Assert.True(factory.TryCreateWorkflow(workflow, scope.ServiceProvider, out _, out var error), $"{workflow}: {error}");
        }

        foreach (var activity in new[] { "VerifyChunks", "Compose", "VerifyChecksum", "DetectType", "MarkCompleted", "DeleteChunks", "MarkFailed" })
        {
            Assert.True(factory.TryCreateActivity(activity, scope.ServiceProvider, out _, out var error), $"{activity}: {error}");
        }

        Assert.False(factory.TryCreateWorkflow("NoSuchWorkflow", scope.ServiceProvider, out _, out _));
        var workerCalls = await _sidecar.WaitForAsync(c => c.Api == "grpc" && c.Path.EndsWith("/GetWorkItems", StringComparison.Ordinal));
        Assert.NotEmpty(workerCalls);
    }

    [Fact]
    public async Task ReadinessFollowsTheSidecar()
    {
        await using var host = await StartAsync(Targets.Identity);
        using var client = host.CreateHttpClient();

        using var ready = await client.GetAsync("/ready");
        _sidecar.OutboundHealth = HttpStatusCode.InternalServerError;
        using var notReady = await client.GetAsync("/ready");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Equal("unhealthy", (await notReady.ReadJsonAsync()).GetProperty("checks").GetProperty("dapr").GetProperty("status").GetString());
    }

    [Fact]
    public async Task ASidecarThatNeverBecomesReadyFailsTheStartWithItsAddress()
    {
        _sidecar.OutboundHealth = HttpStatusCode.InternalServerError;
        var settings = _sidecar.HostSettings(Targets.Identity);
        settings["Chat4All:Dapr:StartupTimeout"] = "00:00:01";

        var error = await StartFailsAsync(settings);

        Assert.Contains($"The Dapr sidecar at {_sidecar.HttpEndpoint} did not become ready within 00:00:01", error, StringComparison.Ordinal);
        Assert.Contains("HTTP 500", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("DAPR_HTTP_ENDPOINT", "DAPR_HTTP_PORT")]
    [InlineData("DAPR_GRPC_ENDPOINT", "DAPR_GRPC_PORT")]
    public async Task TheDaprRuntimeWithoutASidecarAddressRefusesToStartAndSaysWhatToSet(string removed, string named)
    {
        var settings = _sidecar.HostSettings(Targets.Messaging);
        settings.Remove(removed);

        var error = await StartFailsAsync(settings);

        Assert.Contains($"set {named}", error, StringComparison.Ordinal);
        Assert.DoesNotContain(_sidecar.Calls, c => c.Path == "/v1.0/healthz/outbound");
    }

    [Theory]
    [InlineData("DAPR_HTTP_PORT", "not-a-port", "DAPR_HTTP_PORT='not-a-port' is not a port number")]
    [InlineData("DAPR_GRPC_ENDPOINT", "127.0.0.1:50001", "DAPR_GRPC_ENDPOINT='127.0.0.1:50001' is not an absolute http(s) URL")]
    public async Task AnUnreadableSidecarAddressRefusesToStartAndQuotesIt(string key, string value, string message)
    {
        var settings = _sidecar.HostSettings(Targets.Messaging);
        settings.Remove(key.Replace("_PORT", "_ENDPOINT", StringComparison.Ordinal));
        settings[key] = value;

        var error = await StartFailsAsync(settings);

        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheDaprRuntimeRunsExactlyOneTargetPerApp()
    {
        var settings = _sidecar.HostSettings("messaging,delivery");
        settings.Remove("APP_ID");

        var error = await StartFailsAsync(settings);

        Assert.Contains("must name exactly one", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAppIdThatIsNotTheTargetRefusesToStart()
    {
        var settings = _sidecar.HostSettings(Targets.Delivery);
        settings["APP_ID"] = Targets.Messaging;

        var error = await StartFailsAsync(settings);

        Assert.Contains("The Dapr app-id is 'messaging'", error, StringComparison.Ordinal);
    }

    private async Task<Chat4AllHost> StartAsync(string target) =>
        await new Chat4AllHost(_database.ConnectionString, _redis, _data.Path, _sidecar.HostSettings(target)).StartAsync();

    private async Task<string> StartFailsAsync(Dictionary<string, string?> settings)
    {
        await using var host = new Chat4AllHost(_database.ConnectionString, _redis, _data.Path, settings);
        var error = await Assert.ThrowsAnyAsync<Exception>(host.StartAsync);
        return error.ToString();
    }
}
