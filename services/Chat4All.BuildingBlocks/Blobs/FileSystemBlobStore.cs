using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Blobs;

/// <summary>
/// The directory adapter: objects are files under the root (<c>{root}/{key}</c>). A staged object is
/// one file, sized to its total length up front, at <c>{root}/.staging/{handle}/data</c>: each part
/// is written in place at its offset, and completing it is a rename — the bytes are written once and
/// never copied. See docs/adr/0012-blob-store.md.
/// </summary>
public sealed class FileSystemBlobStore : IBlobStore, IBlobStoreProbe
{
    internal const string StagingFolder = ".staging";
    private const string StagedFileName = "data";
    private const int CopyBufferSize = 128 * 1024;

    private readonly string _root;
    private readonly string _rootPrefix;
    private readonly ILogger<FileSystemBlobStore> _logger;

    public FileSystemBlobStore(IOptions<StorageOptions> options, ILogger<FileSystemBlobStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = options.Value.Directory.Path;
        ArgumentException.ThrowIfNullOrWhiteSpace(path, "Chat4All:Storage:Directory:Path");
        _root = Path.GetFullPath(path);
        _rootPrefix = Path.EndsInDirectorySeparator(_root) ? _root : _root + Path.DirectorySeparatorChar;
        _logger = logger;
    }

    /// <summary>The folder objects live under.</summary>
    public string Root => _root;

    public Task<StagedBlob> BeginStagedAsync(string key, long totalLength, long partSize, CancellationToken cancellationToken)
    {
        ObjectPath(key);
        StagedBlobRules.ValidateBegin(totalLength, partSize);
        var handle = Guid.NewGuid().ToString("N");
        var folder = StagingFolderOf(handle);
        Directory.CreateDirectory(folder);
        // Sparse on Linux: disk is used as parts arrive, and every part has its place from the start.
        using (var file = new FileStream(Path.Combine(folder, StagedFileName), FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            file.SetLength(totalLength);
        }

        return Task.FromResult(new StagedBlob(key, handle, totalLength, partSize));
    }

    public async Task<StagedPart> WritePartAsync(StagedBlob blob, int partNumber, Stream content, long length, CancellationToken cancellationToken)
    {
        var offset = StagedBlobRules.ValidatePart(blob, partNumber, length);
        ArgumentNullException.ThrowIfNull(content);
        FileStream file;
        try
        {
            // Other parts are written through their own handles at the same time; each touches only its range.
            file = new FileStream(StagedFileOf(blob.Handle), FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0, FileOptions.Asynchronous);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw NotStaged(blob, ex);
        }

        await using (file)
        {
            file.Seek(offset, SeekOrigin.Begin);
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
            try
            {
                long written = 0;
                while (true)
                {
                    // Asking for one byte more than is left is how a body longer than announced shows.
                    var remaining = length - written;
                    var read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining + 1)), cancellationToken);
                    if (read == 0)
                    {
                        break;
                    }

                    if (read > remaining)
                    {
                        throw new BlobLengthMismatchException(length, length + 1);
                    }

                    sha256.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    written += read;
                }

                if (written != length)
                {
                    throw new BlobLengthMismatchException(length, written);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            // The caller records the part as stored once this returns, so it must be on disk.
            file.Flush(flushToDisk: true);
            return new StagedPart(partNumber, length, Convert.ToHexStringLower(sha256.GetHashAndReset()), ETag: null);
        }
    }

