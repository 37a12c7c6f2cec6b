using System.ComponentModel.DataAnnotations;

namespace Chat4All.ServiceDefaults.Telemetry;

/// <summary>
/// How many traces are recorded. Bound from <c>Chat4All:Tracing</c>. Recording costs CPU on every
/// request, query, Redis command and event (the Redis instrumentation alone was 7 % of the host's CPU
/// under load), so nothing is recorded unless something receives the spans: by default all of them
/// when an OTLP endpoint is configured, none otherwise (docs/adr/0038).
/// </summary>
public sealed class TracingOptions
{
    public const string SectionName = "Chat4All:Tracing";

    /// <summary>
    /// Share of root traces recorded, 0–1 (a parent's decision is always followed). Unset: 1 with an
    /// OTLP endpoint, 0 without. 0 registers no tracing at all.
    /// </summary>
    [Range(0.0, 1.0)]
    public double? SampleRatio { get; set; }
}
