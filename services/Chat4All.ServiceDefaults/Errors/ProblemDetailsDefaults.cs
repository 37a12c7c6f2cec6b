using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Chat4All.ServiceDefaults.Errors;

/// <summary>
/// Gives every problem response the fields API.md promises: <c>trace_id</c> and a stable machine
/// <c>code</c>. Handlers that know better set <c>code</c> themselves (e.g. <c>not_a_member</c>).
/// </summary>
public static class ProblemDetailsDefaults
{
    public const string CodeKey = "code";
    public const string TraceIdKey = "trace_id";

    public static void Customize(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        problem.Extensions[TraceIdKey] = Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier;
        if (!problem.Extensions.ContainsKey(CodeKey))
        {
            problem.Extensions[CodeKey] = problem is HttpValidationProblemDetails ? "validation_failed" : CodeFor(problem.Status ?? context.HttpContext.Response.StatusCode);
        }
    }

    public static string CodeFor(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "bad_request",
        StatusCodes.Status401Unauthorized => "unauthorized",
        StatusCodes.Status403Forbidden => "forbidden",
        StatusCodes.Status404NotFound => "not_found",
        StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
        StatusCodes.Status409Conflict => "conflict",
        StatusCodes.Status413PayloadTooLarge => "payload_too_large",
        StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
        StatusCodes.Status422UnprocessableEntity => "unprocessable_entity",
        StatusCodes.Status429TooManyRequests => "rate_limited",
        StatusCodes.Status503ServiceUnavailable => "service_unavailable",
        >= 500 => "internal_error",
        _ => "error",
    };
}
