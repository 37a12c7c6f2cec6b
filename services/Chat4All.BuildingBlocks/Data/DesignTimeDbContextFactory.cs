using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Chat4All.BuildingBlocks.Data;

/// <summary>
/// Lets <c>dotnet ef migrations add</c> build a service's model without starting the host: the
/// same provider and migrations-history table (in the service's schema) as
/// <c>AddServiceDbContext</c>, on a connection string that is never opened.
/// </summary>
public abstract class DesignTimeDbContextFactory<TContext>(string schema, Func<DbContextOptions<TContext>, TContext> create)
    : IDesignTimeDbContextFactory<TContext>
    where TContext : DbContext
{
    public TContext CreateDbContext(string[] args) =>
        create(Configure(new DbContextOptionsBuilder<TContext>()
            .UseNpgsql("Host=localhost", o => o.MigrationsHistoryTable("__ef_migrations_history", schema))).Options);

    /// <summary>Extra model configuration the service's registration also applies (e.g. OpenIddict's entities).</summary>
    protected virtual DbContextOptionsBuilder<TContext> Configure(DbContextOptionsBuilder<TContext> options) => options;
}
