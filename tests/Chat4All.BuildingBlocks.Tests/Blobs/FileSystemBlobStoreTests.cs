using System.Diagnostics;
using Chat4All.BuildingBlocks.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Tests.Blobs;

/// <summary>The directory adapter, in a temporary folder of its own.</summary>
public sealed class FileSystemBlobStoreTests : BlobStoreContractTests
{
    private readonly TemporaryDirectory _directory = new("chat4all-blobs-");

    private string Root => Path.Combine(_directory.Path, "blobs");

    protected override Task<IBlobStore> CreateStoreAsync() => Task.FromResult<IBlobStore>(NewStore());

    protected override Task<bool> HasStagedDataAsync(StagedBlob blob) =>
        Task.FromResult(Directory.Exists(Path.Combine(Root, ".staging", blob.Handle)));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task AStagedObjectIsOneFileSizedToItsTotalLengthUnderTheStagingFolder()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), FourPartLength, PartSize, Ct);

        Assert.Equal(32, blob.Handle.Length);
        var staged = new FileInfo(Path.Combine(Root, ".staging", blob.Handle, "data"));
        Assert.True(staged.Exists);
        Assert.Equal(FourPartLength, staged.Length);
        Assert.False(File.Exists(Path.Combine(Root, blob.Key)));
    }

    [Fact]
    public async Task CompletingRenamesTheStagedFileIntoPlaceWithoutCopying()
    {
        var blob = await Store.BeginStagedAsync("nested/folders/object", PartSize + ShortPart, PartSize, Ct);
        var parts = new[] { await WritePartAsync(blob, 1, seed: 20), await WritePartAsync(blob, 2, seed: 20) };
        var staged = Path.Combine(Root, ".staging", blob.Handle, "data");
        var stagedInode = await InodeAsync(staged);

        await Store.CompleteStagedAsync(blob, parts, Ct);

        var target = Path.Combine(Root, "nested", "folders", "object");
        Assert.Equal(stagedInode, await InodeAsync(target)); // the same file, renamed
        Assert.False(Directory.Exists(Path.GetDirectoryName(staged)));
    }

    [Fact]
    public async Task WritePartReadsAForwardOnlyStreamThatCannotSeekOrTellItsLength()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), PartSize, PartSize, Ct);
        var body = new GeneratedStream(PartSize, 21, maxRead: 1000);
        Assert.Throws<NotSupportedException>(() => body.Length);

        var part = await Store.WritePartAsync(blob, 1, body, PartSize, Ct);

        Assert.Equal(GeneratedStream.Sha256(21, PartSize), part.Sha256);
        Assert.Null(part.ETag);
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("a/../../outside")]
    [InlineData("a/../b")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\..\\..\\outside")]
    [InlineData("a\0b")]
    [InlineData("a//b")]
    [InlineData("./a")]
    [InlineData("a/")]
    [InlineData(".staging/0123456789abcdef0123456789abcdef/data")]
    public async Task KeysThatCouldLeaveTheRootAreRejected(string key)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.BeginStagedAsync(key, 10, 10, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.OpenReadAsync(key, 0, null, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetPropertiesAsync(key, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.DeleteAsync(key, Ct));
        Assert.False(File.Exists(Path.Combine(_directory.Path, "outside")));
    }

    [Fact]
    public async Task AHandleThatIsNotOursIsRejected()
    {
        var forged = new StagedBlob("key", "../../outside", 10, 10);

        await Assert.ThrowsAsync<ArgumentException>(() => Store.AbortStagedAsync(forged, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.WritePartAsync(forged, 1, Stream.Null, 10, Ct));
    }

    [Fact]
    public async Task ThereAreNoDownloadUrlsTheServiceStreamsInstead() =>
        Assert.Null(await Store.GetDownloadUrlAsync("some/key", "a.txt", "text/plain", TimeSpan.FromMinutes(5), Ct));

    [Fact]
    public async Task CompletingAfterTheObjectWasDeletedFails()
    {
        var blob = await Store.BeginStagedAsync(NewKey(), 1000, PartSize, Ct);
        var part = await WritePartAsync(blob, 1, seed: 22);
        await Store.CompleteStagedAsync(blob, [part], Ct);
        await Store.DeleteAsync(blob.Key, Ct);

        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.CompleteStagedAsync(blob, [part], Ct));
    }

    private FileSystemBlobStore NewStore() =>
        new(Options.Create(new StorageOptions { Directory = { Path = Root } }), NullLogger<FileSystemBlobStore>.Instance);

    private static async Task<string> InodeAsync(string path)
    {
        var info = new ProcessStartInfo("stat", ["-c", "%d:%i", path]) { RedirectStandardOutput = true };
        using var stat = Process.Start(info)!;
        var output = await stat.StandardOutput.ReadToEndAsync();
        await stat.WaitForExitAsync();
        Assert.Equal(0, stat.ExitCode);
        return output.Trim();
    }
}
