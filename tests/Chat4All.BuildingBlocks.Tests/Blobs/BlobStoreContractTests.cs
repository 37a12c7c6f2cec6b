using System.Security.Cryptography;
using Chat4All.BuildingBlocks.Blobs;

namespace Chat4All.BuildingBlocks.Tests.Blobs;

/// <summary>
/// What every <see cref="IBlobStore"/> must do, run against each adapter. Parts are the smallest S3
/// allows (5 MiB) and are streamed from forward-only bodies, as a chunk upload would be.
/// </summary>
public abstract class BlobStoreContractTests : IAsyncLifetime
{
    protected const long PartSize = StagedBlobLimits.MinPartSize;
    protected const long ShortPart = 123_457;

    /// <summary>Three full parts and a short last one.</summary>
    protected const long FourPartLength = (3 * PartSize) + ShortPart;

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private IBlobStore? _store;

    protected IBlobStore Store => _store ?? throw new InvalidOperationException("Not initialized.");

    protected CancellationToken Ct => _timeout.Token;

    protected abstract Task<IBlobStore> CreateStoreAsync();

    /// <summary>Whether the store still holds staged data (parts, files) for <paramref name="blob"/>.</summary>
    protected abstract Task<bool> HasStagedDataAsync(StagedBlob blob);

    public virtual async Task InitializeAsync() => _store = await CreateStoreAsync();

