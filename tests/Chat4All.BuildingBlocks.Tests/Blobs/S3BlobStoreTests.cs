using System.Net;
using Amazon.S3;
using Xunit.Abstractions;
using Amazon.S3.Model;
using Chat4All.BuildingBlocks.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Tests.Blobs;

/// <summary>One moto_server for the S3 tests, which run alone so that allocation measurements are theirs.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MotoS3Tests : ICollectionFixture<MotoS3>
{
    public const string Name = "moto S3";
}

/// <summary>A running moto_server and what an S3 blob store over it needs.</summary>
public sealed class MotoS3 : IAsyncLifetime
{
    private readonly MotoServerProcess _server = new();

    public AmazonS3Client Client { get; private set; } = null!;

    public S3StorageOptions Options(string bucket) => _server.StorageOptions(bucket);

    public async Task InitializeAsync()
    {
        await _server.StartAsync();
        Client = S3BlobStore.CreateClient(Options("unused"));
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        await _server.DisposeAsync();
    }
}

/// <summary>The S3 adapter against a real moto_server (started by the fixture on a free loopback port).</summary>
[Collection(MotoS3Tests.Name)]
public sealed class S3BlobStoreTests(MotoS3 moto, ITestOutputHelper output) : BlobStoreContractTests
{
    private readonly string _bucket = $"blobs-{Guid.NewGuid():N}"[..24];
    private S3BlobStore? _s3;

    protected override Task<IBlobStore> CreateStoreAsync()
    {
        _s3 = NewStore(moto.Options(_bucket));
        return Task.FromResult<IBlobStore>(_s3);
    }

    protected override async Task<bool> HasStagedDataAsync(StagedBlob blob)
    {
        var uploads = await moto.Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = _bucket, Prefix = blob.Key }, Ct);
        return (uploads.MultipartUploads ?? []).Any(u => u.UploadId == blob.Handle);
    }

    public override async Task DisposeAsync()
    {
        _s3?.Dispose();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task AStagedObjectIsAMultipartUploadAndEachPartCarriesItsETag()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), PartSize + ShortPart, PartSize, Ct);

        var part = await WritePartAsync(blob, 2, seed: 30);

        Assert.True(await HasStagedDataAsync(blob));
        var listed = await moto.Client.ListPartsAsync(new ListPartsRequest { BucketName = _bucket, Key = blob.Key, UploadId = blob.Handle }, Ct);
        var stored = Assert.Single(listed.Parts);
        Assert.Equal((2, ShortPart, stored.ETag), (stored.PartNumber, stored.Size, part.ETag));
    }

    [Fact]
    public async Task APresignedUrlServesTheBytesAndAsksForTheDispositionAndType()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), 1000, PartSize, Ct);
        await Store.CompleteStagedAsync(blob, [await WritePartAsync(blob, 1, seed: 31)], Ct);
        const string fileName = "Relatório \"final\" 2026.pdf";

        var url = await Store.GetDownloadUrlAsync(blob.Key, fileName, "application/pdf", TimeSpan.FromMinutes(5), Ct);

        Assert.NotNull(url);
        var query = System.Web.HttpUtility.ParseQueryString(url.Query);
        Assert.InRange(int.Parse(query["X-Amz-Expires"]!, System.Globalization.CultureInfo.InvariantCulture), 299, 301); // the SDK signs by its skew-corrected clock
        Assert.Equal("attachment; filename=\"Relat_rio _final_ 2026.pdf\"; filename*=UTF-8''Relat%C3%B3rio%20%22final%22%202026.pdf",
            query["response-content-disposition"]);
        Assert.Equal("application/pdf", query["response-content-type"]);
        using var http = new HttpClient();
        using var response = await http.GetAsync(url, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(GeneratedStream.Bytes(31, 0, 1000), await response.Content.ReadAsByteArrayAsync(Ct));
        // S3 and MinIO answer with the response-* overrides above; moto 5.2 ignores them and serves
        // the object's own type and no disposition. Should moto learn them, these two lines say so.
        Assert.Equal("binary/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Null(response.Content.Headers.ContentDisposition);
    }

    [Fact]
    public async Task APresignedUrlLivesNoLongerThanTheConfiguredLifetime()
    {
        var url = await Store.GetDownloadUrlAsync(NewKey(), "a.txt", "text/plain", TimeSpan.FromDays(2), Ct);

        var expires = System.Web.HttpUtility.ParseQueryString(url!.Query)["X-Amz-Expires"];
        Assert.InRange(int.Parse(expires!, System.Globalization.CultureInfo.InvariantCulture), 899, 901); // the 15-minute default
    }

    [Fact]
    public async Task AFiftyMebibytePartIsStreamedNotBufferedInMemory()
    {
        const long size = 50L * 1024 * 1024;
        var warmUp = await Store.BeginStagedAsync(NewKey(), size, size, Ct); // JIT, connections, first-use costs
        await Store.WritePartAsync(warmUp, 1, new GeneratedStream(size, 32, maxRead: 64 * 1024), size, Ct);
        await Store.AbortStagedAsync(warmUp, Ct);
        var blob = await Store.BeginStagedAsync(NewKey(), size, size, Ct);

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var part = await Store.WritePartAsync(blob, 1, new GeneratedStream(size, 33, maxRead: 64 * 1024), size, Ct);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        output.WriteLine($"Uploading a {size}-byte part allocated {allocated} bytes.");
        Assert.Equal(GeneratedStream.Sha256(33, size), part.Sha256);
        // Buffering the part would allocate at least its 50 MiB; streaming it allocates a few hundred KiB.
        Assert.True(allocated < 4 * 1024 * 1024, $"Uploading a {size}-byte part allocated {allocated} bytes.");
        await Store.AbortStagedAsync(blob, Ct);
    }

    [Fact]
    public async Task TheBucketIsCreatedOnFirstUseAndAgainWithoutError()
    {
        var bucket = $"fresh-{Guid.NewGuid():N}"[..20];
        using var first = NewStore(moto.Options(bucket));
        using var second = NewStore(moto.Options(bucket));

        Assert.Null(await first.GetPropertiesAsync("a", Ct));
        Assert.Null(await second.GetPropertiesAsync("a", Ct));

        await moto.Client.HeadBucketAsync(new HeadBucketRequest { BucketName = bucket }, Ct);
    }

    private S3BlobStore NewStore(S3StorageOptions s3) =>
        new(moto.Client, Options.Create(new StorageOptions { Provider = BlobStoreProvider.S3, S3 = s3 }),
            TimeProvider.System, NullLogger<S3BlobStore>.Instance);
}
