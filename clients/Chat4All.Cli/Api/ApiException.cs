using System.Net;
using System.Text;
using Chat4All.Client;
using Chat4All.Contracts;
using Chat4All.Contracts.Auth;

namespace Chat4All.Cli.Api;

/// <summary>
/// A refusal by the API (the SDK's <see cref="Chat4AllApiException"/>: an RFC 9457 problem, an RFC 6749
/// error, or a bare status) as the CLI shows it: <see cref="Describe"/> turns it into the message people
/// read, with a hint per known code, and an exit code for scripts.
/// </summary>
public sealed class ApiException(Chat4AllApiException refusal)
    : CliException(Describe(refusal.Method, refusal.Path, refusal.Status, refusal.Problem, refusal.OAuth, refusal.Body, refusal.RetryAfter),
        ExitCodeFor(refusal.Path, refusal.Status, refusal.OAuth), refusal)
{
    public HttpStatusCode Status => refusal.Status;

    public ApiProblem? Problem => refusal.Problem;

    /// <summary>The machine code: the problem's <c>code</c>, the OAuth <c>error</c>, or the status name.</summary>
    public string Code => refusal.Code;

    private static int ExitCodeFor(string path, HttpStatusCode status, OAuthError? oauth) =>
        status == HttpStatusCode.Unauthorized || (status == HttpStatusCode.Forbidden && path == "/ws") || oauth is { Error: "invalid_client" or "invalid_grant" or "unauthorized_client" } ? ExitCodes.Auth
        : status is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout ? ExitCodes.Unavailable
        : ExitCodes.Failed;

    private static string Describe(HttpMethod method, string path, HttpStatusCode status, ApiProblem? problem, OAuthError? oauth, string? body, TimeSpan? retryAfter)
    {
        var text = new StringBuilder();
        var statusText = $"{(int)status} {status}";
        if (oauth is { Error: { } error })
        {
            text.Append("Sign-in refused: ").Append(error);
            if (oauth.ErrorDescription is { Length: > 0 } description)
            {
                text.Append(" — ").Append(description);
            }

            text.Append(" (").Append(statusText).Append(')');
        }
        else if (problem is not null)
        {
            text.Append("Error: ").Append(problem.Title ?? status.ToString())
                .Append(" (").Append(problem.Status ?? (int)status).Append(' ').Append(problem.Code ?? "error").Append(')');
            if (problem.Detail is { Length: > 0 } detail)
            {
                text.AppendLine().Append("  ").Append(detail);
            }

            foreach (var (field, messages) in problem.Errors ?? [])
            {
                foreach (var message in messages)
                {
                    text.AppendLine().Append("  ").Append(field).Append(": ").Append(message);
                }
            }

            if (problem.MissingChunks is { Count: > 0 } missing)
            {
                text.AppendLine().Append("  missing chunks: ").Append(string.Join(", ", missing.Take(20))).Append(missing.Count > 20 ? ", ..." : "");
            }
        }
        else
        {
            text.Append("Error: ").Append(method.Method).Append(' ').Append(path).Append(" answered ").Append(statusText);
            if (body is { Length: > 0 } && body.Length < 300 && !body.TrimStart().StartsWith('<'))
            {
                text.AppendLine().Append("  ").Append(body.Trim());
            }
        }

        if (Hint(status, problem?.Code ?? oauth?.Error, retryAfter) is { } hint)
        {
            text.AppendLine().Append("  hint: ").Append(hint);
        }

        if (problem?.TraceId is { Length: > 0 } traceId)
        {
            text.AppendLine().Append("  trace_id: ").Append(traceId);
        }

        return text.ToString();
    }

    private static string? Hint(HttpStatusCode status, string? code, TimeSpan? retryAfter) => code switch
    {
        "invalid_client" => "check the client id and secret (`chat4all login --client-id ... --client-secret-stdin`).",
        "invalid_grant" => "the refresh token is no longer valid; run `chat4all login` again.",
        "not_a_member" => "only members of a conversation can read or write it; `chat4all conversations list` shows yours.",
        "rate_limited" => retryAfter is { } wait ? $"the request budget is spent; retry in {Math.Ceiling(wait.TotalSeconds)} s." : "the request budget is spent; retry later.",
        "incomplete_upload" => "run the same `chat4all upload` command again: it sends only the missing chunks.",
        "chunk_in_progress" => "another request is still writing this chunk; retry in a moment.",
        "duplicate_chunk" => "the file changed since the upload started; upload it again as a new file.",
        "file_too_large" => "files are limited to 2 GiB.",
        "file_not_available" => "the file is not completely uploaded (or is still being assembled); retry in a moment.",
        "upload_expired" => "uploads expire after 24 h; start the upload again.",
        _ when status == HttpStatusCode.Unauthorized => "the token was refused; run `chat4all login` again.",
        _ when status == HttpStatusCode.Forbidden => "your client lacks the scope or membership this needs.",
        _ => null,
    };
}
