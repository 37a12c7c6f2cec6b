using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chat4All.ServiceDefaults.Health;

internal static class HealthResponseWriter
{
    /// <summary>Writes <c>{status, checks: {name: {status, duration_ms, description}}}</c>.</summary>
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new Dictionary<string, object?>
        {
            ["status"] = report.Status.ToString().ToLowerInvariant(),
            ["checks"] = report.Entries.ToDictionary(
                e => e.Key,
                e => new Dictionary<string, object?>
                {
                    ["status"] = e.Value.Status.ToString().ToLowerInvariant(),
                    ["duration_ms"] = Math.Round(e.Value.Duration.TotalMilliseconds, 1),
                    ["description"] = e.Value.Description,
                }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, cancellationToken: context.RequestAborted);
    }
}
