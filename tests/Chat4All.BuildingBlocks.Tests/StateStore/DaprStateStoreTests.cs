using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts;
using Dapr;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace Chat4All.BuildingBlocks.Tests.StateStore;

/// <summary>
/// The dapr runtime's state store, checked at the wire: the gRPC requests the sidecar would receive
/// and how its answers come back (no daprd exists on build machines, ARCHITECTURE §6).
/// </summary>
public sealed class DaprStateStoreTests
{
    private const string DaprApi = "/dapr.proto.runtime.v1.Dapr/";
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 9, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task ExecuteSendsOneTransactionWithConditionedWritesAndTheEventAsTheOutboxProjectionOfItsKey()
    {
        using var sidecar = new StateSidecar();
        using var host = BuildDaprHost(sidecar);
        var record = new DeliveryRecord(Guid.Parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"), "whatsapp", "delivered", 2);
        var change = new DeliveryStatusChanged(record.MessageId, "whatsapp", "delivered");
        var stateEvent = StateEvent.Create("delivery:1", Topics.MessageStatusChanged, "conversation-7", change, Now);

        await ExecuteAsync(host,
            [
                new StateUpsert("delivery:1", record, ETag: "17"),
                new StateUpsert("delivery:2", record with { Status = "accepted" }, OnlyIfAbsent: true),
                new StateUpsert("delivery:3", record with { Status = "sent" }),
                new StateDelete("delivery:4", ETag: "9"),
                new StateDelete("delivery:5"),
            ],
            [stateEvent, Announce("delivery:2"), Announce("delivery:3")]);

        var request = sidecar.OnlyCall<Autogen.ExecuteStateTransactionRequest>(DaprApi + "ExecuteStateTransaction");
        Assert.Equal(Components.StateStore, request.StoreName);
        Assert.Equal(
            ["upsert delivery:1", "upsert delivery:1", "upsert delivery:2", "upsert delivery:2", "upsert delivery:3", "upsert delivery:3",
             "delete delivery:4", "delete delivery:5"],
            request.Operations.Select(o => o.OperationType + " " + o.Request.Key));
        var (conditioned, projection, absent, plain, deleteConditioned, delete) =
            (request.Operations[0].Request, request.Operations[1].Request, request.Operations[2].Request,
             request.Operations[4].Request, request.Operations[6].Request, request.Operations[7].Request);
        Assert.All([request.Operations[3].Request, request.Operations[5].Request], p => Assert.Equal("true", p.Metadata["outbox.projection"]));

        Assert.Equal(JsonSerializer.Serialize(record, OutboxWriter.Json), conditioned.Value.ToStringUtf8());
        Assert.Contains("\"message_id\":", conditioned.Value.ToStringUtf8(), StringComparison.Ordinal);
        Assert.Equal("17", conditioned.Etag.Value);
        Assert.Equal(Autogen.StateOptions.Types.StateConcurrency.ConcurrencyFirstWrite, conditioned.Options.Concurrency);
        Assert.Empty(conditioned.Metadata);

        // The event rides on its key's upsert: Dapr publishes this value instead of the state's.
        Assert.Equal(stateEvent.Data, projection.Value.ToStringUtf8());
        Assert.Equal("true", projection.Metadata["outbox.projection"]);
        Assert.Equal(stateEvent.EventId.ToString(), projection.Metadata["cloudevent.id"]);
        Assert.Equal(nameof(DeliveryStatusChanged), projection.Metadata["cloudevent.type"]);
        Assert.Equal("conversation-7", projection.Metadata["partitionKey"]);
        Assert.Null(projection.Etag);
        Assert.Null(projection.Options);

        Assert.Null(absent.Etag); // first-write without an ETag: only if absent
        Assert.Equal(Autogen.StateOptions.Types.StateConcurrency.ConcurrencyFirstWrite, absent.Options.Concurrency);
        Assert.Null(plain.Etag);
        Assert.Null(plain.Options);
        Assert.Equal("9", deleteConditioned.Etag.Value);
        Assert.Equal(Autogen.StateOptions.Types.StateConcurrency.ConcurrencyFirstWrite, deleteConditioned.Options.Concurrency);
        Assert.True(delete.Value.IsEmpty);
        Assert.Null(delete.Etag);
    }

    [Fact]
    public async Task AnUpsertWithoutAnEventIsRefusedWithoutAnyRequestBecauseDaprWouldPublishItsStateValue()
    {
        using var sidecar = new StateSidecar();
        using var host = BuildDaprHost(sidecar);

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            ExecuteAsync(host, [new StateUpsert("k", "v"), new StateUpsert("silent", "v")], [Announce("k")]));

        Assert.Contains("'silent'", error.Message, StringComparison.Ordinal);
        Assert.Empty(sidecar.Calls);
    }

