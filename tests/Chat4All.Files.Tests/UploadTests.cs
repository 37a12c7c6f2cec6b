using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using static Chat4All.Files.Tests.FilesClient;

namespace Chat4All.Files.Tests;

/// <summary>Chunked uploads end to end through the real host (directory blob store, standalone assembly runner).</summary>
public sealed class UploadTests(FilesPlatform platform) : IClassFixture<FilesPlatform>
{
    [Fact]
    public async Task ChunksSentOutOfOrderAndOneTwiceCompleteIntoTheExactFileAndRangesReturnTheRightSlices()
    {
        using var alice = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        var conversationId = await alice.CreateConversationAsync(bob);
        var content = RandomBytes((11 * MiB) + 12345);
        var (uploadId, total) = await alice.StartUploadAsync(conversationId, content, checksum: Sha256(content));
        Assert.Equal(3, total);

        foreach (var number in new[] { 3, 1, 2 })
        {
            using var stored = await alice.PutChunkAsync(uploadId, number, Chunk(content, number), checksum: Sha256(Chunk(content, number).Span));
            Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        }

        using (var again = await alice.PutChunkAsync(uploadId, 2, Chunk(content, 2)))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.Equal(3, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("uploaded_chunks").GetInt32());
        }

        using (var complete = await alice.Http.PostAsync($"/v1/files/{uploadId}/complete", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, complete.StatusCode);
            Assert.Equal("merging", (await complete.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        }

        var status = await alice.WaitUntilAssembledAsync(uploadId);
        Assert.Equal("completed", status.GetProperty("status").GetString());
        Assert.Equal(100, status.GetProperty("percentage").GetDouble());
        Assert.Empty(status.GetProperty("missing_chunks").EnumerateArray());
        var fileId = status.GetProperty("file_id").GetGuid();

        // Bob, the other member, downloads it; metadata and bytes agree with what Alice sent.
        var metadata = await bob.Http.GetFromJsonAsync<JsonElement>($"/v1/files/{fileId}");
        Assert.Equal(content.LongLength, metadata.GetProperty("size").GetInt64());
        Assert.Equal(Sha256(content), metadata.GetProperty("checksum_sha256").GetString());
        using (var whole = await bob.Http.GetAsync($"/v1/files/{fileId}/content"))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.Equal(Sha256(content), Sha256(await whole.Content.ReadAsByteArrayAsync()));
            Assert.Equal("attachment", whole.Content.Headers.ContentDisposition?.DispositionType);
        }

        foreach (var (from, to) in new (long From, long? To)[] { (0, 99), (5 * MiB - 10, 5 * MiB + 10), (content.Length - 1, null) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/files/{fileId}/content");
            request.Headers.Range = new RangeHeaderValue(from, to);
            using var partial = await bob.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            var end = (to ?? content.Length - 1) + 1;
            Assert.Equal(content.AsSpan((int)from, (int)(end - from)).ToArray(), await partial.Content.ReadAsByteArrayAsync());
            Assert.Equal(content.Length, partial.Content.Headers.ContentRange?.Length);
        }

        using var suffix = new HttpRequestMessage(HttpMethod.Get, $"/v1/files/{fileId}/content");
        suffix.Headers.Range = new RangeHeaderValue(null, 500);
        using var tail = await bob.Http.SendAsync(suffix);
        Assert.Equal(content[^500..], await tail.Content.ReadAsByteArrayAsync());

        using var beyond = new HttpRequestMessage(HttpMethod.Get, $"/v1/files/{fileId}/content");
        beyond.Headers.Range = new RangeHeaderValue(content.Length + 10, null);
        using var unsatisfiable = await bob.Http.SendAsync(beyond);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
    }

    [Fact]
    public async Task AChunkStoredOnceCannotBeReplacedByDifferentBytes()
    {
        using var alice = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        var conversationId = await alice.CreateConversationAsync(bob);
        var content = RandomBytes(6 * MiB);
        var (uploadId, _) = await alice.StartUploadAsync(conversationId, content);
        using (var first = await alice.PutChunkAsync(uploadId, 1, Chunk(content, 1)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var other = RandomBytes(5 * MiB);
        using var conflict = await alice.PutChunkAsync(uploadId, 1, other);

        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("duplicate_chunk", await CodeOf(conflict));
    }

    [Fact]
    public async Task BadRequestsGetTheRightErrorAndStoreNothing()
    {
        using var alice = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        using var mallory = await CreateAsync(platform);
        var conversationId = await alice.CreateConversationAsync(bob);
        var content = RandomBytes(6 * MiB);

        using (var tooBig = await alice.InitiateAsync(new { conversation_id = conversationId, filename = "big.bin", file_size = (2L * 1024 * MiB) + 1, mime_type = "application/octet-stream" }))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        }

        using (var smallChunks = await alice.InitiateAsync(new { conversation_id = conversationId, filename = "a.bin", file_size = 100, mime_type = "application/octet-stream", chunk_size = MiB }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, smallChunks.StatusCode);
        }

        using (var noName = await alice.InitiateAsync(new { conversation_id = conversationId, filename = "../..", file_size = 100, mime_type = "text/plain" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noName.StatusCode);
        }

        using (var outsider = await mallory.InitiateAsync(new { conversation_id = conversationId, filename = "x", file_size = 1, mime_type = "text/plain" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, outsider.StatusCode);
        }

        var (uploadId, _) = await alice.StartUploadAsync(conversationId, content);
        using (var zero = await alice.PutChunkAsync(uploadId, 0, Chunk(content, 1)))
        {
            Assert.Equal("invalid_chunk_number", await CodeOf(zero));
        }

        using (var past = await alice.PutChunkAsync(uploadId, 3, Chunk(content, 1)))
        {
            Assert.Equal("invalid_chunk_number", await CodeOf(past));
        }

        using (var wrongSize = await alice.PutChunkAsync(uploadId, 1, content.AsMemory(0, 4 * MiB)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, wrongSize.StatusCode);
            Assert.Equal("chunk_size_mismatch", await CodeOf(wrongSize));
        }

        using (var badChecksum = await alice.PutChunkAsync(uploadId, 1, Chunk(content, 1), checksum: new string('0', 64)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badChecksum.StatusCode);
            Assert.Equal("checksum_mismatch", await CodeOf(badChecksum));
        }

        using (var incomplete = await alice.Http.PostAsync($"/v1/files/{uploadId}/complete", null))
        {
            Assert.Equal(HttpStatusCode.BadRequest, incomplete.StatusCode);
            var problem = await incomplete.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("incomplete_upload", problem.GetProperty("code").GetString());
            Assert.Equal([1, 2], problem.GetProperty("missing_chunks").EnumerateArray().Select(e => e.GetInt32()));
        }

        using (var notMine = await mallory.Http.GetAsync($"/v1/files/{uploadId}/status"))
        {
            Assert.Equal(HttpStatusCode.NotFound, notMine.StatusCode);
        }

        using (var bobWrites = await bob.PutChunkAsync(uploadId, 1, Chunk(content, 1)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, bobWrites.StatusCode);
        }

        using (var unknownUpload = await alice.Http.GetAsync($"/v1/files/{Guid.NewGuid()}/status"))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknownUpload.StatusCode);
        }

        using (var unknownFile = await alice.Http.GetAsync($"/v1/files/{Guid.NewGuid()}/content"))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknownFile.StatusCode);
        }

        // Nothing of the refused chunks was recorded.
        var status = await alice.StatusAsync(uploadId);
        Assert.Equal(0, status.GetProperty("uploaded_chunks").GetInt32());
        Assert.Equal("pending", status.GetProperty("status").GetString());
    }

