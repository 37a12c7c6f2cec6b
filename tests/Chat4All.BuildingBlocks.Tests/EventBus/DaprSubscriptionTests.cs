using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Chat4All.BuildingBlocks.Tests.EventBus;

/// <summary>
/// The dapr runtime's subscriber side, served by Kestrel on loopback behind the real service
/// defaults (bearer authentication required by default, rate limiting, OpenAPI), with requests
/// shaped like the ones daprd sends.
/// </summary>
public sealed class DaprSubscriptionTests : IAsyncLifetime
{
    private const string OtherTopic = Topics.MessageStatusChanged;

    private readonly Deliveries _deliveries = new();
    private RedisScope _redis = null!;
    private WebApplication _app = null!;
    private HttpClient _sidecar = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisScope.CreateAsync();
        _app = await StartAppAsync("dapr");
        _sidecar = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
    }

    public async Task DisposeAsync()
    {
        _sidecar.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task SubscribeListsEverySubscriptionWithItsRouteAndDeadLetterTopic()
    {
        using var response = await _sidecar.GetAsync("/dapr/subscribe");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.Content.ReadAsStringAsync();
        var expected = JsonSerializer.Serialize(new object[]
        {
            new Dictionary<string, string>
            {
                ["pubsubname"] = Components.PubSub,
                ["topic"] = BusHost.Topic,
                ["route"] = $"/events/{BusHost.Group}/{BusHost.Topic}",
                ["deadLetterTopic"] = Topics.DeadLetterOf(BusHost.Topic),
            },
            new Dictionary<string, string>
            {
                ["pubsubname"] = Components.PubSub,
                ["topic"] = OtherTopic,
                ["route"] = $"/events/{Targets.Messaging}/{OtherTopic}",
                ["deadLetterTopic"] = Topics.DeadLetterOf(OtherTopic),
            },
        });
        Assert.Equal(expected, json);
    }

    [Fact]
    public async Task SidecarDeliveryReachesTheConsumerAsTheIntegrationEventThatWasPublished()
    {
        var id = Guid.CreateVersion7();
        const string data = "{\"conversation_id\":\"c-9\",\"seq\":3,\"payload\":{\"text\":\"olá\"}}";

        using var response = await DeliverAsync(id, data, kafkaKey: "c-9");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("SUCCESS", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        var delivered = Assert.Single(_deliveries.Calls).Event;
        Assert.Equal(id, delivered.Id);
        Assert.Equal(BusHost.Topic, delivered.Topic);
        Assert.Equal("TestHappened", delivered.Type);
        Assert.Equal("c-9", delivered.PartitionKey);
        Assert.Equal(data, delivered.Data);
        Assert.Equal(DateTimeOffset.Parse("2026-11-24T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), delivered.OccurredAt);
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", delivered.TraceParent);
    }

    [Fact]
    public async Task FailingConsumerAnswersRetrySoDaprRetriesAndThenDeadLetters()
    {
        _deliveries.Behavior = (_, _) => throw new InvalidOperationException("not now");

        using var response = await DeliverAsync(Guid.CreateVersion7(), "{}");

        // Any status but 2xx and 404 makes the sidecar retry; the body says so explicitly.
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("RETRY", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Single(_deliveries.Calls);
    }

    [Fact]
    public async Task RedeliveredCloudEventIdIsHandledOnce()
    {
        var id = Guid.CreateVersion7();

        using var first = await DeliverAsync(id, "{\"n\":1}");
        using var second = await DeliverAsync(id, "{\"n\":1}");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("SUCCESS", (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Single(_deliveries.Calls);
    }

    [Fact]
    public async Task UnreadableCloudEventIsNeitherHandledNorDropped()
    {
        using var response = await _sidecar.PostAsync($"/events/{BusHost.Group}/{BusHost.Topic}",
            new StringContent("{\"specversion\":\"1.0\",\"id\":\"not-a-uuid\"}", Encoding.UTF8, "application/cloudevents+json"));

        // Not 404 (Dapr would drop it): it is retried and ends on the dead-letter topic.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("RETRY", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Empty(_deliveries.Calls);
    }

    [Fact]
    public async Task SidecarRoutesNeedNoUserTokenWhileTheApiDoesAndStayOutOfTheOpenApiDocument()
    {
        using var probe = await _sidecar.GetAsync("/probe");
        Assert.Equal(HttpStatusCode.Unauthorized, probe.StatusCode);

        using var subscribe = await _sidecar.GetAsync("/dapr/subscribe");
        Assert.Equal(HttpStatusCode.OK, subscribe.StatusCode);

        var openApi = await _sidecar.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/probe", openApi, StringComparison.Ordinal);
        Assert.DoesNotContain("/dapr/subscribe", openApi, StringComparison.Ordinal);
        Assert.DoesNotContain("/events/", openApi, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StandaloneRuntimeMapsNoSidecarRoutes()
    {
        await using var standalone = await StartAppAsync("standalone");
        using var client = new HttpClient { BaseAddress = new Uri(standalone.Urls.First()) };

        using var response = await client.GetAsync("/dapr/subscribe");

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        await standalone.StopAsync();
    }

    [Fact]
    public async Task WithAnAppApiTokenOnlyTheSidecarThatPresentsItIsServed()
    {
        await using var guarded = await StartAppAsync("dapr", appApiToken: "s3cret-token");
        using var client = new HttpClient { BaseAddress = new Uri(guarded.Urls.First()) };

        using var anonymous = await client.GetAsync("/dapr/subscribe");
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/dapr/subscribe") { Headers = { { "dapr-api-token", "guess" } } };
        using var wrongResponse = await client.SendAsync(wrong);
        using var right = new HttpRequestMessage(HttpMethod.Get, "/dapr/subscribe") { Headers = { { "dapr-api-token", "s3cret-token" } } };
        using var rightResponse = await client.SendAsync(right);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rightResponse.StatusCode);
        await guarded.StopAsync();
    }

    private Task<HttpResponseMessage> DeliverAsync(Guid id, string data, string? kafkaKey = null)
    {
        // A structured CloudEvent as daprd delivers it: JSON data embedded as a JSON value.
        var cloudEvent = $$"""
            {"specversion":"1.0","id":"{{id}}","source":"messaging","type":"TestHappened","datacontenttype":"application/json",
             "data":{{data}},"topic":"{{BusHost.Topic}}","pubsubname":"{{Components.PubSub}}","time":"2026-11-24T10:00:00Z",
             "traceid":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
             "traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":""}
            """;
        var request = new HttpRequestMessage(HttpMethod.Post, $"/events/{BusHost.Group}/{BusHost.Topic}")
        {
            Content = new StringContent(cloudEvent, Encoding.UTF8, "application/cloudevents+json"),
        };
        if (kafkaKey is not null)
        {
            request.Headers.Add("__key", kafkaKey);
        }

        return SendAndDisposeAsync(request);
    }

    private async Task<HttpResponseMessage> SendAndDisposeAsync(HttpRequestMessage request)
    {
        using (request)
        {
            return await _sidecar.SendAsync(request);
        }
    }

    private async Task<WebApplication> StartAppAsync(string runtime, string? appApiToken = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = _redis.ConnectionString,
            ["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Port=1;Database=unused", // never opened here
            ["Chat4All:Runtime"] = runtime,
            ["Chat4All:EventBus:KeyPrefix"] = _redis.Prefix,
            ["Serilog:MinimumLevel:Default"] = "Warning",
            ["APP_API_TOKEN"] = appApiToken,
        });
        builder.AddServiceDefaults();
        builder.Services.AddSingleton(_deliveries);
        builder.Services.AddSingleton(new InstanceName("dapr-app"));
        builder.Services.AddScoped<ScopedProbe>();
        builder.AddEventSubscription<RecordingConsumer>(BusHost.Topic, BusHost.Group);
        builder.AddEventSubscription<RecordingConsumer>(OtherTopic, Targets.Messaging);

        var app = builder.Build();
        app.UseServiceDefaults();
        app.MapDefaultEndpoints();
        app.MapGet("/probe", () => TypedResults.Ok());
        app.MapEventSubscriptions();
        app.MapEventSubscriptions(); // every service calls it; mapping twice must be harmless
        await app.StartAsync();
        return app;
    }
}
