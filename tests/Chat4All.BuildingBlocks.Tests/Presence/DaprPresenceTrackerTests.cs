using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.BuildingBlocks.Presence;
using Chat4All.Contracts;
using Dapr.Actors;
using Dapr.Actors.Client;
using Microsoft.Extensions.Time.Testing;

namespace Chat4All.BuildingBlocks.Tests.Presence;

/// <summary>
/// The dapr runtime's tracker at the wire: real Dapr actor proxies whose HTTP calls reach a sidecar
/// stand-in, which records them and answers by running the addressed actor in memory.
/// </summary>
public sealed class DaprPresenceTrackerTests
{
    private readonly ActorSidecar _sidecar = new();
    private readonly RecordingProxyFactory _proxies;
    private readonly DaprPresenceTracker _tracker;

    public DaprPresenceTrackerTests()
    {
        _proxies = new RecordingProxyFactory(_sidecar);
        _tracker = new DaprPresenceTracker(_proxies, PresenceTestKit.Metrics());
    }

    [Fact]
    public async Task ConnectCallsTheUsersActorWithAPlainJsonRequestAndReturnsItsAnswer()
    {
        var user = Guid.NewGuid();

        var update = await _tracker.ConnectAsync(user, "c1", "instance-a", 10, CancellationToken.None);

        Assert.Equal((new ActorId(user.ToString("D")), Actors.UserPresence), Assert.Single(_proxies.Created));
        var call = Assert.Single(_sidecar.Calls);
        Assert.Equal((HttpMethod.Put, $"/v1.0/actors/UserPresence/{user:D}/method/ConnectAsync"), (call.Method, call.Path));
        Assert.Equal("""{"connectionId":"c1","instanceId":"instance-a","maxConnections":10}""", call.Body);
        Assert.Equal(new PresenceUpdate(true, new PresenceStatus(user, true, 1, _sidecar.Time.GetUtcNow()), new PresenceChange(user, true, _sidecar.Time.GetUtcNow())), update);
    }

    [Fact]
    public async Task DisconnectGoesToTheSameActorAndReturnsTheOfflineChange()
    {
        var user = Guid.NewGuid();
        await _tracker.ConnectAsync(user, "c1", "instance-a", 10, CancellationToken.None);

        var update = await _tracker.DisconnectAsync(user, "c1", CancellationToken.None);

        var call = _sidecar.Calls[^1];
        Assert.Equal(($"/v1.0/actors/UserPresence/{user:D}/method/DisconnectAsync", """{"connectionId":"c1"}"""), (call.Path, call.Body));
        Assert.Equal(new PresenceChange(user, false, _sidecar.Time.GetUtcNow()), update.Change);
    }

    [Fact]
    public async Task HeartbeatCallsEachUsersActorOnceWithAllTheirConnections()
    {
        var (ana, bruno) = (Guid.NewGuid(), Guid.NewGuid());

        await _tracker.HeartbeatAsync("instance-a", [(ana, "a1"), (bruno, "b1"), (ana, "a2")], CancellationToken.None);

        var calls = _sidecar.Calls.OrderBy(c => c.Path == $"/v1.0/actors/UserPresence/{bruno:D}/method/HeartbeatAsync").ToList();
        Assert.Equal(
            [
                ($"/v1.0/actors/UserPresence/{ana:D}/method/HeartbeatAsync", """{"instanceId":"instance-a","connectionIds":["a1","a2"]}"""),
                ($"/v1.0/actors/UserPresence/{bruno:D}/method/HeartbeatAsync", """{"instanceId":"instance-a","connectionIds":["b1"]}"""),
            ],
            calls.Select(c => (c.Path, c.Body)));
    }

