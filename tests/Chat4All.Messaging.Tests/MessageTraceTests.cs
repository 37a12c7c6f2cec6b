using System.Diagnostics;
using System.Net;
using System.Text.Json;
using OpenTelemetry.Trace;

namespace Chat4All.Messaging.Tests;

/// <summary>
/// One trace per message across the bus, as the host's own tracer provider exports it (the
/// in-memory exporter added next to its real configuration): the request, a producer span for the
/// outbox publish, and consumer spans in delivery and realtime parented to that publish. It runs
/// alone: every in-process host's activity sources feed this host's exporter, and on a loaded run
/// the other classes' hosts delayed its consumers past the wait.
/// </summary>
[Collection(Collection)]
public sealed class MessageTraceTests : IAsyncLifetime
{
    public const string Collection = "message trace (alone)";

    private readonly TemporaryDirectory _data = new();
    private readonly ExportedSpans _spans = new();
    private TestDatabase _database = null!;
    private Chat4AllHost _host = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _host = await new Chat4AllHost(_database.ConnectionString, await TestInfrastructure.RedisConnectionStringAsync(), _data.Path,
            new Dictionary<string, string?>
            {
                ["Chat4All:EventBus:KeyPrefix"] = "c4a-trace-" + Guid.NewGuid().ToString("N")[..8],
                ["Chat4All:RateLimiting:Enabled"] = "false",
                ["Chat4All:Tracing:SampleRatio"] = "1",
            },
            services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans))).StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _database.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task ASentMessageIsOneTraceFromTheRequestThroughItsPublishToTheDeliveryAndRealtimeConsumers()
    {
        var alice = await _host.CreateUserAsync();
        var bob = await _host.CreateUserAsync();
        using var asAlice = await _host.CreateAuthenticatedClientAsync(alice);
        var conversationId = await asAlice.CreateConversationAsync("private", bob.UserId);
        using var sent = await asAlice.SendTextAsync(conversationId, "trace me");
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var messageId = JsonDocument.Parse(await sent.Content.ReadAsStringAsync()).RootElement.GetProperty("message_id").GetGuid();

        var request = await WaitForSpanAsync(s => s.Kind == ActivityKind.Server && s.OperationName == "Microsoft.AspNetCore.Hosting.HttpRequestIn" &&
            (string?)s.GetTagItem("http.request.method") == "POST" && (string?)s.GetTagItem("url.path") == "/v1/messages");
        var publish = await WaitForSpanAsync(s => s.Kind == ActivityKind.Producer && s.DisplayName == "message.created publish" && s.TraceId == request.TraceId);
        var delivery = await WaitForSpanAsync(s => IsConsumer(s, request.TraceId, "delivery"));
        var realtime = await WaitForSpanAsync(s => IsConsumer(s, request.TraceId, "realtime"));

        Assert.Equal(request.SpanId, publish.ParentSpanId);
        Assert.Equal(publish.SpanId, delivery.ParentSpanId);
        Assert.Equal(publish.SpanId, realtime.ParentSpanId);
        Assert.NotEqual(Guid.Empty, messageId);
    }

    private static bool IsConsumer(Activity span, ActivityTraceId traceId, string group) =>
        span.Kind == ActivityKind.Consumer && span.TraceId == traceId && span.DisplayName == "message.created process" &&
        (string?)span.GetTagItem("messaging.consumer.group.name") == group;

    private async Task<Activity> WaitForSpanAsync(Func<Activity, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_spans.Snapshot().FirstOrDefault(match) is { } span)
            {
                return span;
            }

            await Task.Delay(100);
        }

        throw new Xunit.Sdk.XunitException("No such span among: " +
            string.Join(", ", _spans.Snapshot().Where(s => s.Kind != ActivityKind.Client).Select(s => $"{s.Kind} {s.OperationName} {s.DisplayName} {s.GetTagItem("url.path")} {s.TraceId}/{s.ParentSpanId}")));
    }

    /// <summary>The exporter adds from the SDK's thread while the test reads.</summary>
    private sealed class ExportedSpans : System.Collections.ObjectModel.Collection<Activity>
    {
        private readonly Lock _gate = new();

        public List<Activity> Snapshot()
        {
            lock (_gate)
            {
                return [.. Items];
            }
        }

        protected override void InsertItem(int index, Activity item)
        {
            lock (_gate)
            {
                base.InsertItem(index, item);
            }
        }
    }
}

[CollectionDefinition(MessageTraceTests.Collection, DisableParallelization = true)]
public sealed class MessageTraceRunsAlone;
