using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat4All.Contracts;
using Chat4All.Cli.Api;
using Chat4All.Cli.CommandLine;
using Chat4All.Cli.Output;
using Spectre.Console;

namespace Chat4All.Cli.Auth;

/// <summary><c>whoami</c> (the server's view of the profile's sign-in), <c>users</c> (the tenant's directory) and <c>profiles list</c> (what is saved locally).</summary>
public static class ProfileCommands
{
    public static Command WhoAmI(CliGlobals globals)
    {
        var command = new Command("whoami", "Who the profile is signed in as, checked with the server (GET /v1/me)");
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var me = await session.Api.GetAsync("v1/me", ContractJsonContext.Default.JsonElement, cancellationToken);
            var printer = session.Printer;
            var store = globals.StoreFor(parsed);
            if (printer.Json)
            {
                var document = JsonNode.Parse(me.Raw)!.AsObject();
                document["profile"] = store.Name;
                document["url"] = session.Profile.Url;
                printer.Document(document);
                return ExitCodes.Ok;
            }

            string Text(string property) => me.Value.TryGetProperty(property, out var value)
                ? value.ValueKind == JsonValueKind.Array ? string.Join(' ', value.EnumerateArray().Select(v => v.ToString())) : value.ToString()
                : "?";
            printer.Line($"user {Text("user_id")} (tenant {Text("tenant_id")}) at {session.Profile.Url}");
            printer.Line($"scopes: {Text("scopes")}; profile '{store.Name}' ({store.FilePath})");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary><c>users [QUERY]</c>: the tenant's user directory, the names <c>--member</c> accepts.</summary>
    public static Command Users(CliGlobals globals)
    {
        var query = new Argument<string?>("query") { Description = "Only names starting with this (default: everyone)", Arity = ArgumentArity.ZeroOrOne };
        var limit = new Option<int>("--limit") { Description = "Users per page (1-100)", DefaultValueFactory = _ => 50 }.InRange(1, 100);
        var all = new Option<bool>("--all") { Description = "Follow next_cursor until every user is listed" };
        var command = new Command("users", "Users of your tenant's directory: the names 'conversations create --member' takes") { query, limit, all };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var path = $"v1/users?limit={parsed.GetValue(limit)}" + (parsed.GetValue(query) is { Length: > 0 } q ? "&query=" + Uri.EscapeDataString(q) : "");
            var (users, raw, cursor, hasMore) = await session.Api.GetPagesAsync(path, next => path + "&cursor=" + Uri.EscapeDataString(next),
                ContractJsonContext.Default.UserDirectoryPage, page => (page.Items, page.NextCursor, page.HasMore), "items", parsed.GetValue(all), cancellationToken);
            var printer = session.Printer;
            if (printer.Json)
            {
                printer.Document(new JsonObject { ["items"] = raw, ["next_cursor"] = hasMore ? cursor : null, ["has_more"] = hasMore });
                return ExitCodes.Ok;
            }

            if (users.Count == 0)
            {
                printer.Notice("(no users)");
                return ExitCodes.Ok;
            }

            var table = printer.NewTable("NAME", "USER ID");
            table.Columns[1].NoWrap();
            foreach (var user in users)
            {
                table.AddRow(user.UserId == session.UserId ? $"[bold]{Markup.Escape(user.Name)}[/] (you)" : Markup.Escape(user.Name), user.UserId.ToString());
            }

            printer.Table(table);
            if (hasMore)
            {
                printer.Notice("(more users: use --all)");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Profiles(CliGlobals globals)
    {
        var list = new Command("list", "Profiles saved on this machine (no secrets shown); * marks the one in use");
        list.SetAction(parsed =>
        {
            var printer = globals.PrinterFor(parsed);
            var current = globals.StoreFor(parsed).Name;
            var profiles = ProfileStore.List(globals.Context.ConfigDirectory).ToList();
            if (printer.Json)
            {
                printer.Document(new JsonObject
                {
                    ["profiles"] = new JsonArray([.. profiles.Select(p => (JsonNode)new JsonObject
                    {
                        ["name"] = p.Name,
                        ["current"] = p.Name == current,
                        ["url"] = p.Profile?.Url,
                        ["user_id"] = p.Profile?.UserId?.ToString(),
                        ["scope"] = p.Profile?.Scope,
                        ["saved_at"] = p.Profile?.SavedAt,
                    })]),
                });
                return ExitCodes.Ok;
            }

            if (profiles.Count == 0)
            {
                printer.Notice("No profiles yet. Sign in: chat4all login --url URL --client-id ID --client-secret-stdin");
                return ExitCodes.Ok;
            }

            var table = printer.NewTable("", "PROFILE", "USER", "URL", "SAVED");
            foreach (var (name, profile) in profiles)
            {
                table.AddRow(name == current ? "[bold green]*[/]" : "", name == current ? $"[bold]{Markup.Escape(name)}[/]" : Markup.Escape(name),
                    profile?.UserId?.ToString() ?? "[red](damaged: log in again)[/]", Markup.Escape(profile?.Url ?? ""),
                    profile is null ? "" : Markup.Escape(Printer.Time(profile.SavedAt)));
            }

            printer.Table(table);
            return ExitCodes.Ok;
        });
        return new Command("profiles", "Saved sign-ins") { list };
    }
}
