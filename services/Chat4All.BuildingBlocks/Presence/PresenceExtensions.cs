using Chat4All.BuildingBlocks.Hosting;
using Chat4All.BuildingBlocks.Presence;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class PresenceExtensions
{
    /// <summary>
    /// Registers <see cref="IPresenceTracker"/> for the runtime in <c>Chat4All:Runtime</c> (resolved when
    /// first used): standalone → Redis (the <c>AddChat4AllRedis</c> connection); dapr → one
    /// <c>UserPresence</c> actor per user, hosted by this app (the actor type is registered here; the
    /// host must also call <see cref="MapPresence"/>). Options come from <c>Chat4All:Presence</c>. Also
    /// adds the event bus, through which the actors announce timer-driven offline flips.
    /// See docs/adr/0011-presence.md.
    /// </summary>
    public static IHostApplicationBuilder AddPresence(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(PresenceRegistration)))
        {
            return builder;
        }

        services.AddSingleton<PresenceRegistration>();
        services.AddOptions<PresenceOptions>().BindConfiguration(PresenceOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.AddEventBus(); // also Chat4AllOptions, TimeProvider, metrics and the Redis connection

        services.TryAddSingleton<PresenceMetrics>();
        services.TryAddSingleton<RedisPresenceTracker>();
        services.TryAddSingleton<DaprPresenceTracker>();
        // The actor runtime is only resolved by MapPresence in the dapr runtime; registering it is free.
        services.AddActors(o => o.Actors.RegisterActor<UserPresenceActor>());
        services.TryAddSingleton<IPresenceTracker>(sp => sp.GetRequiredService<IOptions<Chat4AllOptions>>().Value.Runtime switch
        {
            Chat4AllRuntime.Dapr => sp.GetRequiredService<DaprPresenceTracker>(),
            _ => sp.GetRequiredService<RedisPresenceTracker>(),
        });
        return builder;
    }

    /// <summary>
    /// In the dapr runtime, maps the actor endpoints the sidecar calls (<c>GET /dapr/config</c>,
    /// <c>/actors/…</c> method, timer and deactivation routes, and <c>/healthz</c> when nothing else
    /// maps it): without them the sidecar cannot place <c>UserPresence</c> actors in this app. In
    /// standalone it maps nothing. Safe to call more than once.
    /// </summary>
    public static IEndpointRouteBuilder MapPresence(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var registration = services.GetService<PresenceRegistration>()
            ?? throw new InvalidOperationException("MapPresence needs AddPresence on the builder.");
        if (services.GetRequiredService<IOptions<Chat4AllOptions>>().Value.Runtime is Chat4AllRuntime.Dapr && registration.MarkEndpointsMapped())
        {
            // The sidecar is the only caller: it has no user token, spends no user's rate-limit budget, and
            // these routes are not part of the public API description (like the pub/sub routes, ADR 0005).
            endpoints.MapActorsHandlers().AllowAnonymous().DisableRateLimiting().ExcludeFromDescription();
        }

        return endpoints;
    }
}

/// <summary>Marks presence as registered (AddPresence is idempotent) and its actor endpoints as mapped.</summary>
internal sealed class PresenceRegistration
{
    private int _endpointsMapped;

    public bool MarkEndpointsMapped() => Interlocked.Exchange(ref _endpointsMapped, 1) == 0;
}
