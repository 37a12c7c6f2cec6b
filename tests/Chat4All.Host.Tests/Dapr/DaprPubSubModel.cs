using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Dapr.Client.Autogen.Grpc.v1;

namespace Chat4All.Host.Tests.Dapr;

/// <summary>One event as the broker holds it: the CloudEvent daprd built and the Kafka record key.</summary>
public sealed record BrokerRecord(string Topic, string PartitionKey, string CloudEvent)
{
    public JsonNode Envelope => JsonNode.Parse(CloudEvent)!;
}

/// <summary>
/// daprd's pub/sub with the Kafka component, as far as our apps can see it:
/// <list type="bullet">
/// <item>Publish (dapr/dapr <c>pkg/api/grpc/grpc.go</c> PublishEvent → components-contrib <c>pubsub/envelope.go</c>
/// NewCloudEventsEnvelope): <c>id</c> from <c>cloudevent.id</c> metadata (else a new UUID), <c>type</c> from
/// <c>cloudevent.type</c> (else <c>com.dapr.event.sent</c>), JSON data embedded as a JSON value when the content
/// type is JSON, otherwise a string; <c>partitionKey</c> metadata becomes the Kafka record key
/// (components-contrib <c>pubsub/kafka</c>, <c>common/component/kafka/producer.go</c>).</item>
/// <item>Delivery (dapr/dapr <c>pkg/runtime/subscription</c>): to each subscribed app's route, one partition at a
/// time in order (Kafka's consumer-group session), the record key as the <c>__key</c> metadata header.
/// A 2xx with status SUCCESS (or no status) acknowledges; DROP or 404 drops; RETRY or any other status is
/// retried under the resiliency policy (components/resiliency.yaml: 4 attempts), then the CloudEvent goes to
/// the subscription's <c>deadLetterTopic</c>.</item>
/// </list>
/// </summary>
public sealed class DaprPubSubModel : IAsyncDisposable
{
    /// <summary>Attempts per event before the dead-letter topic (components/resiliency.yaml, policy <c>delivery</c>).</summary>
    public const int DeliveryAttempts = 4;

    private const int Partitions = 6;
    private readonly ConcurrentQueue<BrokerRecord> _published = new();
    private readonly ConcurrentQueue<(string App, BrokerRecord Record, string Outcome)> _deliveries = new();
    private readonly List<AttachedApp> _apps = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private int _disposed;

    /// <summary>Every record on every topic, dead-letter topics included, in publish order.</summary>
    public IReadOnlyList<BrokerRecord> Published => [.. _published];

    /// <summary>Every record that went to a dead-letter topic.</summary>
    public IReadOnlyList<BrokerRecord> DeadLettered => [.. _published.Where(r => r.Topic.EndsWith(".dlq", StringComparison.Ordinal))];

    /// <summary>Each delivery attempt's outcome per app: SUCCESS, DROP, RETRY or the HTTP status.</summary>
    public IReadOnlyList<(string App, BrokerRecord Record, string Outcome)> Deliveries => [.. _deliveries];

    /// <summary>
    /// What daprd does when its app becomes healthy: reads <c>GET /dapr/subscribe</c> and starts a consumer per
    /// subscription (consumer group = app id) from the earliest offset of a new group.
    /// </summary>
    public async Task AttachAsync(string appId, Uri appAddress)
    {
        using var response = await _http.GetAsync(new Uri(appAddress, "/dapr/subscribe"));
        var subscriptions = response.StatusCode == HttpStatusCode.NotFound
            ? []
            : (JsonNode.Parse(await response.Content.ReadAsStringAsync())?.AsArray() ?? [])
                .Select(s => new Subscription(s!["topic"]!.GetValue<string>(), s["route"]!.GetValue<string>(), s["deadLetterTopic"]?.GetValue<string>()))
                .ToList();
        var app = new AttachedApp(appId, appAddress, subscriptions, this);
        lock (_gate)
        {
            _apps.Add(app);
            foreach (var record in _published)
            {
                app.Offer(record);
            }
        }
    }