    [Fact]
    public async Task QueryAsksTheStateQueryApiForAnEqualityFilterAndReadsTheItemsWithTheirETags()
    {
        var record = new DeliveryRecord(Guid.NewGuid(), "sms", "pending", 0);
        using var sidecar = new StateSidecar
        {
            Answer = _ => SidecarAnswer.Ok(new Autogen.QueryStateResponse
            {
                Results =
                {
                    new Autogen.QueryStateItem { Key = "delivery:9", Data = ByteString.CopyFromUtf8(JsonSerializer.Serialize(record, OutboxWriter.Json)), Etag = "4" },
                    new Autogen.QueryStateItem { Key = "broken", Error = "could not read" },
                },
            }),
        };
        using var host = BuildDaprHost(sidecar);

        var items = await WithStoreAsync(host, store => store.QueryAsync<DeliveryRecord>("status", "pending", 500, CancellationToken.None));

        Assert.Equal([new StateItem<DeliveryRecord>("delivery:9", record, "4")], items);
        var request = sidecar.OnlyCall<Autogen.QueryStateRequest>(DaprApi + "QueryStateAlpha1");
        Assert.Equal(Components.StateStore, request.StoreName);
        var query = JsonDocument.Parse(request.Query).RootElement;
        Assert.Equal("pending", query.GetProperty("filter").GetProperty("EQ").GetProperty("status").GetString());
        Assert.Equal(500, query.GetProperty("page").GetProperty("limit").GetInt32());
    }

    [Fact]
    public async Task AnEventForATopicOtherThanTheComponentsOutboxTopicIsRefusedWithoutAnyRequest()
    {
        using var sidecar = new StateSidecar();
        using var host = BuildDaprHost(sidecar);
        var created = StateEvent.Create("k", Topics.MessageCreated, "c", new DeliveryStatusChanged(Guid.NewGuid(), "sms", "sent"), Now);

        await Assert.ThrowsAsync<InvalidOperationException>(() => ExecuteAsync(host, [new StateUpsert("k", "v")], [created]));

        Assert.Empty(sidecar.Calls);
    }

    [Fact]
    public async Task TheOutboxTopicComesFromConfiguration()
    {
        using var sidecar = new StateSidecar();
        using var host = BuildDaprHost(sidecar, new Dictionary<string, string?> { ["Chat4All:StateStore:OutboxTopic"] = Topics.MessageCreated });
        var created = StateEvent.Create("k", Topics.MessageCreated, "c", new DeliveryStatusChanged(Guid.NewGuid(), "sms", "sent"), Now);

        await ExecuteAsync(host, [new StateUpsert("k", "v")], [created]);

        Assert.Single(sidecar.Calls);
    }

