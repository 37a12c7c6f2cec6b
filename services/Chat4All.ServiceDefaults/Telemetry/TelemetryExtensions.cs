using Chat4All.ServiceDefaults.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

public static class TelemetryExtensions
{
    /// <summary>Every Chat4All meter and activity source is named under this prefix.</summary>
    public const string InstrumentationPrefix = "Chat4All.";

    /// <summary>
    /// OpenTelemetry metrics for ASP.NET Core, HttpClient and Npgsql plus our own <c>Chat4All.*</c>
    /// meters, scraped by Prometheus; traces of the same plus Redis, sampled by
    /// <see cref="TracingOptions"/>; OTLP export when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is configured.
    /// </summary>
    public static IHostApplicationBuilder AddChat4AllTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        var exporting = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOptions<TracingOptions>().BindConfiguration(TracingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        // Read here as well, because whether tracing is registered at all is decided now; validation
        // above still refuses an out-of-range value at start.
        var sampleRatio = builder.Configuration.GetSection(TracingOptions.SectionName).Get<TracingOptions>()?.SampleRatio ?? (exporting ? 1.0 : 0.0);

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddMeter(InstrumentationPrefix + "*")
                // Our durations are in seconds; the SDK's default buckets (0, 5, 10, ... 10,000) suit milliseconds.
                .AddView(instrument => instrument.Meter.Name.StartsWith(InstrumentationPrefix, StringComparison.Ordinal)
                    && instrument.GetType().Name.StartsWith("Histogram", StringComparison.Ordinal) && instrument.Unit == "s"
                        ? new ExplicitBucketHistogramConfiguration { Boundaries = SecondsBuckets }
                        : null)
                .AddPrometheusExporter());

        if (sampleRatio is > 0.0 and <= 1.0)
        {
            otel.WithTracing(tracing => tracing
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(sampleRatio)))
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !IsOperationalPath(ctx.Request.Path))
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddRedisInstrumentation()
                .AddSource(InstrumentationPrefix + "*"));
        }

        if (exporting)
        {
            otel.UseOtlpExporter();
        }

        return builder;
    }

    private static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    internal static bool IsOperationalPath(Microsoft.AspNetCore.Http.PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/ready") || path.StartsWithSegments("/metrics");
}
