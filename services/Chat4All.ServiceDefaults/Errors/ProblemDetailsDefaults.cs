using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Chat4All.ServiceDefaults.Errors;

/// <summary>
/// Gives every problem response the fields docs/api.md §1.2 promises: <c>trace_id</c> and a stable machine
/// <c>code</c>. Handlers that know better set <c>code</c> themselves (e.g. <c>not_a_member</c>).
/// </summary>
public static class ProblemDetailsDefaults
{
    public const string CodeKey = "code";
    public const string TraceIdKey = "trace_id";

    public static void Customize(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        problem.Type ??= TypeFor(problem.Status ?? context.HttpContext.Response.StatusCode);
        problem.Extensions[TraceIdKey] = Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier;
        if (!problem.Extensions.ContainsKey(CodeKey))
        {
            problem.Extensions[CodeKey] = problem is HttpValidationProblemDetails ? "validation_failed" : CodeFor(problem.Status ?? context.HttpContext.Response.StatusCode);
        }
    }

    /// <summary>
    /// The RFC that defines a status ASP.NET Core has no default problem <c>type</c> for; the others
    /// keep the framework's RFC 9110 links.
    /// </summary>
    private static string? TypeFor(int status) => status switch
    {
        StatusCodes.Status413PayloadTooLarge => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        StatusCodes.Status414UriTooLong => "https://tools.ietf.org/html/rfc9110#section-15.5.15",
        StatusCodes.Status429TooManyRequests => "https://tools.ietf.org/html/rfc6585#section-4",
        StatusCodes.Status431RequestHeaderFieldsTooLarge => "https://tools.ietf.org/html/rfc6585#section-5",
        StatusCodes.Status505HttpVersionNotsupported => "https://tools.ietf.org/html/rfc9110#section-15.6.6",
        _ => null,
    };

    public static string CodeFor(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "bad_request",
        StatusCodes.Status401Unauthorized => "unauthorized",
        StatusCodes.Status403Forbidden => "forbidden",
        StatusCodes.Status404NotFound => "not_found",
        StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
        StatusCodes.Status408RequestTimeout => "request_timeout",
        StatusCodes.Status409Conflict => "conflict",
        StatusCodes.Status413PayloadTooLarge => "payload_too_large",
        StatusCodes.Status414UriTooLong => "uri_too_long",
        StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
        StatusCodes.Status422UnprocessableEntity => "unprocessable_entity",
        StatusCodes.Status429TooManyRequests => "rate_limited",
        StatusCodes.Status431RequestHeaderFieldsTooLarge => "request_headers_too_large",
        StatusCodes.Status503ServiceUnavailable => "service_unavailable",
        StatusCodes.Status505HttpVersionNotsupported => "http_version_not_supported",
        >= 500 => "internal_error",
        _ => "error",
    };
}
