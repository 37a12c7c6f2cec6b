using System.CommandLine;
using System.Text.Json;
using Chat4All.Client;
using Chat4All.Cli.CommandLine;
using Chat4All.Cli.Conversations;
using Chat4All.Cli.Messages;
using Chat4All.Cli.Output;
using Spectre.Console;

namespace Chat4All.Cli.Realtime;

/// <summary>
/// <c>tail</c>: live events over the WebSocket until Ctrl-C (or <c>--count</c> messages), surviving
/// disconnects and token expiry without losing or repeating a message (<see cref="RealtimeSession"/>).
/// Text lines for people; with <c>--output json</c> one frame per line (NDJSON), as the server sent it.
/// </summary>
public static class TailCommand
{
    public static Command Create(CliGlobals globals)
    {
        var conversations = new Option<Guid[]>("--conversation", "-c")
        {
            Description = "Only these conversations (repeatable); default: all of yours",
            AllowMultipleArgumentsPerToken = true,
        }.Ids();
        var fromSeq = new Option<long?>("--from-seq") { Description = "With one --conversation: first replay the messages after this seq" }.InRange(0, long.MaxValue);
        var messagesOnly = new Option<bool>("--messages-only") { Description = "Only message.created (no receipts or presence)" };
        var count = new Option<int?>("--count") { Description = "Exit after this many messages" }.InRange(1, int.MaxValue);
        var command = new Command("tail", "Watch messages, delivery and read receipts and presence live (reconnects and resumes by itself)")
        {
            conversations, fromSeq, messagesOnly, count,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var printer = session.Printer;
            var only = parsed.GetValue(conversations) is { Length: > 0 } selected ? selected.ToHashSet() : null;
            if (parsed.GetValue(fromSeq) is not null && only is not { Count: 1 })
            {
                throw new CliException("--from-seq needs exactly one --conversation.", ExitCodes.Usage);
            }

            var realtime = session.Client.OpenRealtime(CliGlobals.Notice(session.Notices));
            // Start every conversation at its latest seq: anything after it — sent while connecting,
            // or while disconnected later — is replayed, nothing before it is.
            await foreach (var conversation in session.Client.ListAllConversationsAsync(cancellationToken))
            {
                if (only is null || only.Contains(conversation.ConversationId))
                {
                    realtime.Track(conversation.ConversationId, conversation.LastMessage?.Seq ?? 0);
                }
            }

            if (parsed.GetValue(fromSeq) is { } start)
            {
                realtime.Track(only!.Single(), start);
            }

            var remaining = parsed.GetValue(count);
            var names = new UserNames(session.Client, session.UserId);
            await realtime.RunAsync(async e =>
            {
                if (only is not null && (e.ConversationId is not { } id || !only.Contains(id)))
                {
                    return true;
                }

                if (parsed.GetValue(messagesOnly) && e.Message is null)
                {
                    return true;
                }

                if (printer.Json)
                {
                    await printer.Out.WriteLineAsync(Printer.Compact(e.Frame));
                }
                else
                {
                    printer.Styled(await FormatAsync(e, names, cancellationToken));
                }

                await printer.Out.FlushAsync(cancellationToken);
                return e.Message is null || remaining is null || --remaining > 0;
            }, cancellationToken);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>One event as a line of markup: users by name, statuses and presence in colour.</summary>
    private static async ValueTask<string> FormatAsync(RealtimeEvent e, UserNames names, CancellationToken cancellationToken)
    {
        var data = e.Frame.GetProperty("data");
        var conversation = e.ConversationId is { } id ? Markup.Escape($"[…{id.ToString()[^8..]}] ") : "";
        async ValueTask<string> User(string property) =>
            data.TryGetProperty(property, out var user) && Guid.TryParse(user.GetString(), out var userId)
                ? $"[bold]{Markup.Escape(await names.NameAsync(userId, cancellationToken))}[/]"
                : "?";
        string Text(string property) => data.TryGetProperty(property, out var value) ? value.ToString() : "";

        return e.Type switch
        {
            "message.created" => $"{conversation}#{e.Message!.Seq,-5} {Printer.Time(e.Message.CreatedAt)}  " +
                MessageCommands.Said(await names.NameAsync(e.Message.SenderId, cancellationToken), e.Message.Payload) +
                (e.FromHistory ? "  [grey](caught up)[/]" : ""),
            "message.status_updated" =>
                $"{conversation}message …{Markup.Escape(Text("message_id")[Math.Max(0, Text("message_id").Length - 8)..])} to {await User("recipient_id")} " +
                $"via {Markup.Escape(Text("channel"))}: {Printer.Status(Text("new_status"))}",
            "conversation.read" => $"{conversation}{await User("user_id")} read up to #{Markup.Escape(Text("read_up_to_seq"))}",
            "presence.changed" => $"{await User("user_id")} is {Printer.Status(Text("status"))}",
            _ => $"{conversation}{Markup.Escape(e.Type)}: {Markup.Escape(ConversationCommands.Shorten(data.ToString(), 120))}",
        };
    }
}
