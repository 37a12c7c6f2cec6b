using System.Net;
using System.Text.Json;
using static Chat4All.Files.Tests.FilesClient;

namespace Chat4All.Files.Tests;

/// <summary>Mid-upload, the status says how far the upload is and which chunks arrived.</summary>
public sealed class UploadProgressTests(FilesPlatform platform) : IClassFixture<FilesPlatform>
{
    private const int ChunkSize = 5 * MiB; // the smallest chunk

    [Fact]
    public async Task FifteenOfTwentyChunksIsSeventyFivePercentWithTheReceivedAndMissingChunksListed()
    {
        using var alice = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        var conversationId = await alice.CreateConversationAsync(bob);
        var content = RandomBytes((19 * ChunkSize) + 1);
        var (uploadId, total) = await alice.StartUploadAsync(conversationId, content, chunkSize: ChunkSize);
        int[] skipped = [3, 8, 12, 17, 20];
        var sent = Enumerable.Range(1, 20).Except(skipped).ToArray();

        foreach (var number in sent.Reverse())
        {
            using var stored = await alice.PutChunkAsync(uploadId, number, Chunk(content, number, ChunkSize));
            Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        }

        var status = await alice.StatusAsync(uploadId);
        var seenByBob = await bob.StatusAsync(uploadId);

        Assert.Equal(20, total);
        Assert.Equal("uploading", status.GetProperty("status").GetString());
        Assert.Equal(15, status.GetProperty("uploaded_chunks").GetInt32());
        Assert.Equal(20, status.GetProperty("total_chunks").GetInt32());
        Assert.Equal(75, status.GetProperty("percentage").GetDouble());
        Assert.Equal(sent, Numbers(status.GetProperty("received_chunks")));
        Assert.Equal(skipped, Numbers(status.GetProperty("missing_chunks")));
        Assert.Equal(sent, Numbers(seenByBob.GetProperty("received_chunks")));
    }

    private static int[] Numbers(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];
}