    [Fact]
    public async Task AWholeFileChecksumMismatchFailsTheUploadWithAReason()
    {
        using var alice = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        var conversationId = await alice.CreateConversationAsync(bob);
        var content = RandomBytes(MiB);
        var (uploadId, _) = await alice.StartUploadAsync(conversationId, content, checksum: new string('a', 64));
        using (var chunk = await alice.PutChunkAsync(uploadId, 1, content))
        {
            Assert.Equal(HttpStatusCode.OK, chunk.StatusCode);
        }

        using (var complete = await alice.Http.PostAsync($"/v1/files/{uploadId}/complete", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, complete.StatusCode);
        }

        var status = await alice.WaitUntilAssembledAsync(uploadId);
        Assert.Equal("failed", status.GetProperty("status").GetString());
        Assert.Contains("SHA-256", status.GetProperty("failure_reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, status.GetProperty("file_id").ValueKind);
    }

    [Fact]
    public async Task ContentThatContradictsTheDeclaredTypeFailsAndMatchingContentPasses()
    {
        using var alice = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        var conversationId = await alice.CreateConversationAsync(bob);
        var pdf = RandomBytes(4096, "%PDF-1.7\n"u8.ToArray());
        var png = RandomBytes(4096, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);

        var lying = await UploadWholeAsync(alice, conversationId, pdf, "image/png");
        var honest = await UploadWholeAsync(alice, conversationId, png, "image/png");

        Assert.Equal("failed", lying.GetProperty("status").GetString());
        Assert.Contains("application/pdf", lying.GetProperty("failure_reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("completed", honest.GetProperty("status").GetString());
    }

    [Fact]
    public async Task AnUploadInterruptedByAHostRestartResumesFromItsMissingChunks()
    {
        var platform2 = new FilesPlatform();
        await platform2.InitializeAsync();
        try
        {
            using var alice = await CreateAsync(platform2);
            using var bob = await CreateAsync(platform2);
            var conversationId = await alice.CreateConversationAsync(bob);
            var content = RandomBytes(16 * MiB);
            var (uploadId, total) = await alice.StartUploadAsync(conversationId, content);
            using (var first = await alice.PutChunkAsync(uploadId, 1, Chunk(content, 1)))
            {
                Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            }

            using (var third = await alice.PutChunkAsync(uploadId, 3, Chunk(content, 3)))
            {
                Assert.Equal(HttpStatusCode.OK, third.StatusCode);
            }

            await platform2.RestartAsync();
            using var aliceAgain = new FilesClient(await platform2.CreateAuthenticatedClientAsync(alice.User), alice.User);
            var status = await aliceAgain.StatusAsync(uploadId);
            var missing = status.GetProperty("missing_chunks").EnumerateArray().Select(e => e.GetInt32()).ToList();
            Assert.Equal([2, 4], missing);
            foreach (var number in missing)
            {
                using var chunk = await aliceAgain.PutChunkAsync(uploadId, number, Chunk(content, number));
                Assert.Equal(HttpStatusCode.OK, chunk.StatusCode);
            }

            using (var complete = await aliceAgain.Http.PostAsync($"/v1/files/{uploadId}/complete", null))
            {
                Assert.Equal(HttpStatusCode.Accepted, complete.StatusCode);
            }

            var done = await aliceAgain.WaitUntilAssembledAsync(uploadId);
            Assert.Equal("completed", done.GetProperty("status").GetString());
            Assert.Equal(total, done.GetProperty("uploaded_chunks").GetInt32());
            var bytes = await aliceAgain.Http.GetByteArrayAsync($"/v1/files/{done.GetProperty("file_id").GetGuid()}/content");
            Assert.Equal(Sha256(content), Sha256(bytes));
        }
        finally
        {
            await platform2.DisposeAsync();
        }
    }

    private static async Task<JsonElement> UploadWholeAsync(FilesClient client, Guid conversationId, byte[] content, string mimeType)
    {
        var (uploadId, _) = await client.StartUploadAsync(conversationId, content, mimeType);
        using (var chunk = await client.PutChunkAsync(uploadId, 1, content))
        {
            Assert.Equal(HttpStatusCode.OK, chunk.StatusCode);
        }

        using (var complete = await client.Http.PostAsync($"/v1/files/{uploadId}/complete", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, complete.StatusCode);
        }

        return await client.WaitUntilAssembledAsync(uploadId);
    }

    private static async Task<string?> CodeOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("code", out var code) ? code.GetString() : null;
}
