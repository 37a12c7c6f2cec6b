using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Events;
using Serilog.Templates;

namespace Microsoft.Extensions.Hosting;

public static class LoggingExtensions
{
    // One JSON object per line with the fields operators query on, then every other structured property.
    private const string JsonTemplate =
        "{ {timestamp: UtcDateTime(@t), level: @l, service: Service, trace_id: @tr, span_id: @sp, request_id: Coalesce(HttpRequestId, RequestId), " +
        "category: SourceContext, message: @m, exception: @x, ..rest()} }\n";

    /// <summary>
    /// Serilog JSON logs to stdout (stderr for host commands, whose stdout is their output), and, when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, also as OpenTelemetry logs to that endpoint (the
    /// collector forwards them to Loki, with their trace and span ids). Levels are configured under
    /// <c>Serilog:MinimumLevel</c>.
    /// </summary>
    public static IHostApplicationBuilder AddChat4AllLogging(this IHostApplicationBuilder builder, string serviceName, bool toStandardError)
    {
        var otlpEndpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        builder.Services.AddSerilog((services, logger) =>
        {
            logger
                // Quiet defaults first; configuration read afterwards wins.
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
                .MinimumLevel.Override("OpenIddict", LogEventLevel.Warning)
                // IHttpClientFactory's per-request start/end lines (mostly the channel simulator's webhook
                // calls, carrying no ids) are debugging detail; the HTTP client spans keep the timings.
                .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning)
                .ReadFrom.Configuration(builder.Configuration)
                .Enrich.FromLogContext()
                .Enrich.WithProperty("Service", serviceName)
                .WriteTo.Console(new ExpressionTemplate(JsonTemplate),
                    standardErrorFromLevel: toStandardError ? LogEventLevel.Verbose : null);
            if (!string.IsNullOrWhiteSpace(otlpEndpoint))
            {
                logger.WriteTo.OpenTelemetry(otlp =>
                {
                    otlp.Endpoint = otlpEndpoint;
                    otlp.ResourceAttributes = new Dictionary<string, object> { ["service.name"] = serviceName };
                });
            }
        });
        return builder;
    }
}