    public virtual Task DisposeAsync()
    {
        _timeout.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task PartsWrittenOutOfOrderAndInParallelCompleteIntoTheExactBytes()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), FourPartLength, PartSize, Ct);

        var parts = await Task.WhenAll(new[] { 4, 2, 3, 1 }.Select(n => Task.Run(() => WritePartAsync(blob, n, seed: 1))));
        await Store.CompleteStagedAsync(blob, parts, Ct);

        Assert.All(parts, part => Assert.Equal(ExpectedSha256(blob, part.PartNumber, seed: 1), part.Sha256));
        Assert.Equal(new BlobProperties(FourPartLength), await Store.GetPropertiesAsync(blob.Key, Ct));
        await using var content = await Store.OpenReadAsync(blob.Key, 0, null, Ct);
        Assert.Equal(GeneratedStream.Sha256(1, FourPartLength), await Sha256Async(content));
    }

    [Fact]
    public async Task AnObjectSmallerThanOnePartIsOneShortPart()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), 1000, 8 * 1024 * 1024, Ct);

        var part = await WritePartAsync(blob, 1, seed: 2);
        await Store.CompleteStagedAsync(blob, [part], Ct);

        Assert.Equal(1000, part.Length);
        Assert.Equal(GeneratedStream.Bytes(2, 0, 1000), await ReadAllAsync(blob.Key, 0, null));
    }

    [Fact]
    public async Task RewritingAPartReplacesIt()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), PartSize + ShortPart, PartSize, Ct);
        var first = await WritePartAsync(blob, 1, seed: 3);
        await WritePartAsync(blob, 2, seed: 3);

        var second = await WritePartAsync(blob, 2, seed: 4);
        await Store.CompleteStagedAsync(blob, [first, second], Ct);

        Assert.Equal(ExpectedSha256(blob, 2, seed: 4), second.Sha256);
        Assert.Equal(GeneratedStream.Bytes(3, 0, 1000), await ReadAllAsync(blob.Key, 0, 1000));
        Assert.Equal(GeneratedStream.Bytes(4, PartSize, (int)ShortPart), await ReadAllAsync(blob.Key, PartSize, null));
    }

    [Fact]
    public async Task AShortPartThrowsLengthMismatchAndCanBeWrittenAgain()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), PartSize + ShortPart, PartSize, Ct);

        var error = await Assert.ThrowsAsync<BlobLengthMismatchException>(() =>
            Store.WritePartAsync(blob, 1, new GeneratedStream(PartSize - 1, 5), PartSize, Ct));

        Assert.Equal((PartSize, PartSize - 1), (error.Expected, error.Actual));
        var parts = new[] { await WritePartAsync(blob, 1, seed: 5), await WritePartAsync(blob, 2, seed: 5) };
        await Store.CompleteStagedAsync(blob, parts, Ct);
        Assert.Equal(GeneratedStream.Sha256(5, PartSize + ShortPart), await Sha256Async(await Store.OpenReadAsync(blob.Key, 0, null, Ct)));
    }

    [Fact]
    public async Task ALongPartThrowsLengthMismatchAndCanBeWrittenAgain()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), PartSize + ShortPart, PartSize, Ct);

        var error = await Assert.ThrowsAsync<BlobLengthMismatchException>(() =>
            Store.WritePartAsync(blob, 2, new GeneratedStream(ShortPart + 1, 6, start: PartSize), ShortPart, Ct));

        Assert.Equal(ShortPart, error.Expected);
        Assert.True(error.Actual > ShortPart);
        var parts = new[] { await WritePartAsync(blob, 1, seed: 6), await WritePartAsync(blob, 2, seed: 6) };
        await Store.CompleteStagedAsync(blob, parts, Ct);
        Assert.Equal(GeneratedStream.Sha256(6, PartSize + ShortPart), await Sha256Async(await Store.OpenReadAsync(blob.Key, 0, null, Ct)));
    }

    [Fact]
    public async Task APartOfAnotherLengthThanItsPlaceIsRejectedBeforeAnythingIsRead()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), PartSize + ShortPart, PartSize, Ct);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.WritePartAsync(blob, 1, Stream.Null, ShortPart, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.WritePartAsync(blob, 3, Stream.Null, ShortPart, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.WritePartAsync(blob, 0, Stream.Null, PartSize, Ct));
    }

    [Theory]
    [InlineData(2L * 1024 * 1024, 1024L * 1024)] // several parts below S3's 5 MiB minimum
    [InlineData(100_000L * 5 * 1024 * 1024, 5L * 1024 * 1024)] // more than 10,000 parts
    [InlineData(0L, 5L * 1024 * 1024)]
    public async Task LayoutsS3CannotHoldAreRefusedByEveryStore(long totalLength, long partSize) =>
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.BeginStagedAsync(NewKey(), totalLength, partSize, Ct));

    [Fact]
    public async Task CompletingTwiceSucceeds()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), PartSize + ShortPart, PartSize, Ct);
        var parts = new[] { await WritePartAsync(blob, 1, seed: 7), await WritePartAsync(blob, 2, seed: 7) };
        await Store.CompleteStagedAsync(blob, parts, Ct);

        await Store.CompleteStagedAsync(blob, parts, Ct);

        Assert.Equal(new BlobProperties(PartSize + ShortPart), await Store.GetPropertiesAsync(blob.Key, Ct));
        Assert.False(await HasStagedDataAsync(blob));
    }

    [Fact]
    public async Task CompletingWithAMissingPartFailsAndKeepsWhatWasWritten()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), PartSize + ShortPart, PartSize, Ct);
        var second = await WritePartAsync(blob, 2, seed: 8);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.CompleteStagedAsync(blob, [second], Ct));

        Assert.Contains("missing parts 1", error.Message, StringComparison.Ordinal);
        Assert.Null(await Store.GetPropertiesAsync(blob.Key, Ct));
        Assert.True(await HasStagedDataAsync(blob));
        await Store.CompleteStagedAsync(blob, [await WritePartAsync(blob, 1, seed: 8), second], Ct);
        Assert.Equal(GeneratedStream.Sha256(8, PartSize + ShortPart), await Sha256Async(await Store.OpenReadAsync(blob.Key, 0, null, Ct)));
    }

    [Fact]
    public async Task CompletingWithPartsThatDoNotFitTheLayoutFails()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), PartSize + ShortPart, PartSize, Ct);
        var one = new StagedPart(1, PartSize, new string('0', 64), "\"etag-1\"");
        var two = new StagedPart(2, ShortPart, new string('0', 64), "\"etag-2\"");

        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.CompleteStagedAsync(blob, [one, two with { Length = ShortPart - 1 }], Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.CompleteStagedAsync(blob, [one, two, two with { PartNumber = 3 }], Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.CompleteStagedAsync(blob, [one, one, two], Ct));
        await Store.AbortStagedAsync(blob, Ct);
    }

    [Fact]
    public async Task AbortRemovesTheStagedDataAndIsIdempotent()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), PartSize + ShortPart, PartSize, Ct);
        var first = await WritePartAsync(blob, 1, seed: 9);
        Assert.True(await HasStagedDataAsync(blob));

        await Store.AbortStagedAsync(blob, Ct);
        await Store.AbortStagedAsync(blob, Ct);

        Assert.False(await HasStagedDataAsync(blob));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.WritePartAsync(blob, 2, new GeneratedStream(ShortPart, 9, PartSize), ShortPart, Ct));
        var second = new StagedPart(2, ShortPart, new string('0', 64), "\"etag\"");
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.CompleteStagedAsync(blob, [first, second], Ct));
        Assert.Null(await Store.GetPropertiesAsync(blob.Key, Ct));
    }

    [Fact]
    public async Task RangeReadsReturnTheRightSlices()
    {
        const int seed = 10;
        var blob = await Store.BeginStagedAsync(NewKey(), PartSize + ShortPart, PartSize, Ct);
        await Store.CompleteStagedAsync(blob, [await WritePartAsync(blob, 1, seed), await WritePartAsync(blob, 2, seed)], Ct);
        const long length = PartSize + ShortPart;

        Assert.Equal(GeneratedStream.Bytes(seed, 0, 100), await ReadAllAsync(blob.Key, 0, 100));
        Assert.Equal(GeneratedStream.Bytes(seed, PartSize - 100, 200), await ReadAllAsync(blob.Key, PartSize - 100, 200)); // across parts
        Assert.Equal(GeneratedStream.Bytes(seed, length - 50, 50), await ReadAllAsync(blob.Key, length - 50, 50));
        Assert.Equal(GeneratedStream.Bytes(seed, length - 50, 50), await ReadAllAsync(blob.Key, length - 50, null));
        Assert.Equal(GeneratedStream.Bytes(seed, length - 50, 50), await ReadAllAsync(blob.Key, length - 50, 1000)); // clipped at the end
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.OpenReadAsync(blob.Key, length, 10, Ct));
    }

    [Fact]
    public async Task OpeningAMissingObjectThrowsBlobNotFound()
    {
        var key = NewKey();

        var error = await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadAsync(key, 0, null, Ct));

        Assert.Equal(key, error.Key);
        await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadAsync(key, 10, 10, Ct));
    }

    [Fact]
    public async Task AMissingObjectHasNoProperties() =>
        Assert.Null(await Store.GetPropertiesAsync(NewKey(), Ct));

    [Fact]
    public async Task DeleteIsIdempotent()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), 1000, PartSize, Ct);
        await Store.CompleteStagedAsync(blob, [await WritePartAsync(blob, 1, seed: 11)], Ct);
        await Store.DeleteAsync(NewKey(), Ct); // never existed

        await Store.DeleteAsync(blob.Key, Ct);
        await Store.DeleteAsync(blob.Key, Ct);

        Assert.Null(await Store.GetPropertiesAsync(blob.Key, Ct));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadAsync(blob.Key, 0, null, Ct));
    }

    protected static string NewKey() => $"tests/{Guid.NewGuid():N}/content";

    /// <summary>Writes part <paramref name="partNumber"/> of the generated payload of <paramref name="seed"/>, from a forward-only stream.</summary>
    protected Task<StagedPart> WritePartAsync(StagedBlob blob, int partNumber, int seed)
    {
        var length = StagedBlobLimits.PartLength(blob.TotalLength, blob.PartSize, partNumber);
        var start = (partNumber - 1) * blob.PartSize;
        return Store.WritePartAsync(blob, partNumber, new GeneratedStream(length, seed, start), length, Ct);
    }

    protected static string ExpectedSha256(StagedBlob blob, int partNumber, int seed)
    {
        var length = StagedBlobLimits.PartLength(blob.TotalLength, blob.PartSize, partNumber);
        return Convert.ToHexStringLower(SHA256.HashData(GeneratedStream.Bytes(seed, (partNumber - 1) * blob.PartSize, (int)length)));
    }

    protected async Task<byte[]> ReadAllAsync(string key, long offset, long? length)
    {
        await using var content = await Store.OpenReadAsync(key, offset, length, Ct);
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy, Ct);
        return copy.ToArray();
    }

    protected async Task<string> Sha256Async(Stream content)
    {
        await using (content)
        {
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(content, Ct));
        }
    }
}
