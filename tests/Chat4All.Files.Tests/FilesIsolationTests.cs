using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static Chat4All.Files.Tests.FilesClient;

namespace Chat4All.Files.Tests;

/// <summary>
/// Every files endpoint, tried by another tenant's user and by a non-member of the caller's own
/// tenant, over real HTTP: an upload or file id tells neither of them anything (404, as for an id that
/// does not exist), and a conversation id follows messaging's rule (another tenant: 404, a non-member: 403).
/// </summary>
public sealed class FilesIsolationTests(FilesPlatform platform) : IClassFixture<FilesPlatform>
{
    [Fact]
    public async Task AnotherTenantsUserAndANonMemberFindNoUploadOrFileOfAConversationTheyAreNotIn()
    {
        using var alice = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        using var carol = await CreateAsync(platform);
        var eveUser = await platform.Host.CreateUserInTenantAsync(Guid.NewGuid());
        using var eve = new FilesClient(await platform.CreateAuthenticatedClientAsync(eveUser), eveUser);
        var conversationId = await alice.CreateConversationAsync(bob);
        var content = RandomBytes(64 * 1024);
        var (doneUploadId, _) = await alice.StartUploadAsync(conversationId, content);
        var fileId = (await alice.SendChunksAndCompleteAsync(doneUploadId, content, [1])).GetProperty("file_id").GetGuid();
        var (pendingUploadId, _) = await alice.StartUploadAsync(conversationId, content);

        foreach (var outsider in new[] { eve, carol })
        {
            await AssertNotFoundAsync(await outsider.Http.GetAsync($"/v1/files/{pendingUploadId}/status"), "upload_not_found");
            await AssertNotFoundAsync(await outsider.PutChunkAsync(pendingUploadId, 1, Chunk(content, 1)), "upload_not_found");
            await AssertNotFoundAsync(await outsider.Http.PostAsync($"/v1/files/{pendingUploadId}/complete", null), "upload_not_found");
            await AssertNotFoundAsync(await outsider.Http.GetAsync($"/v1/files/{doneUploadId}/status"), "upload_not_found");
            await AssertNotFoundAsync(await outsider.Http.GetAsync($"/v1/files/{fileId}"), "file_not_found");
            await AssertNotFoundAsync(await outsider.Http.GetAsync($"/v1/files/{fileId}/content"), "file_not_found");
        }

        var initiate = new { conversation_id = conversationId, filename = "x.bin", file_size = 10, mime_type = "application/octet-stream" };
        await AssertNotFoundAsync(await eve.Http.PostAsJsonAsync("/v1/files/initiate", initiate), "conversation_not_found");
        using (var nonMember = await carol.Http.PostAsJsonAsync("/v1/files/initiate", initiate))
        {
            Assert.Equal(HttpStatusCode.Forbidden, nonMember.StatusCode);
            Assert.Equal("not_a_member", (await nonMember.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }

        // Nothing the outsiders tried changed the pending upload, and its members still see it.
        var status = await bob.StatusAsync(pendingUploadId);
        Assert.Equal(("pending", 0), (status.GetProperty("status").GetString(), status.GetProperty("uploaded_chunks").GetInt32()));
        Assert.Equal(content, await bob.Http.GetByteArrayAsync($"/v1/files/{fileId}/content"));
    }

    private static async Task AssertNotFoundAsync(HttpResponseMessage response, string code)
    {
        using (response)
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(code, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }
    }
}
