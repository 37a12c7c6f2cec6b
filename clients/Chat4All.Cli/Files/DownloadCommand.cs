using System.Buffers;
using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Chat4All.Cli.Api;
using Chat4All.Cli.Output;

namespace Chat4All.Cli.Files;

/// <summary>
/// <c>download FILE_ID</c>: streams the content to <c>NAME.part</c> (continuing a partial one with a
/// <c>Range</c> request), checks the SHA-256 the server recorded, then renames it into place.
/// </summary>
public static class DownloadCommand
{
    public static Command Create(CliGlobals globals)
    {
        var fileId = new Argument<Guid>("file-id") { Description = "The file's id (from upload, or a file message)" };
        var to = new Option<string>("--to")
        {
            Description = "Destination folder (created if missing: an existing folder, a path ending in '/', or a name without an extension), " +
                "or file (a name with an extension); default: the file's name in the current folder",
        };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing destination" };
        var command = new Command("download", "Download a file shared in one of your conversations, verifying its SHA-256") { fileId, to, force };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var printer = session.Printer;
            var id = parsed.GetValue(fileId);
            var metadata = (await session.Api.GetAsync($"v1/files/{id}", CliJson.Default.FileMetadata, cancellationToken)).Value;
            var destination = Destination(parsed.GetValue(to), metadata.Filename);
            if (File.Exists(destination) && !parsed.GetValue(force))
            {
                throw new CliException($"{destination} exists; use --force to overwrite it, or --to another path.", ExitCodes.Usage);
            }

            var partial = destination + ".part";
            var started = DateTimeOffset.UtcNow;
            var (sha256, received) = await DownloadAsync(session.Api, metadata, partial, new ProgressBarFactory(printer.Error, globals.Context.ErrorIsTerminal),
                cancellationToken);
            if (!string.Equals(sha256, metadata.ChecksumSha256, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(partial);
                throw new CliException($"The downloaded bytes do not match the file's SHA-256 ({sha256} instead of {metadata.ChecksumSha256}); nothing was written.");
            }

            File.Move(partial, destination, overwrite: true);
            var elapsed = DateTimeOffset.UtcNow - started;
            if (printer.Json)
            {
                printer.Document(new JsonObject
                {
                    ["file_id"] = metadata.FileId.ToString(),
                    ["filename"] = metadata.Filename,
                    ["path"] = destination,
                    ["size"] = metadata.Size,
                    ["sha256"] = sha256,
                    ["bytes_received"] = received,
                    ["elapsed_s"] = Math.Round(elapsed.TotalSeconds, 3),
                });
            }
            else
            {
                printer.Line($"Downloaded {metadata.Filename} ({Printer.Bytes(metadata.Size)}) to {destination}; sha256 {sha256} verified.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// Where the file goes. A folder — one that exists, a path ending in a separator, or a last name
    /// without an extension (<c>~/Downloads</c>) — is created when missing and gets the file's own
    /// name; otherwise the path names the file, and its folder must exist.
    /// </summary>
    internal static string Destination(string? to, string filename)
    {
        var safeName = Path.GetFileName(filename);
        if (safeName.Length == 0)
        {
            safeName = "download";
        }

        if (to is null)
        {
            return Path.GetFullPath(safeName);
        }

        var path = Path.GetFullPath(to);
        var isFolder = Directory.Exists(path) || Path.EndsInDirectorySeparator(to) || (!File.Exists(path) && !Path.HasExtension(path));
        if (!isFolder)
        {
            var parent = Path.GetDirectoryName(path)!;
            return Directory.Exists(parent)
                ? path
                : throw new CliException($"The folder {parent} does not exist; create it, or give --to {parent}/ to have it created.", ExitCodes.Usage);
        }

        if (File.Exists(path.TrimEnd(Path.DirectorySeparatorChar)))
        {
            throw new CliException($"{path} is a file, not a folder; give --to another folder or a file name with an extension.", ExitCodes.Usage);
        }

        try
        {
            Directory.CreateDirectory(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Could not create the folder {path}: {ex.Message}", ExitCodes.Failed);
        }

        return Path.Combine(path, safeName);
    }

    private static async Task<(string Sha256, long Received)> DownloadAsync(ApiClient api, FileMetadata metadata, string partial, ProgressBarFactory bars,
        CancellationToken cancellationToken)
    {
        var existing = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (existing > metadata.Size)
        {
            existing = 0;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var response = await api.SendRawAsync(HttpMethod.Get, $"v1/files/{metadata.FileId}/content", null, idempotent: true,
            HttpCompletionOption.ResponseHeadersRead,
            request =>
            {
                if (existing > 0 && existing < metadata.Size)
                {
                    request.Headers.Range = new RangeHeaderValue(existing, null);
                }
            },
            cancellationToken);
        var resuming = response.StatusCode == HttpStatusCode.PartialContent && existing > 0;
        await using var output = new FileStream(partial, resuming ? FileMode.Open : FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            if (resuming)
            {
                // Hash what the earlier attempt stored, then append after it.
                int read;
                while ((read = await output.ReadAsync(buffer.AsMemory(0, 1 << 16), cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                }
            }

            var progress = bars.Create("download", metadata.Size, resuming ? existing : 0);
            await using var content = await response.Content.ReadAsStreamAsync(cancellationToken);
            int n;
            while ((n = await content.ReadAsync(buffer.AsMemory(0, 1 << 16), cancellationToken)) > 0)
            {
                await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                hash.AppendData(buffer, 0, n);
                progress.Add(n);
            }

            progress.Finish();
            return (Convert.ToHexStringLower(hash.GetHashAndReset()), progress.Transferred);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed record ProgressBarFactory(TextWriter Output, bool Terminal)
    {
        public ProgressBar Create(string label, long total, long done) => new(Output, Terminal, label, total, done);
    }
}
