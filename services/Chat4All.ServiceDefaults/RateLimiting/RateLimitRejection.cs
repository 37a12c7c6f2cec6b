using System.Globalization;
using Chat4All.ServiceDefaults.Audit;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.ServiceDefaults.RateLimiting;

/// <summary>The one 429 every limiter answers: <c>Retry-After</c>, an audit event and a <c>rate_limited</c> problem.</summary>
internal static class RateLimitRejection
{
    public static async Task WriteAsync(HttpContext http, string budget, string subject, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        http.RequestServices.GetRequiredService<AuditLog>().RateLimitExceeded(budget, subject, http.Request.Method, http.Request.Path);

        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Detail = $"The '{budget}' request budget is exhausted; retry after {seconds} s.",
                Extensions = { [ProblemDetailsDefaults.CodeKey] = "rate_limited" },
            },
        });
    }
}
