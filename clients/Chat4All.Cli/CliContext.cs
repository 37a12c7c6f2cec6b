namespace Chat4All.Cli;

/// <summary>
/// Everything the CLI takes from its surroundings, so that tests can run it in-process with captured
/// output, a private configuration directory and their own environment.
/// </summary>
/// <param name="Out">Results (text or JSON) — what scripts read.</param>
/// <param name="Error">Errors, progress and connection notices.</param>
/// <param name="ConfigDirectory">Where profiles (tokens), upload state and tail positions live.</param>
/// <param name="Environment">Environment variables (<c>CHAT4ALL_URL</c>, <c>CHAT4ALL_CLIENT_ID</c>, ...).</param>
/// <param name="ErrorIsTerminal">Draw a live progress bar (a terminal) or print progress lines (a log).</param>
/// <param name="Input">Standard input, for <c>--client-secret-stdin</c>.</param>
/// <param name="SecretPrompt">On a terminal: asks for a secret without echoing it (null when input is not a terminal).</param>
/// <param name="TerminalWidth">Columns of the terminal stdout is, for tables that fit (null when stdout is not a terminal).</param>
public sealed record CliContext(
    TextWriter Out,
    TextWriter Error,
    string ConfigDirectory,
    IReadOnlyDictionary<string, string> Environment,
    bool ErrorIsTerminal,
    TextReader Input,
    Func<string, string?>? SecretPrompt = null,
    int? TerminalWidth = null)
{
    /// <summary>The real console: <c>$XDG_CONFIG_HOME/chat4all</c> or <c>~/.config/chat4all</c> (or <c>CHAT4ALL_CONFIG_DIR</c>).</summary>
    public static CliContext FromProcess()
    {
        var environment = System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => e.Value as string ?? "", StringComparer.Ordinal);
        return new CliContext(Console.Out, Console.Error, DefaultConfigDirectory(environment), environment, !Console.IsErrorRedirected, Console.In,
            Console.IsInputRedirected ? null : PromptWithoutEcho,
            Console.IsOutputRedirected ? null : Math.Max(40, Console.WindowWidth));
    }

    /// <summary>Reads a line from the terminal showing nothing of it (like ssh's password prompt).</summary>
    private static string? PromptWithoutEcho(string prompt)
    {
        Console.Error.Write(prompt);
        var secret = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                secret.Length = Math.Max(0, secret.Length - 1);
            }
            else if (!char.IsControl(key.KeyChar))
            {
                secret.Append(key.KeyChar);
            }
        }

        Console.Error.WriteLine();
        return secret.ToString();
    }

    public static string DefaultConfigDirectory(IReadOnlyDictionary<string, string> environment)
    {
        if (environment.TryGetValue("CHAT4ALL_CONFIG_DIR", out var explicitDirectory) && explicitDirectory.Length > 0)
        {
            return explicitDirectory;
        }

        var configHome = environment.TryGetValue("XDG_CONFIG_HOME", out var xdg) && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(configHome, "chat4all");
    }

    public string? Variable(string name) => Environment.TryGetValue(name, out var value) && value.Length > 0 ? value : null;
}
