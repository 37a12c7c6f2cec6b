using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat4All.Contracts;
using Chat4All.Cli.Api;
using Chat4All.Client;
using Chat4All.Contracts.Events;
using Chat4All.Cli.CommandLine;
using Chat4All.Cli.Output;
using Chat4All.Contracts.Conversations;
using Chat4All.Contracts.Messages;
using Spectre.Console;

namespace Chat4All.Cli.Messages;

/// <summary><c>send</c>, <c>history</c> and <c>read</c>.</summary>
public static class MessageCommands
{
    public static Option<Guid> ConversationOption() => new("--conversation", "-c") { Description = "Conversation id", Required = true };

    public static Command Send(CliGlobals globals)
    {
        var conversation = ConversationOption();
        var text = new Argument<string[]>("text") { Description = "Message text ('-' reads it from standard input)", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<Guid?>("--file") { Description = "Send an uploaded file (its file_id) instead of text" };
        // One channel per --channel: taking several per token would swallow the message text that follows.
        var channels = new Option<string[]>("--channel")
        {
            Description = "Channel to route to: whatsapp, instagram, telegram, messenger, sms or all (repeat for several)",
        };
        channels.AcceptOnlyFromAmong("whatsapp", "instagram", "telegram", "messenger", "sms", "all");
        var priority = new Option<string>("--priority") { Description = "low, normal or high" };
        priority.AcceptOnlyFromAmong("low", "normal", "high");
        var messageId = new Option<Guid?>("--message-id") { Description = "Idempotency key (default: a new UUID; resending with the same id is safe)" };
        var command = new Command("send", "Send a text (or file) message") { conversation, text, file, channels, priority, messageId };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var words = parsed.GetValue(text) ?? [];
            MessagePayload payload;
            if (parsed.GetValue(file) is { } fileId)
            {
                if (words.Length > 0)
                {
                    throw new CliException("Give either text or --file, not both.", ExitCodes.Usage);
                }

                payload = new MessagePayload("file", null, fileId);
            }
            else
            {
                var body = words is ["-"] ? await globals.Context.Input.ReadToEndAsync(cancellationToken) : string.Join(' ', words);
                if (string.IsNullOrWhiteSpace(body))
                {
                    throw new CliException("Nothing to send: give the text as arguments, '-' for standard input, or --file FILE_ID.", ExitCodes.Usage);
                }

                payload = new MessagePayload("text", body.TrimEnd('\n', '\r'), null);
            }

            var accepted = await SendAsync(session, parsed.GetValue(conversation), payload, parsed.GetValue(channels), parsed.GetValue(priority),
                parsed.GetValue(messageId) ?? Guid.CreateVersion7(), cancellationToken);
            if (session.Printer.Json)
            {
                session.Printer.Raw(accepted.Raw);
            }
            else
            {
                session.Printer.Line($"Sent message {accepted.Value.MessageId} to {accepted.Value.ConversationId} (seq {accepted.Value.Seq}).");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>One send; its Idempotency-Key (and message id) make retries safe, so transient failures are retried.</summary>
    public static Task<ApiResponse<AcceptedMessage>> SendAsync(ApiSession session, Guid conversationId, MessagePayload payload, string[]? channels,
        string? priority, Guid messageId, CancellationToken cancellationToken) =>
        session.Api.SendJsonAsync(HttpMethod.Post, "v1/messages",
            new SendMessageRequest(messageId, conversationId, new PayloadRequest(payload.Type, payload.Text, payload.FileId), channels is { Length: > 0 } ? [.. channels] : null, priority),
            ContractJsonContext.Default.SendMessageRequest, ContractJsonContext.Default.AcceptedMessage, RetryMode.WithIdempotencyKey, cancellationToken);

    public static Command History(CliGlobals globals)
    {
        var conversation = ConversationOption();
        var limit = new Option<int>("--limit") { Description = "Messages per page (1-100)", DefaultValueFactory = _ => 50 }.InRange(1, 100);
        var afterSeq = new Option<long?>("--after-seq") { Description = "Messages after this seq, oldest first" }.InRange(0, long.MaxValue);
        var beforeSeq = new Option<long?>("--before-seq") { Description = "Messages before this seq" }.InRange(1, long.MaxValue);
        var all = new Option<bool>("--all") { Description = "Follow next_cursor to the end" };
        var command = new Command("history", "Messages of a conversation in seq order (the newest page unless --after-seq/--before-seq)")
        {
            conversation, limit, afterSeq, beforeSeq, all,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var conversationId = parsed.GetValue(conversation);
            var query = $"limit={parsed.GetValue(limit)}";
            if (parsed.GetValue(afterSeq) is { } after)
            {
                query += $"&after_seq={after}";
            }

            if (parsed.GetValue(beforeSeq) is { } before)
            {
                query += $"&before_seq={before}";
            }

            // People read senders' names; scripts get exactly the server's page (no expansion).
            var path = $"v1/conversations/{conversationId}/messages?" + (session.Printer.Json ? "" : "expand=sender&");
            var (messages, raw, cursor, hasMore) = await session.Api.GetPagesAsync(path + query, next => path + $"limit={parsed.GetValue(limit)}&cursor={next}",
                ContractJsonContext.Default.MessagePage, page => (page.Messages, page.NextCursor, page.HasMore), "messages", parsed.GetValue(all), cancellationToken);

            if (session.Printer.Json)
            {
                session.Printer.Document(new JsonObject
                {
                    ["conversation_id"] = conversationId.ToString(), ["messages"] = raw, ["next_cursor"] = hasMore ? cursor : null, ["has_more"] = hasMore,
                });
                return ExitCodes.Ok;
            }

            if (messages.Count > 0)
            {
                var names = new UserNames(session.Client, session.UserId);
                var table = session.Printer.NewTable("SEQ", "TIME", "MESSAGE");
                table.Columns[0].NoWrap().RightAligned();
                table.Columns[1].NoWrap();
                foreach (var message in messages.OrderBy(m => m.Seq))
                {
                    names.Remember(message.SenderId, message.Sender?.Name);
                    table.AddRow($"#{message.Seq}", Markup.Escape(Printer.Time(message.CreatedAt)),
                        Said(await names.NameAsync(message.SenderId, cancellationToken), message.Payload));
                }

                session.Printer.Table(table);
            }

            if (messages.Count == 0)
            {
                session.Printer.Notice("(no messages)");
            }
            else if (hasMore)
            {
                session.Printer.Notice("(more messages: use --all, or --before-seq/--after-seq)");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Read(CliGlobals globals)
    {
        var conversation = ConversationOption();
        var upTo = new Option<long?>("--up-to-seq") { Description = "Mark read up to this seq (default: the latest)" }.InRange(1, long.MaxValue);
        var command = new Command("read", "Mark a conversation read; its members see the receipt live") { conversation, upTo };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var response = await session.Api.SendJsonAsync(HttpMethod.Post, $"v1/conversations/{parsed.GetValue(conversation)}/read", new MarkReadRequest(parsed.GetValue(upTo)),
                ContractJsonContext.Default.MarkReadRequest, ContractJsonContext.Default.MarkReadResponse, RetryMode.SafeToRepeat, cancellationToken);
            if (session.Printer.Json)
            {
                session.Printer.Raw(response.Raw);
            }
            else
            {
                session.Printer.Line($"Read up to seq {response.Value.ReadUpToSeq} ({response.Value.MessagesMarkedRead} messages marked read).");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Deliveries(CliGlobals globals)
    {
        var id = new Argument<Guid>("message-id") { Description = "Message id (from send, history -o json or tail)" };
        var command = new Command("deliveries", "Where a message went: each recipient's channel and delivery status") { id };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var printer = session.Printer;
            var response = await session.Api.GetAsync($"v1/messages/{parsed.GetValue(id)}" + (printer.Json ? "" : "?expand=sender"),
                ContractJsonContext.Default.JsonElement, cancellationToken);
            if (printer.Json)
            {
                printer.Raw(response.Raw);
                return ExitCodes.Ok;
            }

            var message = response.Value;
            var names = new UserNames(session.Client, session.UserId);
            var senderId = message.GetProperty("sender_id").GetGuid();
            if (message.TryGetProperty("sender", out var sender) && sender.TryGetProperty("name", out var senderName))
            {
                names.Remember(senderId, senderName.GetString());
            }

            var payload = message.GetProperty("payload").Deserialize(ContractJsonContext.Default.MessagePayload)!;
            printer.Styled($"#{message.GetProperty("seq").GetInt64()} in {Markup.Escape(message.GetProperty("conversation_id").GetString()!)}  " +
                Said(await names.NameAsync(senderId, cancellationToken), payload));
            var deliveries = message.GetProperty("deliveries").EnumerateArray().ToList();
            if (deliveries.Count == 0)
            {
                printer.Notice("(no deliveries: no other member has a channel address)");
                return ExitCodes.Ok;
            }

            var table = printer.NewTable("RECIPIENT", "CHANNEL", "STATUS", "UPDATED", "ERROR");
            foreach (var delivery in deliveries)
            {
                var recipient = await names.NameAsync(delivery.GetProperty("recipient_id").GetGuid(), cancellationToken);
                var channel = delivery.GetProperty("channel").GetString()!;
                if (delivery.TryGetProperty("fallback_from", out var from) && from.GetString() is { } fallback)
                {
                    channel += $" (after {fallback})";
                }

                var error = delivery.TryGetProperty("error", out var e) ? e.GetString() : null;
                table.AddRow(Markup.Escape(recipient), Markup.Escape(channel), Printer.Status(delivery.GetProperty("status").GetString()!),
                    Markup.Escape(Printer.Time(delivery.GetProperty("updated_at").GetDateTimeOffset())), error is null ? "" : $"[red]{Markup.Escape(error)}[/]");
            }

            printer.Table(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>"sender: text" as markup, the sender in colour ("you" apart from everyone else).</summary>
    public static string Said(string sender, MessagePayload payload) =>
        $"[{(sender == "you" ? "cyan" : "bold")}]{Markup.Escape(sender)}[/]: {Markup.Escape(Printer.Describe(payload))}";
}
