using System.CommandLine;
using Chat4All.Cli.Api;
using Chat4All.Client;
using Chat4All.Cli.Auth;
using Chat4All.Cli.CommandLine;
using Chat4All.Cli.Conversations;
using Chat4All.Cli.Files;
using Chat4All.Cli.Messages;
using Chat4All.Cli.Output;
using Chat4All.Cli.Realtime;

namespace Chat4All.Cli;

/// <summary>
/// <c>chat4all</c>: the command tree. <see cref="RunAsync"/> is the whole program — Program.cs only
/// wires the real console and Ctrl-C to it, and tests call it in-process with their own context.
/// </summary>
public static class CliApp
{
    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken)
    {
        var globals = new CliGlobals(context);
        var root = new RootCommand("Chat4All command-line client: sign in, converse, watch events live, move files.")
        {
            globals.Profile,
            globals.Output,
            LoginCommands.Login(globals),
            LoginCommands.Logout(globals),
            ProfileCommands.WhoAmI(globals),
            ProfileCommands.Profiles(globals),
            ProfileCommands.Users(globals),
            ConversationCommands.Create(globals),
            MessageCommands.Send(globals),
            MessageCommands.History(globals),
            MessageCommands.Read(globals),
            MessageCommands.Deliveries(globals),
            TailCommand.Create(globals),
            UploadCommand.Create(globals),
            DownloadCommand.Create(globals),
        };
        root.Add(CompletionCommand.Create());
        var parsed = root.Parse(args);
        // A completion request ([suggest:N], from the completion script) parses a partial line: its errors are expected.
        var completing = args is [var first, ..] && first.StartsWith("[suggest", StringComparison.Ordinal);
        if (parsed.Errors.Count > 0 && !completing && !args.Any(a => a is "--help" or "-h" or "-?"))
        {
            await WriteUsageErrorsAsync(parsed, root, context.Error);
            return ExitCodes.Usage;
        }

        var configuration = new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            // Program.cs owns Ctrl-C (first press: stop gracefully; second: exit at once).
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await parsed.InvokeAsync(configuration, cancellationToken);
        }
        catch (Exception ex) when (CliException.Explain(ex) is { } failure)
        {
            globals.PrinterFor(parsed).Failure(failure);
            return failure.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await context.Error.WriteLineAsync("chat4all: interrupted");
            return ExitCodes.Interrupted;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The last resort: one sentence, never a stack trace or a type name (CHAT4ALL_DEBUG=1 shows them).
            var failure = new CliException(context.Variable("CHAT4ALL_DEBUG") is "1"
                ? ex.ToString()
                : $"chat4all: the command failed unexpectedly: {ex.Message} (set CHAT4ALL_DEBUG=1 for details)");
            globals.PrinterFor(parsed).Failure(failure);
            return failure.ExitCode;
        }
    }

    /// <summary>Each parse error in words, a "did you mean" for a mistyped command or option, and where help is.</summary>
    private static async Task WriteUsageErrorsAsync(ParseResult parsed, RootCommand root, TextWriter error)
    {
        foreach (var parseError in parsed.Errors)
        {
            await error.WriteLineAsync(OptionRules.Describe(parseError));
        }

        foreach (var token in parsed.UnmatchedTokens)
        {
            if (OptionRules.Suggestions(parsed.CommandResult.Command, token) is { Count: > 0 } suggestions)
            {
                await error.WriteLineAsync($"Did you mean {string.Join(" or ", suggestions.Select(s => $"'{s}'"))} instead of '{token}'?");
            }
        }

        var path = new List<string>();
        for (var result = parsed.CommandResult; result.Command != root; result = (System.CommandLine.Parsing.CommandResult)result.Parent!)
        {
            path.Insert(0, result.Command.Name);
        }

        await error.WriteLineAsync($"Run 'chat4all {string.Join(' ', [.. path, "--help"])}'.");
    }
}

/// <summary>Options every command shares, and what a command needs to talk to the API as the profile.</summary>
public sealed class CliGlobals(CliContext context)
{
    public CliContext Context { get; } = context;

    public Option<string> Profile { get; } = new("--profile", "-p")
    {
        Description = "Named sign-in to use (tokens are cached per profile)",
        Recursive = true,
        DefaultValueFactory = _ => context.Variable("CHAT4ALL_PROFILE") ?? "default",
    };

    public Option<OutputFormat> Output { get; } = new("--output", "-o")
    {
        Description = "text (for people) or json (for scripts)",
        Recursive = true,
        DefaultValueFactory = _ => OutputFormat.Text,
    };

    public Printer PrinterFor(ParseResult parsed) => new(Context, parsed.GetValue(Output));

    public ProfileStore StoreFor(ParseResult parsed) => new(Context.ConfigDirectory, parsed.GetValue(Profile) ?? "default");

    /// <summary>An API client for the signed-in profile (throws "not signed in" when there is none).</summary>
    public ApiSession Open(ParseResult parsed)
    {
        var store = StoreFor(parsed);
        var profile = store.Load() ?? throw new CliException(
            $"Not signed in (profile '{store.Name}'). Run: chat4all login --url URL --client-id ID --client-secret-stdin", ExitCodes.Auth);
        var http = CreateHttpClient(new Uri(profile.Url));
        var tokens = new TokenProvider(store, http, TimeProvider.System);
        var notices = Context.ErrorIsTerminal ? new NoticeWriter(Context.Error) : Context.Error;
        return new ApiSession(PrinterFor(parsed), new ApiConnection(http, tokens, Notice(notices)), tokens, profile, http, notices);
    }

    /// <summary>The SDK's notices (retries, reconnects) as the CLI's "chat4all: ..." lines.</summary>
    public static Action<string> Notice(TextWriter notices) => text => notices.WriteLine("chat4all: " + text);

    public static HttpClient CreateHttpClient(Uri? baseAddress)
    {
        var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = 16 })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromMinutes(10),
        };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("chat4all-cli/" + typeof(CliApp).Assembly.GetName().Version?.ToString(3));
        return http;
    }
}

/// <summary>A command's connection to the API as the signed-in profile.</summary>
public sealed class ApiSession(Printer printer, ApiConnection api, TokenProvider tokens, Profile profile, HttpClient http, TextWriter notices) : IDisposable
{
    public Printer Printer { get; } = printer;

    /// <summary>The SDK's HTTP policy (tokens, safe retries, errors), for the server's own JSON.</summary>
    public ApiConnection Api { get; } = api;

    /// <summary>The SDK's typed calls over the same connection.</summary>
    public Chat4AllClient Client { get; } = new(api);

    /// <summary>Where connection notices go (stderr, or the terminal's notice line).</summary>
    public TextWriter Notices { get; } = notices;

    public Profile Profile { get; } = profile;

    public Guid? UserId => tokens.Profile.UserId ?? Profile.UserId;

    public void Dispose() => http.Dispose();
}
