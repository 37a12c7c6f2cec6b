using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Chat4All.Cli.Api;
using Chat4All.Client;
using Chat4All.Contracts.Events;
using Chat4All.Cli.CommandLine;
using Chat4All.Cli.Messages;
using Chat4All.Cli.Output;
using Chat4All.Contracts.Messages;

namespace Chat4All.Cli.Files;

/// <summary><c>upload FILE --conversation ID</c>: chunked, parallel, resumable; then shares the file as a message.</summary>
public static class UploadCommand
{
    public static Command Create(CliGlobals globals)
    {
        var file = new Argument<FileInfo>("file") { Description = "File to upload (up to 2 GiB)" };
        var conversation = MessageCommands.ConversationOption();
        var chunkSize = new Option<string>("--chunk-size") { Description = "Chunk size, 5MiB-50MiB (default 8MiB; a resumed upload keeps its own)" };
        chunkSize.Validators.Add(result =>
        {
            if (result.Tokens is [var token] && ParseSize(token.Value) is not (>= MinChunkSize and <= MaxChunkSize))
            {
                result.AddError($"--chunk-size must be from 5MiB to 50MiB (such as 8MiB), not '{token.Value}'.");
            }
        });
        var parallel = new Option<int>("--parallel") { Description = "Chunks in flight at once (1-16)", DefaultValueFactory = _ => 4 }.InRange(1, 16);
        var mimeType = new Option<string>("--mime-type") { Description = "Declared type (default: from the extension, else application/octet-stream)" };
        var noSend = new Option<bool>("--no-send") { Description = "Only upload; do not post the file as a message" };
        // For tests and demos of resuming: behave as if interrupted after this many chunks.
        var stopAfter = new Option<int?>("--stop-after-chunks") { Hidden = true };
        var command = new Command("upload",
            "Upload a file into a conversation (chunked, parallel, resumable: run the same command again after an interruption)")
        {
            file, conversation, chunkSize, parallel, mimeType, noSend, stopAfter,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var printer = session.Printer;
            var conversationId = parsed.GetValue(conversation);
            var uploader = new Uploader(session.Client.Files, session.Api.Http.BaseAddress!,
                new UploadStateStore(globals.Context.ConfigDirectory, globals.StoreFor(parsed).Name), session.Notices, globals.Context.ErrorIsTerminal);
            var request = new UploadRequest(parsed.GetValue(file)!.FullName, conversationId, parsed.GetValue(mimeType),
                ParseSize(parsed.GetValue(chunkSize) ?? "8MiB")!.Value, parsed.GetValue(parallel), parsed.GetValue(stopAfter));
            var outcome = await uploader.UploadAsync(request, cancellationToken);
            if (!outcome.Completed)
            {
                if (printer.Json)
                {
                    printer.Document(ToJson(outcome, "interrupted"));
                }

                printer.Notice($"Upload interrupted: {outcome.ChunksSkipped + outcome.ChunksSent} of {outcome.TotalChunks} chunks are stored. " +
                    "Run the same command again to send the rest.");
                return ExitCodes.Interrupted;
            }

            AcceptedMessage? message = null;
            if (!parsed.GetValue(noSend))
            {
                message = await SendFileAsync(session, conversationId, outcome.FileId!.Value, cancellationToken);
            }

            if (printer.Json)
            {
                var json = ToJson(outcome, "completed");
                json["message_id"] = message?.MessageId.ToString();
                json["seq"] = message?.Seq;
                printer.Document(json);
            }
            else
            {
                var speed = outcome.Elapsed.TotalSeconds > 0 ? outcome.BytesSent / outcome.Elapsed.TotalSeconds : 0;
                printer.Line($"Uploaded {outcome.Filename} ({Printer.Bytes(outcome.Size)}) as file {outcome.FileId}: " +
                    $"{outcome.ChunksSent} chunks sent{(outcome.ChunksSkipped > 0 ? $", {outcome.ChunksSkipped} already stored" : "")}, " +
                    $"{outcome.Elapsed.TotalSeconds:0.0} s, {Printer.Bytes(speed)}/s. sha256 {outcome.Sha256}");
                if (message is not null)
                {
                    printer.Line($"Shared in {conversationId} as message {message.MessageId} (seq {message.Seq}).");
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<AcceptedMessage> SendFileAsync(ApiSession session, Guid conversationId, Guid fileId, CancellationToken cancellationToken)
    {
        // Messaging hears of a completed file through an event: for a few milliseconds it may not know it yet.
        var messageId = Guid.CreateVersion7();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                return (await MessageCommands.SendAsync(session, conversationId, new MessagePayload("file", null, fileId), null, null, messageId,
                    cancellationToken)).Value;
            }
            catch (Chat4AllApiException ex) when (ex.Status == HttpStatusCode.UnprocessableEntity && ex.Code == "file_not_available" && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(200, cancellationToken);
            }
        }
    }

    private static JsonObject ToJson(UploadOutcome outcome, string status) => new()
    {
        ["status"] = status,
        ["upload_id"] = outcome.UploadId.ToString(),
        ["file_id"] = outcome.FileId?.ToString(),
        ["filename"] = outcome.Filename,
        ["size"] = outcome.Size,
        ["sha256"] = outcome.Sha256,
        ["total_chunks"] = outcome.TotalChunks,
        ["chunks_sent"] = outcome.ChunksSent,
        ["chunks_skipped"] = outcome.ChunksSkipped,
        ["resumed"] = outcome.Resumed,
        ["bytes_sent"] = outcome.BytesSent,
        ["elapsed_s"] = Math.Round(outcome.Elapsed.TotalSeconds, 3),
    };

    // The API's chunk size limits (a server may be configured narrower; it then says so in a 400).
    private const long MinChunkSize = 5L << 20;
    private const long MaxChunkSize = 50L << 20;

    /// <summary>"8MiB", "5 MiB", "10MB" (taken as MiB), "5242880"; null when it is not a size.</summary>
    public static long? ParseSize(string text)
    {
        var value = text.Trim().Replace(" ", "", StringComparison.Ordinal);
        long multiplier = 1;
        foreach (var (suffix, factor) in new[] { ("MiB", 1L << 20), ("MB", 1L << 20), ("M", 1L << 20), ("KiB", 1L << 10), ("KB", 1L << 10), ("K", 1L << 10) })
        {
            if (value.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                value = value[..^suffix.Length];
                multiplier = factor;
                break;
            }
        }

        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is > 0 and < (1L << 40)
            ? number * multiplier
            : null;
    }
}
