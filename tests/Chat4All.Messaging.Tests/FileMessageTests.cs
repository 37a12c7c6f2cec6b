using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat4All.Messaging.Tests;

/// <summary>
/// A <c>payload.type = "file"</c> message needs a completed file of the same conversation, which
/// messaging learns only from files' <c>file.uploaded</c> events, published here to the real bus.
/// </summary>
public sealed class FileMessageTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    [Fact]
    public async Task AFileAnnouncedForTheConversationIsAcceptedAndShowsInTheHistory()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var file = await AnnounceAsync(pair.ConversationId, pair.Alice.UserId);

        using var response = await pair.AsAlice.SendFileAsync(pair.ConversationId, file.FileId);

        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var messageId = (await response.ReadJsonAsync()).GetProperty("message_id").GetGuid();
        var history = await pair.AsBob.GetJsonAsync($"/v1/conversations/{pair.ConversationId}/messages");
        var message = history.GetProperty("messages").EnumerateArray().Single();
        Assert.Equal(messageId, message.GetProperty("message_id").GetGuid());
        AssertFilePayload(file.FileId, message.GetProperty("payload"));
        AssertFilePayload(file.FileId, (await pair.AsBob.GetJsonAsync($"/v1/messages/{messageId}")).GetProperty("payload"));
        var created = await PublishedEvents.WaitForAsync(platform.Redis, platform.EventBusPrefix, Topics.MessageCreated, 1,
            e => e.GetProperty("message_id").GetGuid() == messageId);
        AssertFilePayload(file.FileId, created.Single().GetProperty("payload"));
    }

    [Fact]
    public async Task AFileMessageCannotBeEditedButItsDeleteLeavesATombstoneWithoutTheFile()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var file = await AnnounceAsync(pair.ConversationId, pair.Alice.UserId);
        using var sent = await pair.AsAlice.SendFileAsync(pair.ConversationId, file.FileId);
        var messageId = (await sent.ReadJsonAsync()).GetProperty("message_id").GetGuid();

        using var edit = await pair.AsAlice.PatchAsJsonAsync($"/v1/messages/{messageId}", new { text = "a caption" });
        using var delete = await pair.AsAlice.DeleteAsync($"/v1/messages/{messageId}");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, edit.StatusCode);
        Assert.Equal("message_not_editable", (await edit.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        var tombstone = await pair.AsBob.GetJsonAsync($"/v1/messages/{messageId}");
        Assert.Equal("file", tombstone.GetProperty("payload").GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, tombstone.GetProperty("payload").GetProperty("file_id").ValueKind);
        Assert.Equal(JsonValueKind.String, tombstone.GetProperty("deleted_at").ValueKind);
    }

    [Fact]
    public async Task AFileMessageForAnUnknownFileIsRefusedAndWritesNothing()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var messageId = Guid.NewGuid();

        using var response = await pair.AsAlice.SendFileAsync(pair.ConversationId, Guid.NewGuid(), messageId);

        await AssertFileNotAvailableAsync(response);
        Assert.Equal(0, await ScalarAsync("SELECT count(*) FROM messaging.messages WHERE message_id = @id", messageId));
        Assert.Equal(0, await ScalarAsync("SELECT last_seq FROM messaging.conversations WHERE conversation_id = @id", pair.ConversationId));
        Assert.Equal(1, await pair.AsAlice.SendAndGetSeqAsync(pair.ConversationId, "the refused file took no seq"));
    }

    [Fact]
    public async Task AFileOfAnotherConversationIsRefusedLikeAnUnknownOne()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var carol = await platform.Host.CreateUserAsync();
        var withCarol = await pair.AsAlice.CreateConversationAsync("private", carol.UserId);
        var file = await AnnounceAsync(withCarol, pair.Alice.UserId);

        using var elsewhere = await pair.AsAlice.SendFileAsync(pair.ConversationId, file.FileId);
        using var unknown = await pair.AsAlice.SendFileAsync(pair.ConversationId, Guid.NewGuid());

        var detail = await AssertFileNotAvailableAsync(elsewhere);
        Assert.Equal(await AssertFileNotAvailableAsync(unknown), detail);
        Assert.Equal(0, await ScalarAsync("SELECT count(*) FROM messaging.messages WHERE conversation_id = @id", pair.ConversationId));
        using var home = await pair.AsAlice.SendFileAsync(withCarol, file.FileId);
        Assert.Equal(HttpStatusCode.Accepted, home.StatusCode);
    }

    [Fact]
    public async Task TheSameFileAnnouncedTwiceIsStoredOnce()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var file = NewFile(pair.ConversationId, pair.Alice.UserId);
        var marker = NewFile(pair.ConversationId, pair.Alice.UserId);

        // The same fact under two event ids gets past event-id dedupe: only the consumer's natural key
        // can stop it. The marker shares the partition key, so it is consumed after both copies.
        await PublishAsync(file);
        await PublishAsync(file);
        await PublishAsync(marker);
        await WaitForFileAsync(marker.FileId);

        Assert.Equal(1, await ScalarAsync("SELECT count(*) FROM messaging.files WHERE file_id = @id", file.FileId));
        var deadLetters = await platform.Host.Services.GetRequiredService<IDeadLetterReader>().ReadAsync(Topics.FileUploaded, 100, CancellationToken.None);
        Assert.DoesNotContain(deadLetters, d => d.Event?.PartitionKey == pair.ConversationId.ToString());
        using var response = await pair.AsAlice.SendFileAsync(pair.ConversationId, file.FileId);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private static FileUploaded NewFile(Guid conversationId, Guid ownerId)
    {
        var fileId = Guid.NewGuid();
        return new(fileId, Guid.NewGuid(), conversationId, ownerId, "report.pdf", "application/pdf", 1_234_567,
            Convert.ToHexStringLower(SHA256.HashData(fileId.ToByteArray())), DateTimeOffset.UtcNow);
    }

    /// <summary>Publishes a file.uploaded event as the files service would, and waits until messaging has it.</summary>
    private async Task<FileUploaded> AnnounceAsync(Guid conversationId, Guid ownerId)
    {
        var file = NewFile(conversationId, ownerId);
        await PublishAsync(file);
        await WaitForFileAsync(file.FileId);
        return file;
    }

    private Task PublishAsync(FileUploaded file) =>
        platform.Host.Services.GetRequiredService<IEventBus>().PublishAsync(new IntegrationEvent(Guid.CreateVersion7(), Topics.FileUploaded,
            nameof(FileUploaded), file.ConversationId.ToString(), JsonSerializer.Serialize(file, ContractJson.Options), file.CompletedAt),
            CancellationToken.None);

    private async Task WaitForFileAsync(Guid fileId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await ScalarAsync("SELECT count(*) FROM messaging.files WHERE file_id = @id", fileId) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"file.uploaded for {fileId} was not consumed within 30 s.");
            await Task.Delay(50);
        }
    }

    private async Task<long> ScalarAsync(string sql, Guid id)
    {
        await using var connection = new NpgsqlConnection(platform.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("id", id);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static void AssertFilePayload(Guid fileId, JsonElement payload)
    {
        Assert.Equal("file", payload.GetProperty("type").GetString());
        Assert.Equal(fileId, payload.GetProperty("file_id").GetGuid());
    }

    /// <summary>Asserts the 422 <c>file_not_available</c> problem and returns its detail.</summary>
    private static async Task<string> AssertFileNotAvailableAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.Equal("file_not_available", problem.GetProperty("code").GetString());
        return problem.GetProperty("detail").GetString()!;
    }
}
