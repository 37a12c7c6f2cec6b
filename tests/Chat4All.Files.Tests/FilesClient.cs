using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace Chat4All.Files.Tests;

/// <summary>A member of a conversation talking to the files API over real HTTP.</summary>
internal sealed class FilesClient(HttpClient client, TestUser user) : IDisposable
{
    public const int MiB = 1024 * 1024;

    public HttpClient Http { get; } = client;

    public TestUser User { get; } = user;

    public Guid Id => User.UserId;

    public static async Task<FilesClient> CreateAsync(PlatformFixture platform, Chat4AllHost? host = null)
    {
        var user = await platform.CreateUserAsync();
        return new FilesClient(await platform.CreateAuthenticatedClientAsync(user, host), user);
    }

    public async Task<Guid> CreateConversationAsync(params FilesClient[] others)
    {
        using var response = await Http.PostAsJsonAsync("/v1/conversations", new
        {
            type = others.Length == 1 ? "private" : "group",
            members = others.Select(o => o.Id).ToArray(),
        });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("conversation_id").GetGuid();
    }

    /// <summary>Initiates, retrying while files has not yet heard of the new conversation (it learns from conversation.created).</summary>
    public async Task<HttpResponseMessage> InitiateAsync(object request)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await Http.PostAsJsonAsync("/v1/files/initiate", request);
            if (response.StatusCode != HttpStatusCode.NotFound || DateTime.UtcNow > deadline)
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(400); // gently: every poll spends the caller's rate-limit budget
        }
    }

    public async Task<(Guid UploadId, int TotalChunks)> StartUploadAsync(Guid conversationId, byte[] content, string mimeType = "application/octet-stream",
        int chunkSize = 5 * MiB, string? checksum = null, string filename = "data.bin")
    {
        using var response = await InitiateAsync(new
        {
            conversation_id = conversationId,
            filename,
            file_size = content.LongLength,
            mime_type = mimeType,
            chunk_size = chunkSize,
            checksum_sha256 = checksum,
        });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"initiate answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("upload_id").GetGuid(), body.GetProperty("total_chunks").GetInt32());
    }

    public static ReadOnlyMemory<byte> Chunk(byte[] content, int number, int chunkSize = 5 * MiB)
    {
        var start = (number - 1) * chunkSize;
        return content.AsMemory(start, Math.Min(chunkSize, content.Length - start));
    }

    public async Task<HttpResponseMessage> PutChunkAsync(Guid uploadId, int number, ReadOnlyMemory<byte> bytes, string? checksum = null)
    {
        var content = new ReadOnlyMemoryContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var query = checksum is null ? string.Empty : "&checksum_sha256=" + checksum;
        return await Http.PostAsync($"/v1/files/{uploadId}/chunks?chunk_number={number}{query}", content);
    }

    public async Task<JsonElement> StatusAsync(Guid uploadId)
    {
        using var response = await Http.GetAsync($"/v1/files/{uploadId}/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Polls the status until it leaves merging (or 30 s pass).</summary>
    public async Task<JsonElement> WaitUntilAssembledAsync(Guid uploadId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = await StatusAsync(uploadId);
            var state = status.GetProperty("status").GetString();
            if (state is "completed" or "failed" || DateTime.UtcNow > deadline)
            {
                return status;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sends every chunk in the order given, asks for assembly (202), and waits until it ends.</summary>
    public async Task<JsonElement> SendChunksAndCompleteAsync(Guid uploadId, byte[] content, IEnumerable<int> order)
    {
        foreach (var number in order)
        {
            using var chunk = await PutChunkAsync(uploadId, number, Chunk(content, number));
            Assert.Equal(HttpStatusCode.OK, chunk.StatusCode);
        }

        using (var complete = await Http.PostAsync($"/v1/files/{uploadId}/complete", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, complete.StatusCode);
        }

        return await WaitUntilAssembledAsync(uploadId);
    }

    /// <summary>Polls the status until the upload is gone (404), as the purge leaves it; false after 20 s.</summary>
    public async Task<bool> WaitUntilPurgedAsync(Guid uploadId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            using var status = await Http.GetAsync($"/v1/files/{uploadId}/status");
            if (status.StatusCode == HttpStatusCode.NotFound)
            {
                return true;
            }

            await Task.Delay(250);
        }

        return false;
    }

    public static byte[] RandomBytes(int length, byte[]? prefix = null)
    {
        var bytes = RandomNumberGenerator.GetBytes(length);
        prefix?.CopyTo(bytes, 0);
        return bytes;
    }

    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public void Dispose() => Http.Dispose();
}

/// <summary>
/// A chunk body that sends its first half, says so, and sends the rest only when <c>rest</c>
/// completes (or fails the request when it is cancelled): a client stalled mid-chunk.
/// </summary>
internal sealed class HalfThenWaitContent : HttpContent
{
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly TaskCompletionSource _halfSent;
    private readonly Task _rest;

    public HalfThenWaitContent(ReadOnlyMemory<byte> bytes, TaskCompletionSource halfSent, Task rest)
    {
        _bytes = bytes;
        _halfSent = halfSent;
        _rest = rest;
        Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        Headers.ContentLength = bytes.Length;
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        var half = _bytes.Length / 2;
        await stream.WriteAsync(_bytes[..half]);
        await stream.FlushAsync();
        _halfSent.TrySetResult();
        await _rest;
        await stream.WriteAsync(_bytes[half..]);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _bytes.Length;
        return true;
    }
}
