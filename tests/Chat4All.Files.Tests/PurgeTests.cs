using System.Net;
using Chat4All.Files.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static Chat4All.Files.Tests.FilesClient;

namespace Chat4All.Files.Tests;

/// <summary>Garbage collection of uploads that were never completed.</summary>
public sealed class PurgeTests(ShortLivedUploadsPlatform platform) : IClassFixture<ShortLivedUploadsPlatform>
{
    [Fact]
    public async Task ExpiredUploadsLoseRowsAndBytesWhileCompletedFilesSurvive()
    {
        using var alice = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        var conversationId = await alice.CreateConversationAsync(bob);
        var kept = RandomBytes(MiB);
        var (keptId, _) = await alice.StartUploadAsync(conversationId, kept);
        using (var chunk = await alice.PutChunkAsync(keptId, 1, kept))
        {
            Assert.Equal(HttpStatusCode.OK, chunk.StatusCode);
        }

        using (var complete = await alice.Http.PostAsync($"/v1/files/{keptId}/complete", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, complete.StatusCode);
        }

        var fileId = (await alice.WaitUntilAssembledAsync(keptId)).GetProperty("file_id").GetGuid();
        var abandoned = RandomBytes(6 * MiB);
        var (abandonedId, _) = await alice.StartUploadAsync(conversationId, abandoned);
        using (var chunk = await alice.PutChunkAsync(abandonedId, 1, Chunk(abandoned, 1)))
        {
            Assert.Equal(HttpStatusCode.OK, chunk.StatusCode);
        }

        var blobRoot = Path.Combine(platform.DataDirectory.Path, "blobs");
        var stagedBefore = Directory.EnumerateFiles(blobRoot, "*", SearchOption.AllDirectories).Count(f => f.Contains(".staging", StringComparison.Ordinal));
        Assert.True(stagedBefore >= 1, "the abandoned upload's chunk is staged");

        // Past its expiry (4 s) the purge (every 0.5 s) removes it.
        Assert.True(await alice.WaitUntilPurgedAsync(abandonedId), "the expired upload was not purged");
        await using (var scope = platform.Host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<FilesDbContext>();
            Assert.False(await db.Chunks.AnyAsync(c => c.UploadId == abandonedId));
            Assert.True(await db.Files.AnyAsync(f => f.Id == fileId));
        }

        Assert.DoesNotContain(Directory.EnumerateFiles(blobRoot, "*", SearchOption.AllDirectories), f => f.Contains(".staging", StringComparison.Ordinal));
        var bytes = await alice.Http.GetByteArrayAsync($"/v1/files/{fileId}/content");
        Assert.Equal(Sha256(kept), Sha256(bytes));
    }

    [Fact]
    public async Task AChunkStillStreamingAtTheExpiryFinishesAndThePurgeTakesTheUploadAfterIt()
    {
        using var alice = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        var conversationId = await alice.CreateConversationAsync(bob);
        var content = RandomBytes(6 * MiB);
        var started = DateTime.UtcNow;
        var (uploadId, _) = await alice.StartUploadAsync(conversationId, content);

        var halfSent = new TaskCompletionSource();
        var rest = new TaskCompletionSource();
        var sending = alice.Http.PostAsync($"/v1/files/{uploadId}/chunks?chunk_number=1", new HalfThenWaitContent(Chunk(content, 1), halfSent, rest.Task));
        await halfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Expired (4 s) and several purge passes (every 0.5 s) later, the chunk in flight holds the upload.
        await Task.Delay(started.AddSeconds(6) - DateTime.UtcNow);
        string staging;
        await using (var scope = platform.Host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<FilesDbContext>();
            var upload = await db.Uploads.AsNoTracking().SingleOrDefaultAsync(u => u.Id == uploadId);
            Assert.True(upload is not null, "the purge took an upload while one of its chunks was streaming");
            staging = Path.Combine(platform.DataDirectory.Path, "blobs", ".staging", upload.StagingHandle!);
        }

        rest.SetResult();
        using (var response = await sending)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Nothing more can be added to it, and the next passes remove it with its bytes.
        using (var late = await alice.PutChunkAsync(uploadId, 2, Chunk(content, 2)))
        {
            Assert.True(late.StatusCode is HttpStatusCode.Gone or HttpStatusCode.NotFound, $"a chunk after expiry got {(int)late.StatusCode}");
        }

        Assert.True(await alice.WaitUntilPurgedAsync(uploadId), "the expired upload was not purged");
        Assert.False(Directory.Exists(staging), "the purged upload's staged bytes are still there");
    }
}
