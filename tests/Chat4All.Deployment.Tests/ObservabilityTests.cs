using System.Text.Json;
using System.Text.RegularExpressions;

namespace Chat4All.Deployment.Tests;

/// <summary>
/// Dashboards and alerts query metrics that exist: every name from the host's own families must be
/// on a real host's /metrics (<see cref="MetricsScrape"/>), the rest must come from the exporters the
/// manifests deploy; the alert set covers what operators must be woken for.
/// </summary>
[Collection(MetricsScrape.Collection)]
public sealed partial class ObservabilityTests(MetricsScrape scrape) : IClassFixture<MetricsScrape>
{
    /// <summary>Metric families the host itself exports (OpenTelemetry: our meters, ASP.NET Core, Kestrel, Npgsql, runtime).</summary>
    private static readonly string[] HostPrefixes = ["chat4all_", "http_", "db_", "kestrel_", "aspnetcore_", "dotnet_"];

    /// <summary>Series from the other exporters the manifests deploy or rely on, by exact name.</summary>
    private static readonly HashSet<string> ExternalSeries = new(StringComparer.Ordinal)
    {
        "kube_deployment_spec_replicas",             // kube-state-metrics
        "kube_deployment_status_replicas_available", // kube-state-metrics
        "kafka_consumergroup_lag",                   // Strimzi Kafka Exporter (Kafka.spec.kafkaExporter)
        "kafka_topic_partition_current_offset",      // Strimzi Kafka Exporter
        "kafka_topic_partition_under_replicated_partition", // Strimzi Kafka Exporter
        "cnpg_pg_replication_lag",                   // CloudNativePG instances (Cluster.spec.monitoring)
        "cnpg_pg_replication_streaming_replicas",    // CloudNativePG instances
        "redis_sentinel_master_status",              // Redis exporter on the Sentinels (redisExporter)
        "redis_sentinel_master_ok_slaves",           // Redis exporter on the Sentinels
    };

    public static TheoryData<string> QuerySources => ["dashboard", "alerts"];

