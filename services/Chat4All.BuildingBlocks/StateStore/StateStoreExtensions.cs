using Chat4All.BuildingBlocks.Hosting;
using Chat4All.BuildingBlocks.StateStore;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class StateStoreExtensions
{
    /// <summary>
    /// Registers the scoped <see cref="IStateStore"/> for the runtime in <c>Chat4All:Runtime</c>:
    /// standalone → the <c>state</c> table and outbox of <typeparamref name="TContext"/>, published by
    /// its outbox relay through the event bus (both registered here); dapr → the
    /// <c>statestore</c> component through <c>DaprClient</c>. Options come from <c>Chat4All:StateStore</c>.
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

        services.TryAddScoped<PostgresStateStore<TContext>>();
        services.TryAddSingleton<DaprStateStore>();
        services.TryAddScoped<IStateStore>(sp => sp.GetRequiredService<IOptions<Chat4AllOptions>>().Value.Runtime switch
        {
            Chat4AllRuntime.Dapr => sp.GetRequiredService<DaprStateStore>(),
            _ => sp.GetRequiredService<PostgresStateStore<TContext>>(),
        });
        return builder;
    }
}

/// <summary>Which DbContext holds the state store; one per host, since IStateStore is resolved by type.</summary>
internal sealed record StateStoreRegistration(Type ContextType);
