namespace Chat4All.Cli;

/// <summary>Process exit codes, stable for scripts.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The API refused the request (a ProblemDetails), or a transfer failed.</summary>
    public const int Failed = 1;
    /// <summary>Bad arguments.</summary>
    public const int Usage = 2;
    /// <summary>Not signed in, or the credentials were refused.</summary>
    public const int Auth = 3;
    /// <summary>The host could not be reached.</summary>
    public const int Unavailable = 4;
    /// <summary>Interrupted (Ctrl-C); an upload can be resumed by running the same command again.</summary>
    public const int Interrupted = 130;
}

/// <summary>A failure the CLI explains in one message and an exit code (no stack trace).</summary>
public class CliException(string message, int exitCode = ExitCodes.Failed, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>A failure the CLI can explain (its own, and the SDK's refusals, unreachable host and checksum mismatch), or null.</summary>
    public static CliException? Explain(Exception error) => error switch
    {
        CliException cli => cli,
        Client.Chat4AllApiException refusal => new Api.ApiException(refusal),
        HttpRequestException unreachable => Unreachable(unreachable),
        Client.Chat4AllChecksumException mismatch => new CliException(mismatch.Message, ExitCodes.Failed, mismatch),
        _ => null,
    };

    public static CliException Unreachable(HttpRequestException error) =>
        new($"Could not reach the Chat4All host: {error.Message}", ExitCodes.Unavailable, error);
}
