using System.Net;
using System.Text;
using Chat4All.Contracts;
using Chat4All.Contracts.Auth;

namespace Chat4All.Client;

/// <summary>
/// A refusal by the API: an RFC 9457 problem (everything under <c>/v1</c>, with <c>code</c> and
/// <c>trace_id</c>), an RFC 6749 error (<c>/auth/*</c>), or a bare status. Every call of this client
/// that the server refuses throws this one type.
/// </summary>
public sealed class Chat4AllApiException : Exception
{
    public Chat4AllApiException(HttpMethod method, string path, HttpStatusCode status, ApiProblem? problem, OAuthError? oauth, string? body,
        TimeSpan? retryAfter = null)
        : base(Summary(method, path, status, problem, oauth))
    {
        Method = method;
        Path = path;
        Status = status;
        Problem = problem;
        OAuth = oauth;
        Body = body;
        RetryAfter = retryAfter;
    }

    /// <summary>The method of the refused request.</summary>
    public HttpMethod Method { get; }

    /// <summary>The path of the refused request.</summary>
    public string Path { get; }

    /// <summary>The response's status.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The problem body, when the response carried one.</summary>
    public ApiProblem? Problem { get; }

    /// <summary>The OAuth error body of <c>/auth/*</c>, when the response carried one.</summary>
    public OAuthError? OAuth { get; }

    /// <summary>The response body as sent.</summary>
    public string? Body { get; }

    /// <summary>The response's <c>Retry-After</c>, when it had one.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The machine code: the problem's <c>code</c>, the OAuth <c>error</c>, or the status name.</summary>
    public string Code => Problem?.Code ?? OAuth?.Error ?? Status.ToString();

    /// <summary>The problem's <c>trace_id</c>, to find the request in the server's traces.</summary>
    public string? TraceId => Problem?.TraceId;

    private static string Summary(HttpMethod method, string path, HttpStatusCode status, ApiProblem? problem, OAuthError? oauth)
    {
        var text = new StringBuilder().Append(method.Method).Append(' ').Append(path).Append(" answered ").Append((int)status);
        if ((problem?.Code ?? oauth?.Error) is { } code)
        {
            text.Append(' ').Append(code);
        }

        if ((problem?.Detail ?? oauth?.ErrorDescription) is { Length: > 0 } detail)
        {
            text.Append(": ").Append(detail);
        }

        foreach (var (field, messages) in problem?.Errors ?? [])
        {
            text.Append("; ").Append(field).Append(": ").AppendJoin(' ', messages);
        }

        if (problem?.TraceId is { Length: > 0 } traceId)
        {
            text.Append(" (trace_id ").Append(traceId).Append(')');
        }

        return text.ToString();
    }
}

/// <summary>A download whose bytes do not hash to the SHA-256 the server recorded; nothing was kept.</summary>
public sealed class Chat4AllChecksumException(Guid fileId, string expected, string actual)
    : Exception($"The downloaded bytes of file {fileId} do not match its SHA-256 ({actual} instead of {expected}); nothing was kept.")
{
    /// <summary>The file whose download failed the check.</summary>
    public Guid FileId { get; } = fileId;

    /// <summary>The SHA-256 the server recorded.</summary>
    public string Expected { get; } = expected;

    /// <summary>The SHA-256 of the bytes received.</summary>
    public string Actual { get; } = actual;
}
