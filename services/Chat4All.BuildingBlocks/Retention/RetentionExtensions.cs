using Chat4All.BuildingBlocks.Retention;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.Hosting;

public static class RetentionExtensions
{
    /// <summary>
    /// Enrols a rule in the process's one retention job (registered with the first rule): rows of
    /// <paramref name="table"/> in <typeparamref name="TContext"/>'s schema whose
    /// <paramref name="timestampColumn"/> is older than <c>Chat4All:Retention:Ages:{name}</c> are deleted.
    /// </summary>
    public static IHostApplicationBuilder AddRetentionRule<TContext>(this IHostApplicationBuilder builder, string name, string table, string timestampColumn)
        where TContext : DbContext =>
        builder.AddRetentionRule(RetentionRules.Table<TContext>(name, table, timestampColumn));

    /// <summary>Enrols a rule with a purge of its own; its age is <c>Chat4All:Retention:Ages:{rule.Name}</c>.</summary>
    public static IHostApplicationBuilder AddRetentionRule(this IHostApplicationBuilder builder, RetentionRule rule)
    {
        var name = rule.Name;
        builder.Services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.Ages.ContainsKey(name), $"{RetentionOptions.SectionName}:Ages:{name} is not set.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(rule);
        if (!builder.Services.Any(d => d.ServiceType == typeof(RetentionService)))
        {
            builder.Services.AddSingleton<RetentionService>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        }

        return builder;
    }
}
