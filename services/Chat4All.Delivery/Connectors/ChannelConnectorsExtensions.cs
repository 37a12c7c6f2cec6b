using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Contracts;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Simulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

public static class ChannelConnectorsExtensions
{
    /// <summary>
    /// Registers the five simulated connectors as <see cref="IChannelConnector"/> singletons, the
    /// <see cref="ChannelConnectors"/> registry, the <see cref="ChannelSimulator"/> they share (state in
    /// the <c>AddChat4AllRedis</c> connection), its options (<c>Chat4All:Delivery:Simulator</c> and
    /// <c>Chat4All:Delivery:Channels:{channel}</c>, validated on start) and the hosted service that
    /// POSTs its webhooks. Safe to call more than once. A real connector replaces a simulated one by
    /// taking over its class: the registry finds connectors by their <see cref="IChannelConnector.Channel"/>.
    /// </summary>
    public static IHostApplicationBuilder AddSimulatedChannelConnectors(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(ChannelSimulator)))
        {
            return builder;
        }

        if (!services.Any(d => d.ServiceType == typeof(IConfigureOptions<Chat4AllOptions>)))
        {
            // Usually bound by AddServiceDefaults; the webhook secrets need DataDirectory.
            services.AddOptions<Chat4AllOptions>().BindConfiguration(Chat4AllOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        }

        builder.AddChat4AllRedis();
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<ChannelSimulatorOptions>().BindConfiguration(ChannelSimulatorOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        foreach (var channel in Channels.All)
        {
            services.AddOptions<SimulatedChannelOptions>(channel).Configure(o => SimulatedChannelOptions.ApplyProviderDefaults(channel, o))
                .BindConfiguration(SimulatedChannelOptions.SectionName(channel)).ValidateOnStart();
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SimulatedChannelOptions>, SimulatedChannelOptionsValidator>());

        services.TryAddSingleton<WebhookSecrets>();
        services.TryAddSingleton<WebhookTarget>();
        services.TryAddSingleton<SimulatorCallbackQueue>();
        services.AddSingleton(sp => new ChannelSimulator(
            sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<IOptionsMonitor<SimulatedChannelOptions>>(),
            sp.GetRequiredService<IOptions<ChannelSimulatorOptions>>(),
            sp.GetRequiredService<SimulatorCallbackQueue>(),
            sp.GetRequiredService<WebhookSecrets>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ChannelSimulator>>()));

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IChannelConnector, WhatsAppConnector>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IChannelConnector, InstagramConnector>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IChannelConnector, TelegramConnector>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IChannelConnector, MessengerConnector>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IChannelConnector, SmsConnector>());
        services.TryAddSingleton<ChannelConnectors>();

        services.AddHttpClient(SimulatorCallbackDispatcher.HttpClientName, (sp, client) =>
        {
            client.Timeout = sp.GetRequiredService<IOptions<ChannelSimulatorOptions>>().Value.CallbackTimeout;
            client.DefaultRequestHeaders.UserAgent.ParseAdd("Chat4All-ChannelSimulator/1.0");
        });
        services.AddHostedService<SimulatorCallbackDispatcher>();
        return builder;
    }
}
