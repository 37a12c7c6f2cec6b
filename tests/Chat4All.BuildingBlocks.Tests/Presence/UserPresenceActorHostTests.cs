using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Presence;
using Chat4All.Contracts;
using Dapr.Actors.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Chat4All.BuildingBlocks.Tests.Presence;

/// <summary>
/// The actor as the real Dapr actor runtime hosts it (AddPresence + MapPresence in the dapr runtime),
/// called the way daprd calls an app, with daprd's actor state and timer API played by a recording
/// stand-in on loopback: proves the wire shapes the in-memory tests assume.
/// </summary>
public sealed class UserPresenceActorHostTests : IAsyncLifetime
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly FakeTimeProvider _time = new(PresenceCases.Start);
    private readonly RecordingEventBus _bus = new();
    private readonly ActorApiStandIn _daprd = new();
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        await _daprd.StartAsync();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = "127.0.0.1:1,abortConnect=false",
            ["Chat4All:Runtime"] = "dapr",
        });
        builder.Services.AddSingleton<TimeProvider>(_time);
        builder.Services.AddSingleton<IEventBus>(_bus);
        builder.AddPresence();
        builder.Services.Configure<ActorRuntimeOptions>(o => o.HttpEndpoint = _daprd.Url);
        _app = builder.Build();
        _app.MapPresence();
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        await _daprd.DisposeAsync();
    }

    [Fact]
    public async Task TheSidecarFindsTheUserPresenceActorTypeInTheAppConfig()
    {
        using var config = JsonDocument.Parse(await _client.GetStringAsync("/dapr/config"));

        Assert.Equal([Actors.UserPresence], config.RootElement.GetProperty("entities").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task ConnectThroughTheActorRuntimeStoresStateAndStartsTheSweepTimer()
    {
        var user = Guid.NewGuid();

        var update = await CallAsync<PresenceUpdate>(user, "ConnectAsync", new PresenceConnectRequest("c1", "i1", 10));

        var now = PresenceCases.Start;
        Assert.Equal(new PresenceUpdate(true, new PresenceStatus(user, true, 1, now), new PresenceChange(user, true, now)), update);
        var timer = JsonNode.Parse(_daprd.Timers[$"UserPresence/{user:D}/sweep"])!;
        Assert.Equal(nameof(UserPresenceActor.SweepAsync), (string?)timer["callback"]);
        Assert.Equal("0h0m30s0ms", (string?)timer["period"]);
        Assert.Contains("\"c1\"", _daprd.State[$"UserPresence/{user:D}/presence"], StringComparison.Ordinal);
        Assert.Equal(
            new PresenceStatus(user, true, 1, now),
            await CallAsync<PresenceStatus>(user, "GetAsync", null));
    }

    [Fact]
    public async Task TheSweepTimerFiredByTheSidecarAnnouncesOfflineAndStopsItself()
    {
        var user = Guid.NewGuid();
        await CallAsync<PresenceUpdate>(user, "ConnectAsync", new PresenceConnectRequest("c1", "i1", 10));
        _time.Advance(TimeSpan.FromSeconds(120));

        // daprd fires a timer by calling back with the registration it was given.
        using var fired = await _client.PutAsync(
            $"/actors/UserPresence/{user:D}/method/timer/sweep",
            new StringContent(_daprd.Timers[$"UserPresence/{user:D}/sweep"], Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, fired.StatusCode);
        var published = Assert.Single(_bus.Published);
        Assert.Equal((Topics.PresenceChanged, user.ToString("D")), (published.Topic, published.PartitionKey));
        Assert.DoesNotContain($"UserPresence/{user:D}/sweep", _daprd.Timers.Keys);
        Assert.Equal(
            new PresenceStatus(user, false, 0, PresenceCases.Start.AddSeconds(120)),
            await CallAsync<PresenceStatus>(user, "GetAsync", null));
    }

    [Fact]
    public async Task HeartbeatAndDisconnectThroughTheActorRuntime()
    {
        var user = Guid.NewGuid();
        await CallAsync<PresenceUpdate>(user, "ConnectAsync", new PresenceConnectRequest("c1", "i1", 10));
        _time.Advance(TimeSpan.FromSeconds(60));
        using var heartbeat = await PutAsync(user, "HeartbeatAsync", new PresenceHeartbeatRequest("i1", ["c1"]));
        Assert.Equal(HttpStatusCode.OK, heartbeat.StatusCode);
        _time.Advance(TimeSpan.FromSeconds(60));

        var update = await CallAsync<PresenceUpdate>(user, "DisconnectAsync", new PresenceDisconnectRequest("c1"));

        // Still registered at 120 s thanks to the heartbeat, so the disconnect is what takes the user offline.
        Assert.Equal(new PresenceChange(user, false, PresenceCases.Start.AddSeconds(120)), update.Change);
        Assert.DoesNotContain($"UserPresence/{user:D}/sweep", _daprd.Timers.Keys);
    }

    private async Task<T> CallAsync<T>(Guid user, string method, object? request)
    {
        using var response = await PutAsync(user, method, request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<T>(Json))!;
    }

    private Task<HttpResponseMessage> PutAsync(Guid user, string method, object? request) =>
        _client.PutAsync($"/actors/UserPresence/{user:D}/method/{method}",
            request is null ? null : new StringContent(JsonSerializer.Serialize(request, request.GetType(), Json), Encoding.UTF8, "application/json"));
}

/// <summary>daprd's actor state and timer HTTP API (the parts the actor runtime uses), on loopback, recording what it is told.</summary>
public sealed class ActorApiStandIn : IAsyncDisposable
{
    private WebApplication? _app;

    public string Url { get; private set; } = "";

    /// <summary>Stored state values (raw JSON) by <c>{type}/{id}/{key}</c>.</summary>
    public ConcurrentDictionary<string, string> State { get; } = new();

    /// <summary>Registered timers (the registration body) by <c>{type}/{id}/{name}</c>.</summary>
    public ConcurrentDictionary<string, string> Timers { get; } = new();

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapGet("/v1.0/actors/{type}/{id}/state/{key}", (string type, string id, string key) =>
            State.TryGetValue($"{type}/{id}/{key}", out var value) ? Results.Text(value, "application/json") : Results.NoContent());
        _app.MapMethods("/v1.0/actors/{type}/{id}/state", ["PUT", "POST"], async (string type, string id, HttpRequest request) =>
        {
            var operations = (await JsonNode.ParseAsync(request.Body))!.AsArray();
            foreach (var operation in operations)
            {
                var key = $"{type}/{id}/{(string?)operation!["request"]!["key"]}";
                if ((string?)operation["operation"] == "delete")
                {
                    State.TryRemove(key, out _);
                }
                else
                {
                    State[key] = operation["request"]!["value"]!.ToJsonString();
                }
            }

            return Results.NoContent();
        });
        _app.MapMethods("/v1.0/actors/{type}/{id}/timers/{name}", ["PUT", "POST"], async (string type, string id, string name, HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            Timers[$"{type}/{id}/{name}"] = await reader.ReadToEndAsync();
            return Results.NoContent();
        });
        _app.MapDelete("/v1.0/actors/{type}/{id}/timers/{name}", (string type, string id, string name) =>
        {
            Timers.TryRemove($"{type}/{id}/{name}", out _);
            return Results.NoContent();
        });
        await _app.StartAsync();
        Url = _app.Urls.First();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
