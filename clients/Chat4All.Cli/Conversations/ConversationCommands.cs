using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using Chat4All.Contracts;
using Chat4All.Cli.Api;
using Chat4All.Client;
using Chat4All.Cli.Auth;
using Chat4All.Cli.CommandLine;
using Chat4All.Cli.Output;
using Chat4All.Contracts.Conversations;
using Spectre.Console;

namespace Chat4All.Cli.Conversations;

/// <summary><c>conversations list|create|show</c>.</summary>
public static class ConversationCommands
{
    /// <summary>Columns from which <c>conversations list</c> shows every field in a column of its own.</summary>
    private const int WideTerminal = 120;

    public static Command Create(CliGlobals globals) => new("conversations", "List, create and show conversations")
    {
        List(globals),
        New(globals),
        Show(globals),
    };

    private static Command List(CliGlobals globals)
    {
        var limit = new Option<int>("--limit") { Description = "Conversations per page (1-100)", DefaultValueFactory = _ => 50 }.InRange(1, 100);
        var all = new Option<bool>("--all") { Description = "Follow next_cursor until every conversation is listed" };
        var command = new Command("list", "Your conversations, newest activity first") { limit, all };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var printer = session.Printer;
            // People read names; scripts get exactly the server's page as before (no expansion).
            var path = $"v1/conversations?limit={parsed.GetValue(limit)}" + (printer.Json ? "" : "&expand=members");
            var (items, raw, cursor, hasMore) = await session.Api.GetPagesAsync(path, next => path + "&cursor=" + next, ContractJsonContext.Default.ConversationPage,
                page => (page.Items, page.NextCursor, page.HasMore), "items", parsed.GetValue(all), cancellationToken);

            if (printer.Json)
            {
                printer.Document(new JsonObject { ["items"] = raw, ["next_cursor"] = hasMore ? cursor : null, ["has_more"] = hasMore });
                return ExitCodes.Ok;
            }

            if (items.Count == 0)
            {
                printer.Line("No conversations yet. Create one: chat4all conversations create --member USER_ID");
                return ExitCodes.Ok;
            }

            // A terminal narrower than the six columns need gets two: the id whole, the rest stacked beside it.
            var stacked = printer.Width is < WideTerminal;
            var table = stacked
                ? printer.NewTable("CONVERSATION", "WITH · UNREAD · LAST / NAME / LAST MESSAGE")
                : printer.NewTable("CONVERSATION", "TYPE", "WITH", "UNREAD", "LAST", "NAME / LAST MESSAGE");
            table.Columns[0].NoWrap();
            foreach (var c in items)
            {
                var last = c.LastMessage is { } m ? $"#{m.Seq} {Shorten(m.Preview ?? "", 50)}" : "(no messages)";
                var name = c.Metadata?.Name is { Length: > 0 } n ? n + " — " : "";
                var others = (c.MemberDetails ?? []).Where(u => u.UserId != session.UserId).Select(u => u.Name ?? UserNames.ShortId(u.UserId)).ToList();
                var with = others.Count <= 3 ? string.Join(", ", others) : $"{string.Join(", ", others.Take(3))} +{others.Count - 3}";
                var unread = c.UnreadCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var unreadMarkup = c.UnreadCount > 0 ? $"[bold yellow]{unread}[/]" : unread;
                if (stacked)
                {
                    table.AddRow(Markup.Escape(c.ConversationId.ToString()),
                        $"[bold]{Markup.Escape(with)}[/] ({Markup.Escape(c.Type)}) · {unreadMarkup} unread · {Markup.Escape(Printer.Time(c.UpdatedAt))}\n" +
                        Markup.Escape(name + last));
                }
                else
                {
                    table.AddRow(Markup.Escape(c.ConversationId.ToString()), Markup.Escape(c.Type), Markup.Escape(with), unreadMarkup,
                        Markup.Escape(Printer.Time(c.UpdatedAt)), Markup.Escape(name + last));
                }
            }

            if (!stacked)
            {
                table.Columns[3].RightAligned();
                table.Columns[4].NoWrap();
            }

            printer.Table(table);

            if (hasMore)
            {
                printer.Notice("(more conversations: use --all)");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command New(CliGlobals globals)
    {
        var members = new Option<string[]>("--member", "-m")
        {
            Description = "User id or exact name of another member (repeat for a group); you are always a member",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var group = new Option<bool>("--group") { Description = "A group even with one other member (private is the default for one)" };
        var name = new Option<string>("--name") { Description = "Group name" };
        var description = new Option<string>("--description") { Description = "Group description" };
        var command = new Command("create", "Create a conversation (the same private pair always gets the same one)") { members, group, name, description };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var others = (await MemberIdsAsync(session.Client, parsed.GetValue(members)!, globals.Context.ConfigDirectory, cancellationToken)).Distinct().ToList();
            var type = others.Count == 1 && !parsed.GetValue(group) ? "private" : "group";
            var metadata = parsed.GetValue(name) is null && parsed.GetValue(description) is null
                ? null
                : new ConversationMetadata(parsed.GetValue(name), parsed.GetValue(description));
            // A private pair is idempotent by nature (same pair → same conversation), a group is not.
            var response = await session.Api.SendJsonAsync(HttpMethod.Post, "v1/conversations", new CreateConversationRequest(type, others, metadata),
                ContractJsonContext.Default.CreateConversationRequest, ContractJsonContext.Default.ConversationResponse, type == "private" ? RetryMode.SafeToRepeat : RetryMode.Never,
                cancellationToken);
            if (session.Printer.Json)
            {
                session.Printer.Raw(response.Raw);
            }
            else
            {
                var c = response.Value;
                var verb = response.Status == HttpStatusCode.OK ? "Existing" : "Created";
                session.Printer.Line($"{verb} {c.Type} conversation {c.ConversationId} with {c.Members.Count} members.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show(CliGlobals globals)
    {
        var id = new Argument<Guid>("conversation-id") { Description = "Conversation id" };
        var command = new Command("show", "One conversation and its members") { id };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var expand = session.Printer.Json ? "" : "?expand=members";
            var response = await session.Api.GetAsync($"v1/conversations/{parsed.GetValue(id)}{expand}", ContractJsonContext.Default.ConversationResponse, cancellationToken);
            if (session.Printer.Json)
            {
                session.Printer.Raw(response.Raw);
                return ExitCodes.Ok;
            }

            var c = response.Value;
            session.Printer.Line($"{c.ConversationId} ({c.Type}) created {Printer.Time(c.CreatedAt)}");
            if (c.Metadata?.Name is { Length: > 0 } conversationName)
            {
                session.Printer.Line("name: " + conversationName);
            }

            var names = (c.MemberDetails ?? []).ToDictionary(u => u.UserId, u => u.Name);
            var members = session.Printer.NewTable("MEMBER", "USER ID");
            members.Columns[1].NoWrap();
            foreach (var member in c.Members)
            {
                var name = names.GetValueOrDefault(member) ?? UserNames.ShortId(member);
                members.AddRow(member == session.UserId ? $"[bold]{Markup.Escape(name)}[/] (you)" : Markup.Escape(name), Markup.Escape(member.ToString()));
            }

            session.Printer.Table(members);

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// Members are user ids or user names, a name resolved through the tenant's user directory
    /// (<c>GET /v1/users?query=</c>, docs/adr/0040): the user whose name is exactly it, else the one
    /// whose name matches it ignoring case. No match, or several, is a usage error — a wrong member
    /// of a private conversation cannot be undone, so nothing is guessed. A local profile's name is
    /// only what this machine calls a sign-in; it is shown as a hint, never used.
    /// </summary>
    internal static async Task<List<Guid>> MemberIdsAsync(Chat4AllClient api, IEnumerable<string> members, string configDirectory,
        CancellationToken cancellationToken)
    {
        var ids = new List<Guid>();
        foreach (var member in members)
        {
            if (Guid.TryParse(member, out var id))
            {
                ids.Add(id);
                continue;
            }

            var page = await api.SearchUsersAsync(member, 100, null, cancellationToken);
            var exact = page.Items.Where(u => u.Name == member).ToList();
            var matches = exact.Count > 0 ? exact : [.. page.Items.Where(u => string.Equals(u.Name, member, StringComparison.OrdinalIgnoreCase))];
            switch (matches)
            {
                case [var user]:
                    ids.Add(user.UserId);
                    break;
                case []:
                    var profile = ProfileStore.List(configDirectory).FirstOrDefault(p => p.Name == member).Profile;
                    var hint = profile?.UserId is { } profileUser ? $" The local profile '{member}' is signed in as user {profileUser}: --member {profileUser}." : "";
                    throw new CliException($"No user named '{member}' in your tenant's user directory; --member takes a user id or a user's exact name.{hint}",
                        ExitCodes.Usage);
                default:
                    throw new CliException($"Several users are named '{member}' (ignoring case): {string.Join(", ", matches.Select(u => $"{u.Name} {u.UserId}"))}. " +
                        "Give the exact name or the user id.", ExitCodes.Usage);
            }
        }

        return ids;
    }

    internal static string Shorten(string text, int length)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= length ? line : string.Concat(line.AsSpan(0, length - 1), "…");
    }
}