    [Fact]
    public async Task GetAsksEachUsersActorAndAnswersInRequestOrder()
    {
        var users = Enumerable.Range(0, 100).Select(_ => Guid.NewGuid()).ToList();
        await _tracker.ConnectAsync(users[42], "c1", "instance-a", 10, CancellationToken.None);

        var statuses = await _tracker.GetAsync(users, CancellationToken.None);

        Assert.Equal(users, statuses.Select(s => s.UserId));
        Assert.Equal([42], statuses.Select((s, i) => (s, i)).Where(x => x.s.Online).Select(x => x.i));
        Assert.Equal(101, _sidecar.Calls.Count);
        Assert.All(_sidecar.Calls.Skip(1), c => Assert.EndsWith("/method/GetAsync", c.Path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SweepCallsNoActorBecauseActorsSweepThemselves()
    {
        Assert.Empty(await _tracker.SweepAsync(CancellationToken.None));
        Assert.Empty(_sidecar.Calls);
    }
}

/// <summary>A proxy factory that records which actors were addressed and builds real Dapr proxies over the sidecar stand-in.</summary>
public sealed class RecordingProxyFactory(HttpMessageHandler sidecar) : IActorProxyFactory
{
    private readonly ActorProxyFactory _inner = new(new ActorProxyOptions { HttpEndpoint = "http://127.0.0.1:3500" }, sidecar);
    private readonly ConcurrentQueue<(ActorId, string)> _created = new();

    public IReadOnlyList<(ActorId ActorId, string ActorType)> Created => [.. _created];

    public ActorProxy Create(ActorId actorId, string actorType, ActorProxyOptions? options = null)
    {
        _created.Enqueue((actorId, actorType));
        return _inner.Create(actorId, actorType, options);
    }

    public TActorInterface CreateActorProxy<TActorInterface>(ActorId actorId, string actorType, ActorProxyOptions? options = null)
        where TActorInterface : IActor => throw new NotSupportedException("Presence calls its actors weakly typed.");

    public object CreateActorProxy(ActorId actorId, Type actorInterfaceType, string actorType, ActorProxyOptions? options = null) =>
        throw new NotSupportedException("Presence calls its actors weakly typed.");
}

/// <summary>
/// Stands in for daprd's actor API: records every request and answers an actor method call by
/// running it on that actor id's in-memory <see cref="UserPresenceActor"/>, JSON in and out with
/// the actor runtime's default (web) serializer options.
/// </summary>
public sealed class ActorSidecar : HttpMessageHandler
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly ConcurrentDictionary<string, UserPresenceActor> _actors = new();
    private readonly ConcurrentQueue<(HttpMethod Method, string Path, string Body)> _calls = new();

    public FakeTimeProvider Time { get; } = new(PresenceCases.Start);

    public RecordingEventBus Bus { get; } = new();

    public IReadOnlyList<(HttpMethod Method, string Path, string Body)> Calls => [.. _calls];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        _calls.Enqueue((request.Method, path, body));
        // /v1.0/actors/{type}/{id}/method/{method}
        var parts = path.Split('/');
        Assert.Equal(Actors.UserPresence, parts[3]);
        var actor = _actors.GetOrAdd(parts[4], id => PresenceTestKit.Actor(Guid.Parse(id), Bus, Time, new FakeActorStateManager(), new RecordingTimerManager()));
        object? answer = parts[6] switch
        {
            nameof(IUserPresenceActor.ConnectAsync) => await actor.ConnectAsync(Read<PresenceConnectRequest>(body), cancellationToken),
            nameof(IUserPresenceActor.DisconnectAsync) => await actor.DisconnectAsync(Read<PresenceDisconnectRequest>(body), cancellationToken),
            nameof(IUserPresenceActor.GetAsync) => await actor.GetAsync(cancellationToken),
            nameof(IUserPresenceActor.HeartbeatAsync) => await HeartbeatAsync(actor, Read<PresenceHeartbeatRequest>(body), cancellationToken),
            _ => throw new InvalidOperationException($"No actor method {parts[6]}."),
        };
        return new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = answer is null ? new StringContent("") : JsonContent.Create(answer, answer.GetType(), options: Json),
        };
    }

    private static T Read<T>(string body) => JsonSerializer.Deserialize<T>(body, Json)!;

    private static async Task<object?> HeartbeatAsync(UserPresenceActor actor, PresenceHeartbeatRequest request, CancellationToken cancellationToken)
    {
        await actor.HeartbeatAsync(request, cancellationToken);
        return null;
    }
}
