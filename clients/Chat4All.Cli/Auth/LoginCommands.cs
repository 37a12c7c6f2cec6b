using System.CommandLine;
using System.Text.Json.Nodes;

namespace Chat4All.Cli.Auth;

/// <summary><c>login</c> (client credentials, cached per profile) and <c>logout</c>.</summary>
public static class LoginCommands
{
    public static Command Login(CliGlobals globals)
    {
        var url = new Option<string>("--url")
        {
            Description = "Base URL of the Chat4All host [env CHAT4ALL_URL, default http://127.0.0.1:8080]",
            DefaultValueFactory = _ => globals.Context.Variable("CHAT4ALL_URL") ?? "http://127.0.0.1:8080",
        };
        var clientId = new Option<string>("--client-id") { Description = "OAuth client id [env CHAT4ALL_CLIENT_ID]" };
        var clientSecret = new Option<string>("--client-secret")
        {
            Description = "OAuth client secret [env CHAT4ALL_CLIENT_SECRET]; prefer --client-secret-stdin or the prompt (on a terminal), which keep it out of the process list",
        };
        var secretFromStdin = new Option<bool>("--client-secret-stdin") { Description = "Read the client secret from standard input" };
        var command = new Command("login", "Sign in with OAuth client credentials; the token is cached and refreshed automatically")
        {
            url, clientId, clientSecret, secretFromStdin,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var printer = globals.PrinterFor(parsed);
            var id = parsed.GetValue(clientId) ?? globals.Context.Variable("CHAT4ALL_CLIENT_ID")
                ?? throw new CliException("Give --client-id (or set CHAT4ALL_CLIENT_ID).", ExitCodes.Usage);
            var secret = parsed.GetValue(secretFromStdin)
                ? (await globals.Context.Input.ReadLineAsync(cancellationToken))?.Trim()
                : parsed.GetValue(clientSecret) ?? globals.Context.Variable("CHAT4ALL_CLIENT_SECRET")
                    ?? globals.Context.SecretPrompt?.Invoke("Client secret (not shown): ");
            if (string.IsNullOrEmpty(secret))
            {
                throw new CliException("Give the client secret: --client-secret-stdin (or set CHAT4ALL_CLIENT_SECRET, or run on a terminal to be asked).",
                    ExitCodes.Usage);
            }

            if (!Uri.TryCreate(parsed.GetValue(url), UriKind.Absolute, out var baseUrl) || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps))
            {
                throw new CliException($"--url must be an http(s) URL such as http://127.0.0.1:8080, not '{parsed.GetValue(url)}'.", ExitCodes.Usage);
            }

            if (!baseUrl.AbsolutePath.EndsWith('/'))
            {
                baseUrl = new Uri(baseUrl + "/");
            }

            var store = globals.StoreFor(parsed);
            using var http = CliGlobals.CreateHttpClient(null);
            var profile = await new TokenProvider(store, http, TimeProvider.System).LoginAsync(baseUrl, id, secret, cancellationToken);
            if (printer.Json)
            {
                printer.Document(new JsonObject
                {
                    ["profile"] = store.Name,
                    ["url"] = profile.Url,
                    ["user_id"] = profile.UserId?.ToString(),
                    ["scope"] = profile.Scope,
                    ["access_token_expires_at"] = profile.AccessTokenExpiresAt,
                    ["profile_path"] = store.FilePath,
                });
            }
            else
            {
                printer.Line($"Signed in to {profile.Url} as user {profile.UserId} (scopes: {profile.Scope}).");
                printer.Line($"Profile '{store.Name}' saved to {store.FilePath}; the token is refreshed automatically.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Logout(CliGlobals globals)
    {
        var command = new Command("logout", "Revoke the cached refresh token and forget the profile");
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var printer = globals.PrinterFor(parsed);
            var store = globals.StoreFor(parsed);
            using var http = CliGlobals.CreateHttpClient(null);
            var existed = await new TokenProvider(store, http, TimeProvider.System).LogoutAsync(cancellationToken);
            if (printer.Json)
            {
                printer.Document(new JsonObject { ["profile"] = store.Name, ["signed_out"] = existed });
            }
            else
            {
                printer.Line(existed ? $"Signed out of profile '{store.Name}'." : $"Profile '{store.Name}' was not signed in.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
