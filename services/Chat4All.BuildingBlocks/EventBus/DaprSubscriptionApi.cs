using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Chat4All.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>One entry of Dapr's programmatic subscription list (names are Dapr's, case-sensitive).</summary>
internal sealed record DaprSubscription(
    [property: JsonPropertyName("pubsubname")] string PubSubName,
    [property: JsonPropertyName("topic")] string Topic,
    [property: JsonPropertyName("route")] string Route,
    [property: JsonPropertyName("deadLetterTopic")] string DeadLetterTopic);

/// <summary>The body Dapr reads from a delivery response.</summary>
internal sealed record DaprAppResponse([property: JsonPropertyName("status")] string Status)
{
    public static readonly DaprAppResponse Success = new("SUCCESS");
    public static readonly DaprAppResponse Retry = new("RETRY");
}

/// <summary>
/// The app side of Dapr pub/sub: <c>GET /dapr/subscribe</c> lists every registered subscription,
/// and <c>POST /events/{group}/{topic}</c> receives its CloudEvents. Per the Dapr pub/sub API a 2xx
/// with <c>SUCCESS</c> acknowledges; any status other than 2xx and 404 makes the sidecar retry (its
/// resiliency policy) and finally publish to the subscription's dead-letter topic. A failed consumer
/// therefore gets 500 with <c>RETRY</c>: it counts as a server error in every dashboard, and the body
/// states the intent. 404 (which Dapr treats as "drop") is never returned on purpose.
/// </summary>
internal static class DaprSubscriptionApi
{
    public const string SubscribePath = "/dapr/subscribe";

    /// <summary>Dapr sends <c>APP_API_TOKEN</c> as this header when the app configured one.</summary>
    public const string AppApiTokenHeader = "dapr-api-token";

    public static string RouteOf(EventSubscription subscription) => $"/events/{subscription.ConsumerGroup}/{subscription.Topic}";

    public static void Map(IEndpointRouteBuilder endpoints, IReadOnlyList<EventSubscription> subscriptions, string? appApiToken)
    {
        var list = subscriptions
            .Select(s => new DaprSubscription(Components.PubSub, s.Topic, RouteOf(s), Topics.DeadLetterOf(s.Topic)))
            .ToList();
        ForTheSidecar(endpoints.MapGet(SubscribePath, () => GetSubscriptions(list)), appApiToken);

        foreach (var subscription in subscriptions)
        {
            ForTheSidecar(endpoints.MapPost(RouteOf(subscription),
                (HttpRequest request, IntegrationEventDispatcher dispatcher, EventBusMetrics metrics, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken) =>
                    DeliverAsync(subscription, request, dispatcher, metrics, time, loggers, cancellationToken)), appApiToken);
        }
    }

    public static Ok<List<DaprSubscription>> GetSubscriptions(List<DaprSubscription> subscriptions) => TypedResults.Ok(subscriptions);

    public static async Task<Results<Ok<DaprAppResponse>, JsonHttpResult<DaprAppResponse>>> DeliverAsync(
        EventSubscription subscription,
        HttpRequest request,
        IntegrationEventDispatcher dispatcher,
        EventBusMetrics metrics,
        TimeProvider time,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger(typeof(DaprSubscriptionApi).FullName!);
        var (integrationEvent, malformed) = await DaprCloudEvent.ReadAsync(subscription.Topic, request, time, cancellationToken);
        if (integrationEvent is null)
        {
            // Retrying will not make it readable, but dropping would lose it: let it reach the dead-letter topic.
            EventBusLog.DaprMalformedEvent(logger, RouteOf(subscription), malformed!);
            return TypedResults.Json(DaprAppResponse.Retry, statusCode: StatusCodes.Status400BadRequest);
        }

        DispatchOutcome outcome;
        try
        {
            outcome = await dispatcher.DispatchAsync(subscription, integrationEvent, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            EventBusLog.DaprDedupeUnavailable(logger, ex, integrationEvent.Id, subscription.Topic);
            return TypedResults.Json(DaprAppResponse.Retry, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        if (outcome.Status is DispatchStatus.Failed)
        {
            metrics.Retried(subscription.Topic, subscription.ConsumerGroup);
            EventBusLog.DaprHandlerFailed(logger, outcome.Error!, subscription.ConsumerNames, integrationEvent.Id, subscription.Topic);
            return TypedResults.Json(DaprAppResponse.Retry, statusCode: StatusCodes.Status500InternalServerError);
        }

        return TypedResults.Ok(DaprAppResponse.Success);
    }

    // The sidecar is the only caller: no user token (it has none), no user rate-limit budget, and
    // not part of the public API description.
    private static void ForTheSidecar(RouteHandlerBuilder endpoint, string? appApiToken)
    {
        endpoint.AllowAnonymous().ExcludeFromDescription().DisableRateLimiting();
        if (!string.IsNullOrEmpty(appApiToken))
        {
            var expected = Encoding.UTF8.GetBytes(appApiToken);
            endpoint.AddEndpointFilter(async (context, next) =>
            {
                var presented = Encoding.UTF8.GetBytes(context.HttpContext.Request.Headers[AppApiTokenHeader].ToString());
                return CryptographicOperations.FixedTimeEquals(presented, expected) ? await next(context) : TypedResults.Unauthorized();
            });
        }
    }
}

/// <summary>Reads a structured CloudEvent (as the sidecar delivers it) back into an <see cref="IntegrationEvent"/>.</summary>
internal static class DaprCloudEvent
{
    public static async Task<(IntegrationEvent? Event, string? Error)> ReadAsync(string topic, HttpRequest request, TimeProvider time, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException ex)
        {
            return (null, "the body is not JSON: " + ex.Message);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind is not JsonValueKind.Object)
            {
                return (null, "the body is not a CloudEvent object");
            }

            if (String(root, "id") is not { } idText || !Guid.TryParse(idText, out var id))
            {
                return (null, "'id' is missing or not a UUID");
            }

            string data;
            if (String(root, "data_base64") is { } base64)
            {
                try
                {
                    data = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
                }
                catch (FormatException)
                {
                    return (null, "'data_base64' is not base64");
                }
            }
            else if (root.TryGetProperty("data", out var dataElement))
            {
                // JSON data is embedded as a JSON value; its text is the event body.
                data = dataElement.GetRawText();
            }
            else
            {
                return (null, "the CloudEvent has no data");
            }

            var occurredAt = String(root, "time") is { } timeText &&
                DateTimeOffset.TryParse(timeText, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed)
                    ? parsed
                    : time.GetUtcNow();
            var partitionKey = String(root, DaprMetadata.PartitionKeyExtension)
                ?? NonEmpty(request.Headers[DaprMetadata.KafkaKeyHeader].ToString())
                ?? NonEmpty(request.Headers[DaprMetadata.PartitionKey].ToString())
                ?? string.Empty;
            var traceParent = String(root, "traceparent") is { Length: > 0 } trace ? trace : null;
            var integrationEvent = new IntegrationEvent(id, topic, String(root, "type") ?? string.Empty, partitionKey, data, occurredAt, traceParent);
            return (integrationEvent, null);
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.String ? value.GetString() : null;

    private static string? NonEmpty(string value) => value.Length > 0 ? value : null;
}
