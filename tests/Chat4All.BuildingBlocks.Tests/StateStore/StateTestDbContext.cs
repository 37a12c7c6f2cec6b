using System.Data.Common;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.BuildingBlocks.StateStore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Chat4All.BuildingBlocks.Tests.StateStore;

/// <summary>A service's DbContext as AddStateStore expects it: its own schema, the state table and the outbox.</summary>
public sealed class StateTestDbContext(DbContextOptions<StateTestDbContext> options) : DbContext(options)
{
    public const string Schema = "statetest";

    public static StateTestDbContext Open(string connectionString, CommandLog? log = null)
    {
        var options = new DbContextOptionsBuilder<StateTestDbContext>().UseNpgsql(connectionString);
        if (log is not null)
        {
            options.AddInterceptors(log);
        }

        return new StateTestDbContext(options.Options);
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.AddStateStore();
        modelBuilder.AddOutbox();
    }
}

/// <summary>The SQL of every command a context ran, to check how many round trips a call takes.</summary>
public sealed class CommandLog : DbCommandInterceptor
{
    private readonly List<string> _commands = [];

    public IReadOnlyList<string> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        lock (_commands)
        {
            _commands.Add(command.CommandText);
        }

        return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
    }
}

/// <summary>A state record as a delivery service might keep it; its JSON is snake_case.</summary>
public sealed record DeliveryRecord(Guid MessageId, string Channel, string Status, int Attempts);

/// <summary>An event of the outbox topic, standing in for message.status_changed.</summary>
public sealed record DeliveryStatusChanged(Guid MessageId, string Channel, string NewStatus);

/// <summary>A database of its own for one test class, with the state and outbox tables created.</summary>
public sealed class StateDatabase : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public string ConnectionString => _database.ConnectionString;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        await using var db = StateTestDbContext.Open(ConnectionString);
        await db.Database.EnsureCreatedAsync();
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();
}
