using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Hosting;
using Chat4All.BuildingBlocks.Sidecar;
using Dapr.Actors.Runtime;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class DaprSidecarExtensions
{
    /// <summary>
    /// In the dapr runtime (<c>Chat4All:Runtime=dapr</c>): reads and validates the sidecar's address and the
    /// app-id (one target per app), points the actor runtime at that sidecar, holds the start until the
    /// sidecar answers (or refuses to start after <c>Chat4All:Dapr:StartupTimeout</c>), and adds the sidecar
    /// to <c>/ready</c>. The building blocks themselves choose their Dapr adapters on the same switch. In
    /// standalone it adds nothing. See docs/adr/0014-deployment-layout.md.
    /// </summary>
    public static IHostApplicationBuilder AddDaprSidecar(this IHostApplicationBuilder builder)
    {
        var runtime = builder.Configuration.GetSection(Chat4AllOptions.SectionName).Get<Chat4AllOptions>()?.Runtime ?? Chat4AllRuntime.Standalone;
        var services = builder.Services;
        if (runtime is not Chat4AllRuntime.Dapr || services.Any(d => d.ServiceType == typeof(DaprSidecarProbe)))
        {
            return builder;
        }

        services.AddOptions<DaprSidecarOptions>()
            .BindConfiguration(DaprSidecarOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.ReadSidecarVariables(configuration))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<DaprSidecarOptions>, DaprSidecarValidation>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(DaprSidecarProbe.HttpClientName);
        services.AddSingleton<DaprSidecarProbe>();
        // First of all hosted services: the host constructs them in order before it validates options, and
        // the Dapr SDK throws its own parse error for a malformed address when a later one resolves
        // DaprClient; this one reads the validated options in its constructor, so our message wins.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, DaprSidecarWait>());
        // "ready" is the tag ServiceDefaults' /ready selects, next to postgres and redis.
        services.AddHealthChecks().AddCheck<DaprSidecarHealthCheck>("dapr", tags: ["ready"], timeout: TimeSpan.FromSeconds(3));

        // The actor runtime (and the proxies it hands out) would otherwise read the environment on its own.
        services.AddOptions<ActorRuntimeOptions>().Configure<IOptions<DaprSidecarOptions>>((actors, sidecar) =>
        {
            if (sidecar.Value.HttpEndpoint is { } endpoint)
            {
                actors.HttpEndpoint = endpoint.GetLeftPart(UriPartial.Authority);
            }
        });
        return builder;
    }

    /// <summary>
    /// In the dapr runtime, makes sure the sidecar's start-up call <c>GET /dapr/subscribe</c> gets an answer
    /// from every app: the subscriptions of the services that consume events (<c>MapEventSubscriptions</c>,
    /// idempotent), or an empty list from an app that consumes none (identity) — rather than the 401 that
    /// the authenticated-by-default pipeline would give the sidecar. In standalone it maps nothing.
    /// </summary>
    public static IEndpointRouteBuilder MapDaprSidecar(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        if (services.GetService<DaprSidecarProbe>() is null)
        {
            return endpoints;
        }

        if (services.GetService<EventBusRegistration>() is null)
        {
            DaprSubscriptionApi.Map(endpoints, [], services.GetRequiredService<IConfiguration>()["APP_API_TOKEN"]);
        }
        else
        {
            endpoints.MapEventSubscriptions();
        }

        return endpoints;
    }
}
