using Chat4All.BuildingBlocks.StateStore;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.Hosting;

public static class StateStoreExtensions
{
    /// <summary>
    /// Registers the scoped <see cref="IStateStore"/>: the <c>state</c> table and outbox of
    /// <typeparamref name="TContext"/>, published by its outbox relay through the event bus (both
    /// registered here) — in both runtimes. In the dapr runtime the event bus is Dapr pub/sub, so the
    /// relay publishes through the sidecar with our own CloudEvent id, type, partition key and JSON
    /// content type; Dapr's state-store outbox is not used (ADR 0016). Options come from <c>Chat4All:StateStore</c>.
    /// <typeparamref name="TContext"/> is the service's own DbContext (<c>AddServiceDbContext</c>) and
    /// must call both <c>modelBuilder.AddStateStore()</c> and <c>modelBuilder.AddOutbox()</c> in
    /// <c>OnModelCreating</c>; its migrations create the tables in the standalone runtime.
    /// </summary>
    public static IHostApplicationBuilder AddStateStore<TContext>(this IHostApplicationBuilder builder)
        where TContext : DbContext
    {
        var services = builder.Services;
        var existing = services.Select(d => d.ImplementationInstance).OfType<StateStoreRegistration>().FirstOrDefault();
        if (existing is not null)
        {
            return existing.ContextType == typeof(TContext)
                ? builder
                : throw new InvalidOperationException(
                    $"The state store already lives in {existing.ContextType.Name}; a host has one IStateStore, so {typeof(TContext).Name} cannot have another.");
        }

        services.AddSingleton(new StateStoreRegistration(typeof(TContext)));
        services.AddOptions<StateStoreOptions>().BindConfiguration(StateStoreOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.AddEventBus(); // also binds Chat4AllOptions when no AddServiceDefaults did, and registers DaprClient
        builder.AddOutboxRelay<TContext>();

        services.TryAddScoped<IStateStore, PostgresStateStore<TContext>>();
        return builder;
    }
}

/// <summary>Which DbContext holds the state store; one per host, since IStateStore is resolved by type.</summary>
internal sealed record StateStoreRegistration(Type ContextType);
