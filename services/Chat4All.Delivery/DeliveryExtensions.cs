using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Delivery;
using Chat4All.Delivery.Addresses;
using Chat4All.Delivery.ChannelChanges;
using Chat4All.Delivery.Data;
using Chat4All.Delivery.DeadLetters;
using Chat4All.Delivery.Deliveries;
using Chat4All.Delivery.Simulator;
using Chat4All.Delivery.Subscriptions;
using Chat4All.Delivery.Webhooks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

public static class DeliveryExtensions
{
    /// <summary>
    /// The delivery service: routes <c>message.created</c> to one delivery per recipient and channel,
    /// attempts them through the channel connectors with retries, breakers and fallback, keeps the
    /// records in the state store with their status events, takes providers' webhooks, and carries
    /// edits and deletes of messages to the channels that allow them (docs/adr/0065).
    /// </summary>
    public static IHostApplicationBuilder AddDeliveryService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.AddServiceDbContext<DeliveryDbContext>(DeliveryDbContext.Schema);
        builder.AddRetentionRule<DeliveryDbContext>(Chat4All.BuildingBlocks.Retention.RetentionRules.ProviderMessages, "provider_messages", "created_at");
        builder.AddRetentionRule(DeliveryRecord.FinishedRetention);
        builder.AddStateStore<DeliveryDbContext>();
        builder.AddSimulatedChannelConnectors();
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<DeliveryMetrics>();
        builder.Services.AddSingleton<DeliveryDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeliveryDispatcher>());
        builder.Services.AddSingleton<DeliveryClaims>();
        builder.Services.AddScoped<DeliveryProcessor>();
        builder.Services.AddScoped<DemoChannelAddresses>();
        builder.Services.AddScoped<ChannelChangeRecorder>();
        builder.Services.AddScoped<ChannelChangeProcessor>();
        builder.Services.AddSingleton<ChannelChangeWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ChannelChangeWorker>());
        builder.AddRetentionRule(ChannelChangesModel.FinishedRetention);
        builder.AddEventSubscription<DeliveryRouter>(Topics.MessageCreated, Targets.Delivery);
        builder.AddWebhookSubscriptions();
        return builder;
    }

    /// <summary>
    /// Outbound webhooks (ADR 0050): every topic of the event catalog is fanned out to matching
    /// subscriptions (in delivery's consumer group, next to the router on <c>message.created</c>), and
    /// the sender posts the deliveries. A topic added to the catalog is subscribable without more code.
    /// </summary>
    private static void AddWebhookSubscriptions(this IHostApplicationBuilder builder)
    {
        builder.AddRetentionRule<DeliveryDbContext>(Chat4All.BuildingBlocks.Retention.RetentionRules.WebhookDeliveries, "webhook_deliveries", "delivered_at");
        builder.Services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<WebhookTargetPolicy>();
        builder.Services.AddSingleton<WebhookMetrics>();
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddSingleton<ActiveSubscriptions>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookSender>());
        foreach (var (topic, _) in EventCatalog.Events)
        {
            builder.AddEventSubscription<WebhookFanOut>(topic, Targets.Delivery);
        }
    }

    public static IEndpointRouteBuilder MapDeliveryService(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapWebhooksApi();
        endpoints.MapWebhookSubscriptionsApi();
        endpoints.MapChannelAddressesApi();
        endpoints.MapDeadLettersApi();
        endpoints.MapSimulatorApi();
        endpoints.MapEventSubscriptions();
        return endpoints;
    }
}
