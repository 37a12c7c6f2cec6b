using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat4All.Cli.Api;
using Chat4All.Cli.Output;

namespace Chat4All.Cli.Auth;

/// <summary><c>whoami</c> (the server's view of the profile's sign-in) and <c>profiles list</c> (what is saved locally).</summary>
public static class ProfileCommands
{
    public static Command WhoAmI(CliGlobals globals)
    {
        var command = new Command("whoami", "Who the profile is signed in as, checked with the server (GET /v1/me)");
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var session = globals.Open(parsed);
            var me = await session.Api.GetAsync("v1/me", CliJson.Default.JsonElement, cancellationToken);
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

            var table = new TextTable("", "PROFILE", "USER", "URL", "SAVED");
            foreach (var (name, profile) in profiles)
            {
                table.Add(name == current ? "*" : "", name, profile?.UserId?.ToString() ?? "(damaged: log in again)", profile?.Url ?? "",
                    profile is null ? "" : Printer.Time(profile.SavedAt));
            }

            table.WriteTo(printer);
            return ExitCodes.Ok;
        });
        return new Command("profiles", "Saved sign-ins") { list };
    }
}