    [Theory]
    [MemberData(nameof(QuerySources))]
    public void EveryMetricAQueryUsesIsExportedUnderThatName(string source)
    {
        var queries = source == "dashboard" ? DashboardQueries() : AlertQueries().Values.ToList();
        var used = queries.SelectMany(MetricNames).Distinct().ToList();

        Assert.NotEmpty(used);
        var missing = used.Where(name => HostPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal))
                ? !scrape.Series.Contains(name)
                : !ExternalSeries.Contains(name))
            .ToList();
        Assert.True(missing.Count == 0, $"{source} queries metrics nobody exports: {string.Join(", ", missing)}");
    }

    [Fact]
    public void TheHostExportsEveryChat4AllInstrument()
    {
        // Guards the scrape itself: each instrument of our meters shows up as a chat4all_* family.
        Assert.True(scrape.Chat4AllInstruments.Count >= 30, string.Join(", ", scrape.Chat4AllInstruments));
        Assert.True(scrape.Series.Count(s => s.StartsWith("chat4all_", StringComparison.Ordinal)) >= scrape.Chat4AllInstruments.Count);
    }

    [Fact]
    public void AlertsCoverErrorsPipelineLagDeadLettersConsumerLagDatabasePoolAndReadiness()
    {
        var alerts = AlertQueries();

        Assert.Contains("> 0.05", alerts["Chat4AllHighErrorRate"], StringComparison.Ordinal);
        Assert.Contains("chat4all_outbox_publish_lag_seconds_bucket", alerts["Chat4AllOutboxLagHigh"], StringComparison.Ordinal);
        Assert.Contains("chat4all_outbox_pending", alerts["Chat4AllOutboxBacklogGrowing"], StringComparison.Ordinal);
        Assert.Contains("dead_letter", alerts["Chat4AllDeadLettersGrowing"], StringComparison.Ordinal);
        Assert.Contains("> 10000", alerts["Chat4AllConsumerLagHigh"], StringComparison.Ordinal);
        Assert.Contains("db_client_connection_max", alerts["Chat4AllDbPoolExhausted"], StringComparison.Ordinal);
        Assert.Contains("kube_deployment_status_replicas_available", alerts["Chat4AllPodsNotReady"], StringComparison.Ordinal);
        foreach (var rule in AlertRules())
        {
            Assert.False(string.IsNullOrEmpty(rule.At("labels", "severity").Str()), $"{rule.Str("alert")} has no severity");
            Assert.False(string.IsNullOrEmpty(rule.At("annotations", "summary").Str()), $"{rule.Str("alert")} has no summary");
        }
    }

    [Fact]
    public void TheDashboardShowsApiPipelineWebSocketsUploadsAndDatabase()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Repository.PathOf("k8s/base/observability/dashboards/chat4all.json")));
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().ToList();

        var rows = panels.Where(p => p.GetProperty("type").GetString() == "row").Select(p => p.GetProperty("title").GetString()).ToList();
        Assert.Equal(["API health", "Message pipeline", "WebSockets", "Uploads", "Database"], rows);
        Assert.All(panels.Where(p => p.GetProperty("type").GetString() != "row"), p =>
            Assert.Contains(p.GetProperty("targets").EnumerateArray(), t => !string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString())));
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void PrometheusScrapesEveryTargetAndGrafanaLoadsTheDashboard(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);
        var monitor = rendered.One("ServiceMonitor", "chat4all");
        var selector = monitor.Spec.At("selector", "matchLabels") as YamlDotNet.RepresentationModel.YamlMappingNode;

        foreach (var target in Sources.AppIds)
        {
            var labels = rendered.One("Service", target).Root.At("metadata", "labels");
            Assert.All(selector!.Children, c => Assert.Equal(c.Value.Str(), labels.Str(c.Key.Str()!)));
        }

        Assert.Equal(("http", "/metrics"), (monitor.Spec.At("endpoints", 0).Str("port"), monitor.Spec.At("endpoints", 0).Str("path")));
        Assert.Contains(rendered.OfKind("PrometheusRule"), r => r.Name == "chat4all");
        var dashboards = rendered.One("ConfigMap", "chat4all-dashboards");
        Assert.Equal("1", dashboards.Root.At("metadata", "labels", "grafana_dashboard").Str());
        Assert.Equal(File.ReadAllText(Repository.PathOf("k8s/base/observability/dashboards/chat4all.json")).TrimEnd(),
            dashboards.Root.At("data", "chat4all.json").Str()!.TrimEnd());
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void TheAppsAndSidecarsSendOtlpToACollectorThatForwardsTracesToTempoAndLogsToLoki(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);
        var collector = rendered.One("Deployment", "otel-collector");
        var container = collector.Spec.At("template", "spec", "containers", 0);
        Assert.StartsWith("otel/opentelemetry-collector-contrib:", container.Str("image"), StringComparison.Ordinal);
        var service = rendered.One("Service", "otel-collector");
        Assert.Contains(service.Spec.Seq("ports"), p => p.Str("port") == "4317");

        var config = Yaml.Parse(rendered.One("ConfigMap", "otel-collector").Root.At("data", "config.yaml").Str()!, "otel-collector config")[0].Root;
        Assert.NotNull(config.At("receivers", "otlp", "protocols", "grpc"));
        Assert.Equal(["otlp/tempo"], config.At("service", "pipelines", "traces").Seq("exporters").Select(e => e.Str()));
        Assert.Equal(["otlphttp/loki"], config.At("service", "pipelines", "logs").Seq("exporters").Select(e => e.Str()));
        foreach (var pipeline in new[] { "traces", "logs" })
        {
            Assert.Equal(["otlp"], config.At("service", "pipelines", pipeline).Seq("receivers").Select(r => r.Str()));
            Assert.All(config.At("service", "pipelines", pipeline).Seq("exporters"), e => Assert.NotNull(config.At("exporters", e.Str()!)));
        }

        // The apps (traces and logs) and their sidecars (traces) point at that Service.
        var settings = rendered.OfKind("ConfigMap").Single(m => m.Name!.StartsWith("chat4all-config", StringComparison.Ordinal)); // name-suffixed
        Assert.Equal("http://otel-collector:4317", settings.Root.At("data", "OTEL_EXPORTER_OTLP_ENDPOINT").Str());
        Assert.Equal("otel-collector:4317", rendered.One("Configuration", "chat4all").Spec.At("tracing", "otel", "endpointAddress").Str());
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void GrafanaProvisionsMetricsLogsAndTracesWithLinksFromALogLinesTraceIdToItsTraceAndBack(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);
        var configMap = rendered.One("ConfigMap", "chat4all-grafana-datasources");
        Assert.Equal("1", configMap.Root.At("metadata", "labels", "grafana_datasource").Str());
        var sources = Yaml.Parse(configMap.Root.At("data", "chat4all-datasources.yaml").Str()!, "datasources")[0].Root.Seq("datasources");
        var byType = sources.ToDictionary(s => s.Str("type")!, s => s);
        Assert.Equal(["loki", "prometheus", "tempo"], byType.Keys.Order(StringComparer.Ordinal));

        var traceLink = byType["loki"].At("jsonData", "derivedFields", 0);
        Assert.Equal(byType["tempo"].Str("uid"), traceLink.Str("datasourceUid"));
        var match = Regex.Match("{\"level\":\"Information\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"message\":\"x\"}", traceLink.Str("matcherRegex")!);
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", match.Groups[1].Value);
        Assert.Equal(byType["loki"].Str("uid"), byType["tempo"].At("jsonData", "tracesToLogsV2").Str("datasourceUid"));
    }

    /// <summary>
    /// Metric names in a PromQL expression: identifiers left once label matchers ({...}), grouping
    /// clauses (by/without (...)) and quoted strings are removed, that are not functions or keywords.
    /// </summary>
    internal static IEnumerable<string> MetricNames(string expression)
    {
        var stripped = Grouping().Replace(Matchers().Replace(Quoted().Replace(expression, ""), " "), " ");
        return Identifier().Matches(stripped).Select(m => m.Value)
            .Where(name => !PromQlWords.Contains(name) && !Regex.IsMatch(stripped, $@"\b{Regex.Escape(name)}\s*\(", RegexOptions.None, TimeSpan.FromSeconds(1)));
    }

    private static readonly HashSet<string> PromQlWords = new(StringComparer.Ordinal)
    {
        "by", "without", "and", "or", "unless", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    };

    private static List<string> DashboardQueries()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Repository.PathOf("k8s/base/observability/dashboards/chat4all.json")));
        return [.. dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!.Replace("$__rate_interval", "5m", StringComparison.Ordinal))];
    }

    private static List<YamlDotNet.RepresentationModel.YamlNode> AlertRules() =>
        [.. Repository.Load("k8s/base/observability/alerts.yaml").Single().Spec.Seq("groups").SelectMany(g => g.Seq("rules"))];

    private static Dictionary<string, string> AlertQueries() =>
        AlertRules().ToDictionary(r => r.Str("alert")!, r => r.Str("expr")!, StringComparer.Ordinal);

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"\b(?:by|without)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b")]
    private static partial Regex Identifier();
}