    [Theory]
    [InlineData(10, "failed saving state in state store statestore: possible etag mismatch. error from state store")] // ABORTED
    [InlineData(13, "error while executing state transaction: possible etag mismatch. error from state store")] // what daprd sends for a transaction
    [InlineData(13, "error while executing state transaction: no item was updated")] // state.postgresql first-write on an existing key
    public async Task AConditionTheSidecarRejectsSurfacesAsStateConcurrencyException(int grpcStatus, string message)
    {
        using var sidecar = new StateSidecar { Answer = _ => new SidecarAnswer(grpcStatus, Message: message) };
        using var host = BuildDaprHost(sidecar);

        var error = await Assert.ThrowsAsync<StateConcurrencyException>(() => ExecuteAsync(host, [new StateUpsert("k", "v", ETag: "3")]));

        Assert.IsType<DaprException>(error.InnerException);
    }

    [Theory]
    [InlineData(9, "state store statestore is not configured")] // FAILED_PRECONDITION: a misconfiguration, not a conflict
    [InlineData(13, "error while executing state transaction: connection refused")]
    [InlineData(14, "connection refused")] // UNAVAILABLE
    public async Task OtherSidecarFailuresStayDaprExceptions(int grpcStatus, string message)
    {
        using var sidecar = new StateSidecar { Answer = _ => new SidecarAnswer(grpcStatus, Message: message) };
        using var host = BuildDaprHost(sidecar);

        await Assert.ThrowsAsync<DaprException>(() => ExecuteAsync(host, [new StateUpsert("k", "v", ETag: "3")]));
    }

    [Fact]
    public async Task GetReturnsTheValueAndETagTheSidecarAnswers()
    {
        var record = new DeliveryRecord(Guid.NewGuid(), "instagram", "read", 3);
        using var sidecar = new StateSidecar
        {
            Answer = _ => SidecarAnswer.Ok(new Autogen.GetStateResponse { Data = ByteString.CopyFromUtf8(JsonSerializer.Serialize(record, OutboxWriter.Json)), Etag = "42" }),
        };
        using var host = BuildDaprHost(sidecar);

        var item = await WithStoreAsync(host, store => store.GetAsync<DeliveryRecord>("delivery:9", CancellationToken.None));

        Assert.Equal(new StateItem<DeliveryRecord>("delivery:9", record, "42"), item);
        var request = sidecar.OnlyCall<Autogen.GetStateRequest>(DaprApi + "GetState");
        Assert.Equal(Components.StateStore, request.StoreName);
        Assert.Equal("delivery:9", request.Key);
    }

    [Fact]
    public async Task GetOfAKeyTheSidecarHasNoValueForReturnsNull()
    {
        using var sidecar = new StateSidecar { Answer = _ => SidecarAnswer.Ok(new Autogen.GetStateResponse()) };
        using var host = BuildDaprHost(sidecar);

        Assert.Null(await WithStoreAsync(host, store => store.GetAsync<DeliveryRecord>("missing", CancellationToken.None)));
    }

    [Fact]
    public async Task GetManyAsksForEveryKeyOnceAndReturnsOnlyThoseWithAValue()
    {
        var record = new DeliveryRecord(Guid.NewGuid(), "sms", "sent", 1);
        using var sidecar = new StateSidecar
        {
            Answer = _ => SidecarAnswer.Ok(new Autogen.GetBulkStateResponse
            {
                Items =
                {
                    new Autogen.BulkStateItem { Key = "a", Data = ByteString.CopyFromUtf8(JsonSerializer.Serialize(record, OutboxWriter.Json)), Etag = "5" },
                    new Autogen.BulkStateItem { Key = "b" },
                },
            }),
        };
        using var host = BuildDaprHost(sidecar);

        var items = await WithStoreAsync(host, store => store.GetManyAsync<DeliveryRecord>(["a", "b", "a"], CancellationToken.None));

        Assert.Equal([new StateItem<DeliveryRecord>("a", record, "5")], items);
        var request = sidecar.OnlyCall<Autogen.GetBulkStateRequest>(DaprApi + "GetBulkState");
        Assert.Equal(Components.StateStore, request.StoreName);
        Assert.Equal(["a", "b"], request.Keys);
    }

