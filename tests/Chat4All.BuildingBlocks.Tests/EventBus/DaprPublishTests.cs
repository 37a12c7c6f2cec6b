using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Dapr.Client;
using Dapr.Client.Autogen.Grpc.v1;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat4All.BuildingBlocks.Tests.EventBus;

/// <summary>
/// The dapr runtime's publisher, checked at the wire: the gRPC request the sidecar would receive
/// (no daprd exists on build machines, docs/architecture.md §6).
/// </summary>
public sealed class DaprPublishTests
{
    [Fact]
    public async Task PublishSendsTheExactJsonWithPartitionKeyAndCloudEventOverridesToThePubSubComponent()
    {
        using var sidecar = new RecordingSidecar();
        using var host = BuildDaprHost(sidecar);
        var bus = host.Services.GetRequiredService<IEventBus>();
        Assert.IsType<DaprEventBus>(bus);
        const string json = "{\"conversation_id\":\"c-1\",\"payload\":{\"text\":\"olá \\u0022quoted\\u0022\"},\"seq\":42}";
        var published = new IntegrationEvent(Guid.CreateVersion7(), Topics.MessageCreated, "MessageCreated", "c-1", json,
            DateTimeOffset.UtcNow, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

        await bus.PublishAsync(published, CancellationToken.None);

        var (path, request) = Assert.Single(sidecar.Requests);
        Assert.Equal("/dapr.proto.runtime.v1.Dapr/PublishEvent", path);
        Assert.Equal(Components.PubSub, request.PubsubName);
        Assert.Equal(Topics.MessageCreated, request.Topic);
        Assert.Equal("application/json", request.DataContentType);
        Assert.Equal(json, request.Data.ToStringUtf8());
        Assert.Equal("c-1", request.Metadata["partitionKey"]);
        Assert.Equal(("c-1", "c-1"), (request.Metadata["SessionId"], request.Metadata["PartitionKey"])); // Azure Service Bus sessions
        Assert.Equal(published.Id.ToString(), request.Metadata["cloudevent.id"]);
        Assert.Equal("MessageCreated", request.Metadata["cloudevent.type"]);
        Assert.Equal(published.TraceParent, request.Metadata["cloudevent.traceparent"]);
    }

    [Fact]
    public async Task PublishThrowsWhenTheSidecarRejectsTheEvent()
    {
        using var sidecar = new RecordingSidecar { GrpcStatus = 14 }; // UNAVAILABLE
        using var host = BuildDaprHost(sidecar);

        await Assert.ThrowsAnyAsync<Exception>(() =>
            host.Services.GetRequiredService<IEventBus>().PublishAsync(BusHost.NewEvent("k"), CancellationToken.None));
    }

    private static IHost BuildDaprHost(RecordingSidecar sidecar)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Chat4All:Runtime"] = "dapr",
            ["ConnectionStrings:Redis"] = "127.0.0.1:1,abortConnect=false", // never used by publishing
        });
        // The composition root may configure the client; AddEventBus keeps an existing registration.
        builder.Services.AddDaprClient(dapr => dapr
            .UseGrpcEndpoint("http://127.0.0.1:50001")
            .UseGrpcChannelOptions(new GrpcChannelOptions { HttpHandler = sidecar, DisposeHttpClient = false }));
        builder.AddEventBus();
        return builder.Build();
    }
}

/// <summary>Stands in for daprd's gRPC port: records each call and answers an empty unary response.</summary>
public sealed class RecordingSidecar : HttpMessageHandler
{
    private readonly List<(string Path, PublishEventRequest Request)> _requests = [];

    public int GrpcStatus { get; init; }

    public IReadOnlyList<(string Path, PublishEventRequest Request)> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // gRPC length-prefixed message: 1 byte compressed flag, 4 bytes big-endian length, the protobuf.
        var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
        Assert.Equal(0, body[0]);
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1, 4));
        lock (_requests)
        {
            _requests.Add((request.RequestUri!.AbsolutePath, PublishEventRequest.Parser.ParseFrom(body, 5, length)));
        }

        var response = new HttpResponseMessage(HttpStatusCode.OK)
        {
            Version = HttpVersion.Version20,
            Content = new ByteArrayContent(GrpcStatus == 0 ? [0, 0, 0, 0, 0] : []), // google.protobuf.Empty
        };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        response.TrailingHeaders.Add("grpc-status", GrpcStatus.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return response;
    }
}