    public Task CompleteStagedAsync(StagedBlob blob, IReadOnlyList<StagedPart> parts, CancellationToken cancellationToken)
    {
        var ordered = StagedBlobRules.ValidateCompletion(blob, parts);
        var target = ObjectPath(blob.Key);
        var staged = StagedFileOf(blob.Handle);
        bool moved;
        try
        {
            var length = new FileInfo(staged).Length;
            if (length != blob.TotalLength)
            {
                throw new InvalidOperationException($"The staged data of '{blob.Key}' is {length} bytes long, not {blob.TotalLength}.");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Move(staged, target, overwrite: true); // rename(2): same file system, no bytes copied
            moved = true;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            moved = false; // completed before (or concurrently), or aborted
        }

        if (moved)
        {
            BlobStoreLog.Completed(_logger, blob.Key, blob.TotalLength, ordered.Length);
        }
        else
        {
            var existing = new FileInfo(target);
            if (!existing.Exists || existing.Length != blob.TotalLength)
            {
                throw new InvalidOperationException(
                    $"'{blob.Key}' ({blob.Handle}) has no staged data and no completed object of {blob.TotalLength} bytes: it was aborted, or never begun here.");
            }

            BlobStoreLog.AlreadyCompleted(_logger, blob.Key);
        }

        try
        {
            Directory.Delete(StagingFolderOf(blob.Handle), recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException ex)
        {
            BlobStoreLog.StagingCleanupFailed(_logger, ex, blob.Key, blob.Handle);
        }

        return Task.CompletedTask;
    }

    public Task AbortStagedAsync(StagedBlob blob, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        try
        {
            Directory.Delete(StagingFolderOf(blob.Handle), recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            BlobStoreLog.AlreadyAborted(_logger, blob.Key, blob.Handle);
        }

        return Task.CompletedTask;
    }

    public Task<BlobProperties?> GetPropertiesAsync(string key, CancellationToken cancellationToken)
    {
        var file = new FileInfo(ObjectPath(key));
        return Task.FromResult(file.Exists ? new BlobProperties(file.Length) : null);
    }

    public Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        var path = ObjectPath(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is { } count)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count, nameof(length));
        }

        FileStream file;
        try
        {
            // FileShare.Delete: an object may be deleted (or replaced) while someone is still reading it.
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
                bufferSize: 4096, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException
            || (ex is UnauthorizedAccessException && Directory.Exists(path)))
        {
            throw new BlobNotFoundException(key);
        }

        if (offset > 0 && offset >= file.Length)
        {
            var size = file.Length;
            file.Dispose();
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"'{key}' is {size} bytes long.");
        }

        file.Seek(offset, SeekOrigin.Begin);
        return Task.FromResult<Stream>(new BoundedReadStream(file, length));
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            File.Delete(ObjectPath(key)); // a missing file is no error, a missing folder is
        }
        catch (DirectoryNotFoundException)
        {
        }

        return Task.CompletedTask;
    }

    public Task<Uri?> GetDownloadUrlAsync(string key, string fileName, string contentType, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        ObjectPath(key);
        return Task.FromResult<Uri?>(null); // the service streams the bytes itself
    }

    /// <summary>Ready when the root exists (it is created) and a file can be written in it.</summary>
    async Task IBlobStoreProbe.ProbeAsync(CancellationToken cancellationToken)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, StagingFolder)).FullName;
        var probe = Path.Combine(folder, $"probe-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(probe, [], cancellationToken);
        File.Delete(probe);
    }

    /// <summary>The file of <paramref name="key"/>, which must stay under the root and outside the staging folder.</summary>
    internal string ObjectPath(string key)
    {
        BlobKeys.Validate(key);
        if (Path.IsPathRooted(key) || key.Split('/')[0] == StagingFolder)
        {
            throw new ArgumentException($"Blob key '{key}' is rooted or names the staging folder.", nameof(key));
        }

        var path = Path.GetFullPath(Path.Combine(_root, key));
        return path.StartsWith(_rootPrefix, StringComparison.Ordinal)
            ? path
            : throw new ArgumentException($"Blob key '{key}' leads outside the store.", nameof(key));
    }

    private string StagingFolderOf(string handle) =>
        Guid.TryParseExact(handle, "N", out _)
            ? Path.Combine(_root, StagingFolder, handle)
            : throw new ArgumentException($"'{handle}' is not a staged-object handle of the directory store.", nameof(handle));

    private string StagedFileOf(string handle) => Path.Combine(StagingFolderOf(handle), StagedFileName);

    private static InvalidOperationException NotStaged(StagedBlob blob, Exception inner) =>
        new($"'{blob.Key}' ({blob.Handle}) is no longer staged: it was completed or aborted.", inner);
}