    /// <summary>Runs a transaction; with no events given, every upsert gets a generic one (each upsert must carry one).</summary>
    private static async Task ExecuteAsync(IHost host, IReadOnlyList<StateOperation> operations, IReadOnlyList<StateEvent>? events = null)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<IStateStore>();
        Assert.IsType<DaprStateStore>(store);
        await store.ExecuteAsync(operations, events ?? [.. operations.OfType<StateUpsert>().Select(u => Announce(u.Key))], CancellationToken.None);
    }

    private static StateEvent Announce(string key) =>
        StateEvent.Create(key, Topics.MessageStatusChanged, "conversation-7", new DeliveryStatusChanged(Guid.NewGuid(), "sms", "accepted"), Now);

    private static async Task<T> WithStoreAsync<T>(IHost host, Func<IStateStore, Task<T>> use)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<IStateStore>();
        Assert.IsType<DaprStateStore>(store);
        return await use(store);
    }

    private static IHost BuildDaprHost(StateSidecar sidecar, Dictionary<string, string?>? settings = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Chat4All:Runtime"] = "dapr",
            ["ConnectionStrings:Redis"] = "127.0.0.1:1,abortConnect=false", // never used by the state store
        });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        // The composition root may configure the client; AddEventBus keeps an existing registration.
        builder.Services.AddDaprClient(dapr => dapr
            .UseGrpcEndpoint("http://127.0.0.1:50001")
            .UseGrpcChannelOptions(new GrpcChannelOptions { HttpHandler = sidecar, DisposeHttpClient = false }));
        builder.AddStateStore<StateTestDbContext>();
        return builder.Build();
    }
}

/// <summary>How the fake sidecar answers a call: a gRPC status, and the response message when it is OK.</summary>
public sealed record SidecarAnswer(int Status, IMessage? Response = null, string? Message = null)
{
    public static SidecarAnswer Ok(IMessage response) => new(0, response);
}

/// <summary>
/// Stands in for daprd's gRPC port: records each unary call (path and protobuf bytes) and answers
/// what <see cref="Answer"/> says for its path — by default an OK with <c>google.protobuf.Empty</c>.
/// </summary>
public sealed class StateSidecar : HttpMessageHandler
{
    private readonly List<(string Path, byte[] Message)> _calls = [];

    public Func<string, SidecarAnswer> Answer { get; init; } = _ => SidecarAnswer.Ok(new Empty());

    public IReadOnlyList<(string Path, byte[] Message)> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>The only call made, which must have gone to <paramref name="path"/>, parsed as its request type.</summary>
    public T OnlyCall<T>(string path)
        where T : IMessage<T>, new()
    {
        var call = Assert.Single(Calls);
        Assert.Equal(path, call.Path);
        return new MessageParser<T>(() => new T()).ParseFrom(call.Message);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // gRPC length-prefixed message: 1 byte compressed flag, 4 bytes big-endian length, the protobuf.
        var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
        Assert.Equal(0, body[0]);
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1, 4));
        var path = request.RequestUri!.AbsolutePath;
        lock (_calls)
        {
            _calls.Add((path, body.AsSpan(5, length).ToArray()));
        }

        var answer = Answer(path);
        var payload = answer.Status == 0 ? answer.Response!.ToByteArray() : null;
        var frame = payload is null ? [] : new byte[5 + payload.Length];
        if (payload is not null)
        {
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1, 4), (uint)payload.Length);
            payload.CopyTo(frame, 5);
        }

        var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version20, Content = new ByteArrayContent(frame) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        response.TrailingHeaders.Add("grpc-status", answer.Status.ToString(CultureInfo.InvariantCulture));
        if (answer.Message is not null)
        {
            response.TrailingHeaders.Add("grpc-message", Uri.EscapeDataString(answer.Message));
        }

        return response;
    }
}
