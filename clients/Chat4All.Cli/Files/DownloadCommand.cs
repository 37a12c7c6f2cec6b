using System.CommandLine;
using System.Text.Json.Nodes;
using Chat4All.Client;
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
            var metadata = await session.Client.Files.GetMetadataAsync(id, cancellationToken);
            var destination = Destination(parsed.GetValue(to), metadata.Filename);
            if (File.Exists(destination) && !parsed.GetValue(force))
            {
                throw new CliException($"{destination} exists; use --force to overwrite it, or --to another path.", ExitCodes.Usage);
            }

            var started = DateTimeOffset.UtcNow;
            ProgressBar? progress = null;
            var download = await session.Client.Files.DownloadToFileAsync(metadata, destination, new DownloadOptions
            {
                Started = held => progress = new ProgressBar(printer.Error, globals.Context.ErrorIsTerminal, "download", metadata.Size, held),
                Progress = bytes => progress?.Add(bytes),
            }, cancellationToken);
            progress?.Finish();
            var (sha256, received) = (download.Sha256, download.BytesReceived);
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
}
