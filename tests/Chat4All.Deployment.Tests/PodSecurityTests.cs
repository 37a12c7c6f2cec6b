using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Chat4All.Deployment.Tests;

/// <summary>
/// The namespaces enforce Pod Security <c>restricted</c>: a pod whose containers lack its settings is not
/// admitted. These tests hold the rendered overlays, and the operator versions docs/deployment.md pins, to that.
/// </summary>
public sealed partial class PodSecurityTests
{
    /// <summary>The Kafka versions each Strimzi release accepts with <c>kafka.strimzi.io/v1beta2</c> (Strimzi's release notes).</summary>
    private static readonly Dictionary<string, string[]> StrimziKafkaVersions = new(StringComparer.Ordinal)
    {
        ["0.45.0"] = ["3.8.0", "3.8.1", "3.9.0"],
        ["0.46.0"] = ["3.9.0", "3.9.1", "4.0.0"],
        ["0.47.0"] = ["3.9.0", "3.9.1", "4.0.0"],
    };

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void EveryPodTemplateMeetsTheRestrictedPodSecurityStandard(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);
        Assert.Equal("restricted", Assert.Single(rendered.OfKind("Namespace")).Root.At("metadata", "labels", "pod-security.kubernetes.io/enforce").Str());

        var templates = rendered.Manifests
            .Where(m => m.Kind is "Deployment" or "StatefulSet" or "Job")
            .Select(m => (m.ToString(), Pod: m.Spec.At("template", "spec") as YamlMappingNode))
            .ToList();
        Assert.NotEmpty(templates);
        foreach (var (name, pod) in templates)
        {
            Assert.True(pod is not null, name);
            Assert.True(pod.Str("hostNetwork") is null or "false", name);
            AssertRestrictedPod(pod.Map("securityContext"), name);
            foreach (var container in pod.Seq("containers").Concat(pod.Seq("initContainers")).Cast<YamlMappingNode>())
            {
                AssertRestrictedContainer(container.Map("securityContext"), $"{name} container {container.Str("name")}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void TheRedisAndMinioResourcesCarryTheRestrictedSettingsTheirOperatorsCopyIntoPods(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);

        foreach (var redis in rendered.OfKind("RedisReplication").Concat(rendered.OfKind("RedisSentinel")))
        {
            AssertRestrictedPod(redis.Spec.Map("podSecurityContext"), redis.ToString());
            AssertRestrictedContainer(redis.Spec.Map("securityContext"), redis.ToString());
            // The exporter sidecar takes no securityContext, so restricted would reject the pod.
            Assert.NotEqual("true", redis.Spec.At("redisExporter", "enabled").Str());
        }

        foreach (var pool in rendered.OfKind("Tenant").SelectMany(t => t.Spec.Seq("pools")))
        {
            AssertRestrictedPod(pool.Map("securityContext"), "MinIO pool");
            AssertRestrictedContainer(pool.Map("containerSecurityContext"), "MinIO pool");
        }
    }

    [Fact]
    public void TheDeploymentGuidePinsTheOperatorVersionsTheManifestsAreWrittenFor()
    {
        var guide = File.ReadAllText(Path.Combine(Repository.Root, "docs", "deployment.md"));
        var strimzi = PinnedVersion(guide, "Strimzi");
        var kafka = Kustomize.Overlay("prod").OfKind("Kafka").Single();

        Assert.True(StrimziKafkaVersions.TryGetValue(strimzi, out var accepted), $"Strimzi {strimzi} is not one whose Kafka versions this test knows");
        Assert.Contains(kafka.Spec.At("kafka", "version").Str(), accepted);
        Assert.Equal("kafka.strimzi.io/v1beta2", kafka.Root.Str("apiVersion"));
        Assert.Matches(@"^1\.18\.\d+$", PinnedVersion(guide, "Dapr"));
        Assert.Matches(@"^\d+\.\d+\.\d+", PinnedVersion(guide, "CloudNativePG"));
        Assert.Matches(@"^\d+\.\d+\.\d+$", PinnedVersion(guide, "Opstree redis-operator"));
        // Without these, the operators' and Dapr's own containers are not admitted.
        Assert.Contains("dapr_sidecar_injector.sidecarDropALLCapabilities=true", guide, StringComparison.Ordinal);
        Assert.Contains("STRIMZI_POD_SECURITY_PROVIDER_CLASS\",\"value\":\"restricted\"", guide, StringComparison.Ordinal);
    }

    private static string PinnedVersion(string guide, string component)
    {
        var match = Regex.Match(guide, $@"^\| {Regex.Escape(component)} \| (\d+\.\d+\.\d+)", RegexOptions.Multiline);
        Assert.True(match.Success, $"docs/deployment.md pins no exact version of {component}");
        return match.Groups[1].Value;
    }

    private static void AssertRestrictedPod(YamlMappingNode? context, string owner)
    {
        Assert.True(context is not null, $"{owner} has no pod securityContext");
        Assert.True(context.Str("runAsNonRoot") == "true", $"{owner}: runAsNonRoot");
        Assert.True(context.At("seccompProfile", "type").Str() == "RuntimeDefault", $"{owner}: seccompProfile RuntimeDefault");
    }

    private static void AssertRestrictedContainer(YamlMappingNode? context, string owner)
    {
        Assert.True(context is not null, $"{owner} has no container securityContext");
        Assert.True(context.Str("allowPrivilegeEscalation") == "false", $"{owner}: allowPrivilegeEscalation false");
        Assert.True(context.Str("privileged") is null or "false", $"{owner}: not privileged");
        Assert.True(context.At("capabilities", "drop") is YamlSequenceNode drop && drop.Children.Any(c => c.Str() == "ALL"), $"{owner}: capabilities.drop ALL");
        Assert.True(context.At("capabilities", "add") is null, $"{owner}: adds no capabilities");
    }
}
