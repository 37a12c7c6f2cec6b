using Chat4All.BuildingBlocks.Data;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace Chat4All.ServiceDefaults.Errors;

/// <summary>
/// The one place an unhandled exception becomes a response: malformed input the framework
/// detected (<see cref="BadHttpRequestException"/>, a form body it cannot parse) is the client's 4xx; a
/// dependency that is down or failing over (Redis or PostgreSQL unreachable, a connection cut, a
/// primary shutting down) is a 503 with <c>Retry-After</c>, which a client retries with the same
/// idempotency key; everything else a 500 problem with no internals leaked. Nothing is swallowed:
/// 5xx answers are logged with the exception.
/// </summary>
internal sealed partial class GlobalExceptionHandler(IProblemDetailsService problemDetails, ILogger<GlobalExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException bad => (bad.StatusCode, "Bad request", bad.Message),
            // The form reader refuses a NUL, an over-long value or too many fields this way.
            InvalidDataException when httpContext.Request.HasFormContentType =>
                (StatusCodes.Status400BadRequest, "Bad request", "The form body is malformed: " + exception.Message),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, "Client closed request", null),
            _ when DependencyOutage.Is(exception) => (StatusCodes.Status503ServiceUnavailable, "Service unavailable",
                "A dependency is unavailable or failing over; retry shortly (with the same Idempotency-Key for a write)."),
            _ => (StatusCodes.Status500InternalServerError, "An unexpected error occurred", null),
        };

        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds;
        }

        if (status >= 500)
        {
            LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = status;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    private const string RetryAfterSeconds = "1";

    [LoggerMessage(EventId = 5000, Level = LogLevel.Error, Message = "Unhandled exception on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, PathString path);
}
