using Chat4All.BuildingBlocks.Outbox;
using Chat4All.BuildingBlocks.Retention;
using Chat4All.BuildingBlocks.Tests.StateStore;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Chat4All.BuildingBlocks.Tests.Retention;

/// <summary>The retention job against a real outbox table: only finished rows older than the configured age go.</summary>
public sealed class RetentionTests(StateDatabase database) : IClassFixture<StateDatabase>
{
    [Fact]
    public async Task PublishedOutboxRowsOlderThanTheConfiguredAgeAreDeletedInBatchesWhilePendingAndRecentOnesStay()
    {
        var now = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(now);
        var old = Enumerable.Range(0, 5).Select(_ => Row(now.AddHours(-3), publishedAt: now.AddHours(-2))).ToList();
        var recent = Row(now.AddHours(-1), publishedAt: now.AddMinutes(-30));
        var pending = Row(now.AddHours(-5), publishedAt: null);
        await using (var db = StateTestDbContext.Open(database.ConnectionString))
        {
            await db.Database.ExecuteSqlRawAsync($"TRUNCATE \"{StateTestDbContext.Schema}\".\"{OutboxModel.TableName}\"");
            db.AddRange([.. old, recent, pending]);
            await db.SaveChangesAsync();
        }

        using var host = BuildHost(time, ("Chat4All:Retention:Ages:outbox", "01:00:00"), ("Chat4All:Retention:BatchSize", "2"));
        var deleted = await host.Services.GetRequiredService<RetentionService>().RunOnceAsync(CancellationToken.None);

        await using var check = StateTestDbContext.Open(database.ConnectionString);
        var left = await check.Set<OutboxMessage>().AsNoTracking().Select(m => m.EventId).ToListAsync();
        Assert.Equal(5, deleted[RetentionRules.Outbox]);
        Assert.Equal(new[] { recent.EventId, pending.EventId }.Order(), left.Order());
    }

    [Fact]
    public async Task AnAgeShorterThanAMinuteIsRefusedAtStart()
    {
        using var host = BuildHost(new FakeTimeProvider(), ("Chat4All:Retention:Ages:outbox", "00:00:10"));

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Chat4All:Retention:Ages:outbox must be at least 00:01:00", error.Message, StringComparison.Ordinal);
    }

    private IHost BuildHost(TimeProvider time, params (string Key, string Value)[] settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection([.. settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)),
            new("Chat4All:Retention:Enabled", "false")]);
        builder.Services.AddSingleton(time);
        builder.Services.AddDbContext<StateTestDbContext>(o => o.UseNpgsql(database.ConnectionString));
        builder.AddRetentionRule<StateTestDbContext>(RetentionRules.Outbox, OutboxModel.TableName, "published_at");
        return builder.Build();
    }

    private static OutboxMessage Row(DateTimeOffset createdAt, DateTimeOffset? publishedAt)
    {
        var row = OutboxWriter.Create("retention.test", Guid.NewGuid().ToString(), new { n = 1 }, createdAt);
        row.PublishedAt = publishedAt;
        return row;
    }
}
