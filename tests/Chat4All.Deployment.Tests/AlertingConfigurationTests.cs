using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Chat4All.Deployment.Tests;

/// <summary>
/// The alert rules and the Alertmanager routes, checked by Prometheus' and Alertmanager's own tools
/// (Debian's promtool and amtool, through <c>scripts/observability.sh check</c>).
/// </summary>
public sealed partial class AlertingConfigurationTests
{
    [Fact]
    public async Task EveryAlertRulePassesItsPromtoolUnitTestsAndTheAlertmanagerConfigurationIsValid()
    {
        var (exitCode, output) = await LocalMonitoring.RunScriptAsync(new Dictionary<string, string>(), "check");

        Assert.True(exitCode == 0, output);
        Assert.Contains($"SUCCESS: {AlertNames().Count} rules found", output, StringComparison.Ordinal);
        Assert.Matches(@"Unit Testing:.*alerts\.test\.yml\s+SUCCESS", output);
        Assert.Matches(@"Checking '.*alertmanager\.yml'\s+SUCCESS", output);
    }

    [Fact]
    public void EveryAlertRuleHasAUnitTestInWhichItFires()
    {
        var tests = Yaml.Parse(File.ReadAllText(Repository.PathOf("observability/prometheus/alerts.test.yml")), "alerts.test.yml").Single().Root;
        var firing = tests.Seq("tests")
            .SelectMany(t => t.Seq("alert_rule_test"))
            .Where(t => t.Seq("exp_alerts").Any())
            .Select(t => t.Str("alertname")!)
            .ToHashSet(StringComparer.Ordinal);

        Assert.Empty(AlertNames().Except(firing));
        Assert.Empty(firing.Except(AlertNames()));
    }

    [Fact]
    public void AlertsCoverDatabaseReplicationRedisFailoverKafkaReplicationAndCriticalDeadLetters()
    {
        var rules = AlertRules().ToDictionary(r => r.Str("alert")!, StringComparer.Ordinal);

        Assert.Contains("cnpg_pg_replication_lag", rules["Chat4AllPostgresReplicationLagHigh"].Str("expr"), StringComparison.Ordinal);
        Assert.Contains("cnpg_pg_replication_streaming_replicas", rules["Chat4AllPostgresNoSyncStandby"].Str("expr"), StringComparison.Ordinal);
        Assert.Contains("redis_sentinel_master_status", rules["Chat4AllRedisFailover"].Str("expr"), StringComparison.Ordinal);
        Assert.Contains("redis_sentinel_master_ok_slaves", rules["Chat4AllRedisNoReplica"].Str("expr"), StringComparison.Ordinal);
        Assert.Contains("kafka_topic_partition_under_replicated_partition", rules["Chat4AllKafkaUnderReplicatedPartitions"].Str("expr"), StringComparison.Ordinal);
        Assert.Equal("critical", rules["Chat4AllDeadLettersCritical"].At("labels", "severity").Str());
        Assert.All(rules.Values, rule => Assert.StartsWith("https://", rule.At("annotations", "runbook_url").Str(), StringComparison.Ordinal));
    }

    [Fact]
    public void AlertmanagerRoutesCriticalToPagerDutyWarningsToSlackAndTheRestByEmailWithSecretsOnlyFromFiles()
    {
        var text = File.ReadAllText(Repository.PathOf("observability/alertmanager/alertmanager.yml"));
        var config = Yaml.Parse(text, "alertmanager.yml").Single().Root;
        var route = config.Map("route")!;
        var routes = route.Seq("routes").Select(r => (Receiver: r.Str("receiver"), Matchers: string.Join(',', r.Seq("matchers").Select(m => m.Str())))).ToList();

        Assert.Equal("email-ops", route.Str("receiver"));
        Assert.Contains(("pagerduty-oncall", "severity=\"critical\""), routes);
        Assert.Contains(("slack-alerts", "severity=~\"critical|warning\""), routes);
        Assert.Equal(["email-ops", "pagerduty-oncall", "slack-alerts"],
            config.Seq("receivers").Select(r => r.Str("name")!).Order(StringComparer.Ordinal));

        // Secrets come from files (a mounted Secret), never inline.
        var global = config.Map("global")!;
        Assert.EndsWith("/slack_webhook_url", global.Str("slack_api_url_file"), StringComparison.Ordinal);
        Assert.EndsWith("/smtp_password", global.Str("smtp_auth_password_file"), StringComparison.Ordinal);
        Assert.EndsWith("/pagerduty_routing_key", config.Seq("receivers").Single(r => r.Str("name") == "pagerduty-oncall")
            .Seq("pagerduty_configs").Single().Str("routing_key_file"), StringComparison.Ordinal);
        Assert.DoesNotMatch(InlineSecret(), text);
    }

    private static List<YamlNode> AlertRules() =>
        [.. Repository.Load("k8s/base/observability/alerts.yaml").Single().Spec.Seq("groups").SelectMany(g => g.Seq("rules"))];

    private static HashSet<string> AlertNames() => AlertRules().Select(r => r.Str("alert")!).ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex(@"\b(api_url|routing_key|service_key|smtp_auth_password|auth_password):")]
    private static partial Regex InlineSecret();
}
