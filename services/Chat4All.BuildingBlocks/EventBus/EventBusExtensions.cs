using System.Text.RegularExpressions;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static partial class EventBusExtensions
{
    /// <summary>
    /// Registers <see cref="IEventBus"/> for the runtime in <c>Chat4All:Runtime</c> (resolved when
    /// first used): standalone → Redis Streams (the <c>AddChat4AllRedis</c> connection), dapr → Dapr
    /// pub/sub through <c>DaprClient</c>. Options come from <c>Chat4All:EventBus</c>. Safe to call from
    /// every service that publishes or consumes. See docs/adr/0005-event-bus.md.
    /// </summary>
    public static IHostApplicationBuilder AddEventBus(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(EventBusRegistration)))
        {
            return builder;
        }

        services.AddSingleton<EventBusRegistration>();
        services.AddOptions<EventBusOptions>().BindConfiguration(EventBusOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        if (!services.Any(d => d.ServiceType == typeof(IConfigureOptions<Chat4AllOptions>)))
        {
            // Usually bound by AddServiceDefaults; a host without them still needs the runtime switch.
            services.AddOptions<Chat4AllOptions>().BindConfiguration(Chat4AllOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<EventBusMetrics>();

        // Redis serves both runtimes: the Streams adapter, and event-id dedupe for Dapr deliveries.
        builder.AddChat4AllRedis();
        services.TryAddSingleton<ProcessedEvents>();
        services.TryAddSingleton<BackgroundLane>();
        services.TryAddSingleton<IntegrationEventDispatcher>();
        services.TryAddSingleton<IDeadLetterReader, RedisDeadLetterReader>();

        services.TryAddSingleton<StreamWakeups>();
        services.TryAddSingleton<RedisStreamsEventBus>();
        services.AddHostedService<RedisStreamsConsumer>(); // idle in the dapr runtime
        builder.AddRetentionRule(ConsumedStreamTrimming.Rule);
        services.AddDaprClient(); // built only when the dapr runtime resolves it
        services.TryAddSingleton<DaprEventBus>();
        services.TryAddSingleton<IEventBus>(sp => sp.GetRequiredService<IOptions<Chat4AllOptions>>().Value.Runtime switch
        {
            Chat4AllRuntime.Dapr => sp.GetRequiredService<DaprEventBus>(),
            _ => sp.GetRequiredService<RedisStreamsEventBus>(),
        });
        return builder;
    }

    /// <summary>
    /// Delivers <paramref name="topic"/> to <typeparamref name="TConsumer"/>, resolved from a fresh
    /// scope per event. <paramref name="consumerGroup"/> is the consuming service's name: each group
    /// receives every event once, however many instances it runs. A consumer that throws has not
    /// handled the event: it is retried with backoff, then dead-lettered. A second consumer of the
    /// same topic in the same group joins the first (see <see cref="EventSubscription"/>).
    /// </summary>
    public static IHostApplicationBuilder AddEventSubscription<TConsumer>(this IHostApplicationBuilder builder, string topic, string consumerGroup)
        where TConsumer : class, IIntegrationEventConsumer
    {
        // Both names become Redis key parts and an HTTP route segment.
        if (!SafeName().IsMatch(topic))
        {
            throw new ArgumentException($"Topic '{topic}' must consist of letters, digits, '.', '_' or '-'.", nameof(topic));
        }

        if (!SafeName().IsMatch(consumerGroup))
        {
            throw new ArgumentException($"Consumer group '{consumerGroup}' must consist of letters, digits, '.', '_' or '-'.", nameof(consumerGroup));
        }

        builder.AddEventBus();
        var existing = builder.Services
            .Where(d => !d.IsKeyedService && d.ServiceType == typeof(EventSubscription) && d.ImplementationInstance is EventSubscription s
                && s.Topic == topic && s.ConsumerGroup == consumerGroup)
            .SingleOrDefault();
        if (existing?.ImplementationInstance is EventSubscription registered)
        {
            if (!registered.ConsumerTypes.Contains(typeof(TConsumer)))
            {
                // One subscription per (topic, group) keeps one stream position and one Dapr route; the consumers share it.
                builder.Services.TryAddScoped<TConsumer>();
                builder.Services.Remove(existing);
                builder.Services.AddSingleton(registered with { ConsumerTypes = [.. registered.ConsumerTypes, typeof(TConsumer)] });
            }

            return builder;
        }

        builder.Services.TryAddScoped<TConsumer>();
        builder.Services.AddSingleton(new EventSubscription(topic, consumerGroup, typeof(TConsumer)));
        return builder;
    }

    /// <summary>
    /// In the dapr runtime, maps <c>GET /dapr/subscribe</c> (programmatic subscriptions) and one
    /// <c>POST /events/{group}/{topic}</c> delivery route per subscription, anonymous (the sidecar
    /// calls them; when <c>APP_API_TOKEN</c> is set its <c>dapr-api-token</c> header is required) and
    /// left out of the OpenAPI document. In standalone it maps nothing: Redis consumers are a hosted
    /// service. Safe to call from every service.
    /// </summary>
    public static IEndpointRouteBuilder MapEventSubscriptions(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var registration = services.GetService<EventBusRegistration>()
            ?? throw new InvalidOperationException("MapEventSubscriptions needs AddEventBus (or AddEventSubscription) on the builder.");
        if (services.GetRequiredService<IOptions<Chat4AllOptions>>().Value.Runtime is not Chat4AllRuntime.Dapr || !registration.MarkEndpointsMapped())
        {
            return endpoints;
        }

        var subscriptions = services.GetServices<EventSubscription>().ToList();
        // Several targets in one Dapr app is the usual cause of what follows, and the sidecar options'
        // validation says so best: let it fail first.
        _ = services.GetService<IOptions<Chat4All.BuildingBlocks.Sidecar.DaprSidecarOptions>>()?.Value;
        // A Dapr app subscribes to a topic once; two groups in one app would silently share it.
        foreach (var shared in subscriptions.GroupBy(s => s.Topic).Where(g => g.Count() > 1))
        {
            throw new InvalidOperationException(
                $"Topic '{shared.Key}' is consumed by groups {string.Join(", ", shared.Select(s => s.ConsumerGroup))} in one Dapr app; " +
                "in the dapr runtime run each consuming target as its own app (app-id = target).");
        }

        DaprSubscriptionApi.Map(endpoints, subscriptions, services.GetRequiredService<IConfiguration>()["APP_API_TOKEN"]);
        return endpoints;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex SafeName();
}

/// <summary>Marks the bus as registered (AddEventBus is idempotent) and its Dapr endpoints as mapped.</summary>
internal sealed class EventBusRegistration
{
    private int _endpointsMapped;

    public bool MarkEndpointsMapped() => Interlocked.Exchange(ref _endpointsMapped, 1) == 0;
}
