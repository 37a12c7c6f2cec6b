using System.Net;
using System.Net.Http.Json;
using static Chat4All.Files.Tests.FilesClient;

namespace Chat4All.Files.Tests;

/// <summary>Files follow group membership: a removed member loses the conversation's files, an added one gains them.</summary>
public sealed class GroupMembershipFilesTests(FilesPlatform platform) : IClassFixture<FilesPlatform>
{
    [Fact]
    public async Task ARemovedMemberCanNoLongerDownloadTheConversationsFilesOrUploadIntoIt()
    {
        using var owner = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        using var carol = await CreateAsync(platform);
        var conversationId = await owner.CreateConversationAsync(bob, carol);
        var content = RandomBytes(64 * 1024);
        var (uploadId, _) = await owner.StartUploadAsync(conversationId, content);
        var fileId = (await owner.SendChunksAndCompleteAsync(uploadId, content, [1])).GetProperty("file_id").GetGuid();
        Assert.Equal(content, await bob.Http.GetByteArrayAsync($"/v1/files/{fileId}/content"));

        using (var removed = await owner.Http.DeleteAsync($"/v1/conversations/{conversationId}/members/{bob.Id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        // Files learns of the removal from conversation.member_removed: wait for it, within bounds.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpStatusCode status;
        while ((status = (await bob.Http.GetAsync($"/v1/files/{fileId}/content")).StatusCode) == HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        // The file is as unknown to a former member as to any non-member; the conversation is not.
        Assert.Equal(HttpStatusCode.NotFound, status);
        using (var metadata = await bob.Http.GetAsync($"/v1/files/{fileId}"))
        using (var upload = await bob.InitiateAsync(new { conversation_id = conversationId, filename = "x.bin", file_size = 10, mime_type = "application/octet-stream" }))
        {
            Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.Forbidden], [metadata.StatusCode, upload.StatusCode]);
        }

        Assert.Equal(content, await carol.Http.GetByteArrayAsync($"/v1/files/{fileId}/content"));
    }

    [Fact]
    public async Task AnAddedMemberDownloadsTheConversationsFiles()
    {
        using var owner = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        using var carol = await CreateAsync(platform);
        using var dave = await CreateAsync(platform);
        var conversationId = await owner.CreateConversationAsync(bob, carol);
        var content = RandomBytes(1024);
        var (uploadId, _) = await owner.StartUploadAsync(conversationId, content);
        var fileId = (await owner.SendChunksAndCompleteAsync(uploadId, content, [1])).GetProperty("file_id").GetGuid();

        using (var added = await owner.Http.PostAsJsonAsync($"/v1/conversations/{conversationId}/members", new { user_ids = new[] { dave.Id } }))
        {
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpStatusCode status;
        while ((status = (await dave.Http.GetAsync($"/v1/files/{fileId}/content")).StatusCode) != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(HttpStatusCode.OK, status);
    }
}
