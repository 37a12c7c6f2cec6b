using Chat4All.BuildingBlocks.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace Microsoft.Extensions.Hosting;

public static class PostgresExtensions
{
    public const string ConnectionStringName = "Postgres";

    /// <summary>
    /// Registers the one <see cref="NpgsqlDataSource"/> of this process (connection string
    /// <c>ConnectionStrings:Postgres</c>). Every service's DbContext shares its pool.
    /// </summary>
    public static IHostApplicationBuilder AddChat4AllPostgres(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(sp =>
        {
            var connectionString = sp.GetRequiredService<IConfiguration>().GetConnectionString(ConnectionStringName);
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new InvalidOperationException(
                    "ConnectionStrings:Postgres is not set. Start the platform with scripts/run.sh, or set ConnectionStrings__Postgres.");
            }

            return new NpgsqlDataSourceBuilder(connectionString).Build();
        });
        return builder;
    }

    /// <summary>
    /// Registers a service's DbContext on the shared data source, in its own schema, with its
    /// migrations history kept in that schema, and enrols it in the <c>migrate</c> command.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDbContext<TContext>(this IHostApplicationBuilder builder, string schema,
        Action<DbContextOptionsBuilder>? configure = null)
        where TContext : DbContext
    {
        builder.AddChat4AllPostgres();
        builder.Services.AddDbContext<TContext>((sp, options) =>
        {
            var dataSource = sp.GetRequiredService<NpgsqlDataSource>();
            options.UseNpgsql(dataSource, npgsql => npgsql
                .MigrationsHistoryTable("__ef_migrations_history", schema)
                .ExecutionStrategy(dependencies => new FailoverExecutionStrategy(dependencies, dataSource)));
            configure?.Invoke(options);
        });
        builder.Services.AddSingleton<IDatabaseMigration, DatabaseMigration<TContext>>();
        return builder;
    }
}
