using Chat4All.BuildingBlocks.Retention;
using Chat4All.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat4All.Delivery.Tests;

/// <summary>Finished delivery records leave the state store after their age; unfinished ones stay however old.</summary>
public sealed class DeliveryRetentionTests(DeliveryPlatform platform) : IClassFixture<DeliveryPlatform>
{
    [Fact]
    public async Task DeliveryRecordsFinishedLongerAgoThanTheirAgeAreDeletedWhileUnfinishedOnesStay()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Sms);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var messageId = await asSender.SendAsync(conversationId, "old news", [Channels.Sms]);
        await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && d[0].Status() == DeliveryStatuses.Delivered);
        var unfinishedKey = $"delivery|{Guid.NewGuid():N}|{Guid.NewGuid():N}|sms";

        await using var connection = new NpgsqlConnection(platform.Database.ConnectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, "UPDATE delivery.state SET updated_at = now() - interval '31 days' WHERE key LIKE @prefix",
            ("prefix", $"delivery|{messageId:N}|%"));
        await ExecuteAsync(connection, "INSERT INTO delivery.state (key, value, etag, updated_at) VALUES (@key, '{\"status\":\"sent\"}', 1, now() - interval '90 days')",
            ("key", unfinishedKey));

        var deleted = await platform.Host.Services.GetRequiredService<RetentionService>().RunOnceAsync(CancellationToken.None);

        Assert.True(deleted[RetentionRules.FinishedDeliveries] >= 1);
        Assert.Equal(0L, await CountAsync(connection, "SELECT count(*) FROM delivery.state WHERE key LIKE @prefix", ("prefix", $"delivery|{messageId:N}|%")));
        Assert.Equal(1L, await CountAsync(connection, "SELECT count(*) FROM delivery.state WHERE key = @prefix", ("prefix", unfinishedKey)));
        await ExecuteAsync(connection, "DELETE FROM delivery.state WHERE key = @key", ("key", unfinishedKey));
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, (string Name, object Value) parameter)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue(parameter.Name, parameter.Value);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, string sql, (string Name, object Value) parameter)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue(parameter.Name, parameter.Value);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
