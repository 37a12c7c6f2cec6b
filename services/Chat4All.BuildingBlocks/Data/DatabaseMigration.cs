using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.BuildingBlocks.Data;

/// <summary>One service's schema migrations; the host's <c>migrate</c> command runs them all.</summary>
public interface IDatabaseMigration
{
    string Name { get; }

    Task<IReadOnlyList<string>> ApplyAsync(IServiceProvider services, CancellationToken cancellationToken);
}

internal sealed class DatabaseMigration<TContext> : IDatabaseMigration
    where TContext : DbContext
{
    public string Name => typeof(TContext).Name;

    public async Task<IReadOnlyList<string>> ApplyAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        // Ask the history table only if it exists: on a fresh database EF would log a failed query.
        var history = db.GetService<IHistoryRepository>();
        var applied = await history.ExistsAsync(cancellationToken)
            ? (await history.GetAppliedMigrationsAsync(cancellationToken)).Select(m => m.MigrationId).ToHashSet()
            : [];
        var pending = db.Database.GetMigrations().Where(m => !applied.Contains(m)).ToList();
        // EF Core 9+ takes a database-wide lock around MigrateAsync, so several instances (or a
        // k8s Job racing a developer) can run this at once safely.
        await db.Database.MigrateAsync(cancellationToken);
        return pending;
    }
}
