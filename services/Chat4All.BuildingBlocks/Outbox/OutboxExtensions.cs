using Chat4All.BuildingBlocks.Outbox;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.Hosting;

public static class OutboxExtensions
{
    /// <summary>
    /// Runs the outbox relay for <typeparamref name="TContext"/> (which must map <c>AddOutbox()</c>).
    /// Idempotent: a service may also get it through <c>AddStateStore</c>, and one relay per context is enough.
    /// </summary>
    public static IHostApplicationBuilder AddOutboxRelay<TContext>(this IHostApplicationBuilder builder)
        where TContext : DbContext
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(OutboxRelay<TContext>)))
        {
            return builder;
        }

        builder.Services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton<OutboxSignal>();
        builder.Services.TryAddSingleton<OutboxMetrics>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<OutboxRelay<TContext>>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay<TContext>>());
        // Published rows are history once relayed: every service's outbox is trimmed by the retention job.
        builder.AddRetentionRule<TContext>(Chat4All.BuildingBlocks.Retention.RetentionRules.Outbox, OutboxModel.TableName, "published_at");
        return builder;
    }
}