    public void Publish(PublishEventRequest request)
    {
        request.Metadata.TryGetValue("partitionKey", out var key);
        var envelope = new JsonObject
        {
            ["specversion"] = "1.0",
            ["id"] = request.Metadata.TryGetValue("cloudevent.id", out var id) ? id : Guid.NewGuid().ToString("D"),
            ["type"] = request.Metadata.TryGetValue("cloudevent.type", out var type) ? type : "com.dapr.event.sent",
            ["source"] = "stand-in",
            ["topic"] = request.Topic,
            ["pubsubname"] = request.PubsubName,
            ["datacontenttype"] = request.DataContentType,
            ["time"] = DateTimeOffset.UtcNow.ToString("O"),
        };
        if (request.Metadata.TryGetValue("cloudevent.traceparent", out var traceParent))
        {
            envelope["traceparent"] = traceParent;
        }

        var data = request.Data.ToStringUtf8();
        envelope["data"] = request.DataContentType.Contains("json", StringComparison.OrdinalIgnoreCase) ? JsonNode.Parse(data) : data;
        Append(new BrokerRecord(request.Topic, key ?? "", envelope.ToJsonString()));
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        List<AttachedApp> apps;
        lock (_gate)
        {
            apps = [.. _apps];
        }

        foreach (var app in apps)
        {
            await app.DrainAsync();
        }

        _http.Dispose();
        _stop.Dispose();
    }

    private void Append(BrokerRecord record)
    {
        lock (_gate)
        {
            _published.Enqueue(record);
            foreach (var app in _apps)
            {
                app.Offer(record);
            }
        }
    }

    private sealed record Subscription(string Topic, string Route, string? DeadLetterTopic);

    /// <summary>One app's consumers: a sequential worker per (topic, partition), as a Kafka consumer-group member runs them.</summary>
    private sealed class AttachedApp(string appId, Uri address, IReadOnlyList<Subscription> subscriptions, DaprPubSubModel broker)
    {
        private readonly ConcurrentDictionary<(string Topic, int Partition), Channel<BrokerRecord>> _partitions = new();
        private readonly ConcurrentBag<Task> _workers = [];

        public void Offer(BrokerRecord record)
        {
            if (subscriptions.FirstOrDefault(s => s.Topic == record.Topic) is not { } subscription)
            {
                return;
            }

            // A record without a key goes round-robin in Kafka; one partition is enough to model "some partition".
            var partition = record.PartitionKey.Length == 0 ? 0 : (int)((uint)StringComparer.Ordinal.GetHashCode(record.PartitionKey) % Partitions);
            var queue = _partitions.GetOrAdd((record.Topic, partition), _ =>
            {
                var channel = Channel.CreateUnbounded<BrokerRecord>(new UnboundedChannelOptions { SingleReader = true });
                _workers.Add(Task.Run(() => ConsumeAsync(channel.Reader, subscription)));
                return channel;
            });
            queue.Writer.TryWrite(record);
        }

        public async Task DrainAsync()
        {
            foreach (var queue in _partitions.Values)
            {
                queue.Writer.TryComplete();
            }

            try
            {
                await Task.WhenAll(_workers);
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task ConsumeAsync(ChannelReader<BrokerRecord> reader, Subscription subscription)
        {
            var stop = broker._stop.Token;
            await foreach (var record in reader.ReadAllAsync(stop))
            {
                var delivered = false;
                for (var attempt = 1; attempt <= DeliveryAttempts && !delivered && !stop.IsCancellationRequested; attempt++)
                {
                    var outcome = await DeliverAsync(record, subscription, stop);
                    broker._deliveries.Enqueue((appId, record, outcome));
                    delivered = outcome is "SUCCESS" or "DROP";
                    if (!delivered)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), stop);
                    }
                }

                if (!delivered && subscription.DeadLetterTopic is { } deadLetterTopic && !stop.IsCancellationRequested)
                {
                    broker.Append(record with { Topic = deadLetterTopic });
                }
            }
        }

        private async Task<string> DeliverAsync(BrokerRecord record, Subscription subscription, CancellationToken stop)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, subscription.Route))
            {
                Content = new StringContent(record.CloudEvent, Encoding.UTF8, "application/cloudevents+json"),
            };
            if (record.PartitionKey.Length > 0)
            {
                request.Headers.TryAddWithoutValidation("__key", record.PartitionKey);
            }

            try
            {
                using var response = await broker._http.SendAsync(request, stop);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return "DROP";
                }

                if (!response.IsSuccessStatusCode)
                {
                    return ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                var body = await response.Content.ReadAsStringAsync(stop);
                var status = body.Length == 0 ? null : JsonNode.Parse(body)?["status"]?.GetValue<string>();
                return string.IsNullOrEmpty(status) ? "SUCCESS" : status.ToUpperInvariant();
            }
            catch (HttpRequestException)
            {
                return "unreachable"; // the app is down: retried like any failure
            }
            catch (JsonException)
            {
                return "SUCCESS"; // daprd treats a 2xx whose body is not JSON as success
            }
        }
    }
}
