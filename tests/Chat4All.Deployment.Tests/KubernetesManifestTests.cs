using System.Globalization;
using Chat4All.Contracts;
using YamlDotNet.RepresentationModel;

namespace Chat4All.Deployment.Tests;

/// <summary>The rendered overlays: every target a Dapr app with its Service, HPA and PDB, hardened and probed pods, the migrate Job, TLS ingress.</summary>
public sealed class KubernetesManifestTests
{
    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void EveryTargetRunsAsItsOwnDaprAppWhoseIdIsTheTarget(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);
        var configuration = Assert.Single(rendered.OfKind("Configuration"));

        foreach (var target in Sources.AppIds)
        {
            var pod = rendered.One("Deployment", target).Spec.Map("template");
            var annotations = pod.Map("metadata").Map("annotations");
            var host = Container(pod);

            Assert.Equal("true", annotations.Str("dapr.io/enabled"));
            Assert.Equal(target, annotations.Str("dapr.io/app-id"));
            Assert.Equal(configuration.Name, annotations.Str("dapr.io/config"));
            Assert.Equal(ContainerPort(host, "http"), annotations.Str("dapr.io/app-port"));
            Assert.Equal(target, Env(host, "Chat4All__Targets"));
            Assert.Equal(target, Env(host, "APP_ID"));
        }
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void EveryTargetHasAServiceAnAutoscalerAndADisruptionBudgetThatSelectItsPods(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);

        foreach (var target in Sources.AppIds)
        {
            var deployment = rendered.One("Deployment", target);
            var podLabels = Labels(deployment.Spec.At("template", "metadata", "labels"));
            var service = rendered.One("Service", target);
            var hpa = rendered.One("HorizontalPodAutoscaler", target);
            var pdb = rendered.One("PodDisruptionBudget", target);

            Assert.True(Selects(service.Spec.Map("selector"), podLabels), $"{overlay}: Service {target} does not select its pods");
            Assert.Equal("http", service.Spec.At("ports", 0, "targetPort").Str());
            Assert.True(Selects(deployment.Spec.At("selector", "matchLabels"), podLabels));
            Assert.True(Selects(pdb.Spec.At("selector", "matchLabels"), podLabels), $"{overlay}: PDB {target} does not select its pods");
            Assert.Equal(("Deployment", target), (hpa.Spec.At("scaleTargetRef", "kind").Str(), hpa.Spec.At("scaleTargetRef", "name").Str()));
            var cpu = hpa.Spec.Seq("metrics").Single(m => m.At("containerResource", "name").Str() == "cpu" || m.At("resource", "name").Str() == "cpu");
            Assert.Equal("70", (cpu.At("containerResource", "target", "averageUtilization") ?? cpu.At("resource", "target", "averageUtilization")).Str());
            Assert.True(pdb.Spec.Str("maxUnavailable") is not null || pdb.Spec.Str("minAvailable") is not null);
        }
    }

    [Fact]
    public void ProductionRunsAtLeastThreeReplicasOfEveryTargetAndNoMoreThanItsBusiestTopicHasPartitions()
    {
        var rendered = Kustomize.Overlay("prod");
        var partitions = rendered.OfKind("KafkaTopic").ToDictionary(
            t => t.Spec.Str("topicName") ?? t.Name!, t => Number(t.Spec.Str("partitions")), StringComparer.Ordinal);

        foreach (var app in DaprApps.All)
        {
            var hpa = rendered.One("HorizontalPodAutoscaler", app.AppId);
            Assert.True(Number(rendered.One("Deployment", app.AppId).Spec.Str("replicas")) >= 3, $"{app.AppId}: fewer than 3 replicas");
            Assert.True(Number(hpa.Spec.Str("minReplicas")) >= 3, $"{app.AppId}: HPA may scale below 3");
            if (app.Subscriptions.Count > 0)
            {
                // A partition is consumed by one instance of a group: past the busiest topic's partition
                // count, added replicas would take no share of any topic.
                var busiest = app.Subscriptions.Max(t => partitions[t]);
                Assert.True(Number(hpa.Spec.Str("maxReplicas")) <= busiest,
                    $"{app.AppId} scales to {hpa.Spec.Str("maxReplicas")} replicas but its busiest topic has {busiest} partitions");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void EveryPodIsProbedSizedAndHardened(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);

        foreach (var target in Sources.AppIds)
        {
            var template = rendered.One("Deployment", target).Spec.Map("template")!;
            var pod = template.Map("spec");
            var host = Container(template);

            Assert.Equal(("/health", "http"), (host.At("livenessProbe", "httpGet", "path").Str(), host.At("livenessProbe", "httpGet", "port").Str()));
            Assert.Equal(("/ready", "http"), (host.At("readinessProbe", "httpGet", "path").Str(), host.At("readinessProbe", "httpGet", "port").Str()));
            Assert.NotNull(host.At("resources", "requests", "cpu").Str());
            Assert.NotNull(host.At("resources", "requests", "memory").Str());
            Assert.NotNull(host.At("resources", "limits", "memory").Str());
            Assert.Equal("true", pod.At("securityContext", "runAsNonRoot").Str());
            Assert.Equal("true", host.At("securityContext", "readOnlyRootFilesystem").Str());
            Assert.Equal("false", host.At("securityContext", "allowPrivilegeEscalation").Str());
            Assert.Equal("ALL", host.At("securityContext", "capabilities", "drop", 0).Str());
            Assert.Contains(host.Seq("volumeMounts"), m => m.Str("mountPath") == "/tmp");
        }
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void TheMigrateJobAppliesEveryServicesMigrationsWithoutASidecar(string overlay)
    {
        var job = Kustomize.Overlay(overlay).One("Job", "chat4all-migrate");
        var pod = job.Spec.Map("template");
        var container = pod.At("spec", "containers", 0);

        Assert.Equal(["migrate"], container.Seq("args").Select(a => a.Str()));
        Assert.Equal(Targets.All, Env(container, "Chat4All__Targets"));
        Assert.Equal("standalone", Env(container, "Chat4All__Runtime"));
        Assert.NotEqual("true", pod.At("metadata", "annotations", "dapr.io/enabled").Str());
        Assert.Equal("Never", pod.At("spec", "restartPolicy").Str());
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void EveryIngressServesTlsForItsHostsAndPointsAtServicesThatExist(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);
        var services = rendered.OfKind("Service").Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var ingresses = rendered.OfKind("Ingress").ToList();

        Assert.NotEmpty(ingresses);
        foreach (var ingress in ingresses)
        {
            var tlsHosts = ingress.Spec.Seq("tls").SelectMany(t => t.Seq("hosts")).Select(h => h.Str()).ToHashSet(StringComparer.Ordinal);
            Assert.NotEmpty(ingress.Spec.Seq("tls").Select(t => t.Str("secretName")).OfType<string>());
            foreach (var rule in ingress.Spec.Seq("rules"))
            {
                Assert.Contains(rule.Str("host"), tlsHosts);
                foreach (var path in rule.At("http").Seq("paths"))
                {
                    Assert.Contains(path.At("backend", "service", "name").Str(), services);
                }
            }

            Assert.Equal("true", ingress.Root.At("metadata", "annotations", "nginx.ingress.kubernetes.io/force-ssl-redirect").Str());
        }

        var websocket = ingresses.Single(i => i.Spec.At("rules", 0, "http").Seq("paths").Any(p => p.Str("path") == "/ws"));
        Assert.True(Number(websocket.Root.At("metadata", "annotations", "nginx.ingress.kubernetes.io/proxy-read-timeout").Str()) >= 3600,
            "WebSocket connections live for hours; the proxy must not cut them after a minute");
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void NoManifestWritesASecretLiterally(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);

        Assert.Empty(rendered.OfKind("Secret"));
        foreach (var workload in rendered.Manifests.Where(m => m.Kind is "Deployment" or "Job"))
        {
            foreach (var env in workload.Spec.At("template", "spec").Seq("containers").SelectMany(c => c.Seq("env")))
            {
                var name = env.Str("name")!;
                var value = env.Str("value");
                if (value is null)
                {
                    continue;
                }

                Assert.False(name.Contains("PASSWORD", StringComparison.OrdinalIgnoreCase) || name.Contains("Secret", StringComparison.Ordinal) || name.EndsWith("Key", StringComparison.Ordinal),
                    $"{workload}: {name} is a literal");
                var password = value.IndexOf("password=", StringComparison.OrdinalIgnoreCase);
                Assert.True(password < 0 || value.AsSpan(password + "password=".Length).StartsWith("$("), $"{workload}: {name} embeds a literal password");
            }
        }

        foreach (var config in rendered.OfKind("ConfigMap"))
        {
            Assert.DoesNotContain("password", config.Root.Map("data")?.ToString() ?? "", StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void TheSidecarsMayReadEverySecretTheComponentsReferenceAndNoOther(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);
        var referenced = Sources.Components(overlay)
            .SelectMany(c => c.DaprMetadata().Values)
            .Select(m => m.At("secretKeyRef", "name").Str())
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
        var role = Assert.Single(rendered.OfKind("Role"));

        var readable = role.Root.Seq("rules").SelectMany(r => r.Seq("resourceNames")).Select(n => n.Str()!).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(referenced.Order(StringComparer.Ordinal), readable.Order(StringComparer.Ordinal));
        Assert.Equal(["get"], role.Root.Seq("rules").SelectMany(r => r.Seq("verbs")).Select(v => v.Str()));
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void EveryResourceLivesInTheOverlaysNamespace(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);
        var ns = Assert.Single(rendered.OfKind("Namespace")).Name;

        foreach (var manifest in rendered.Manifests.Where(m => m.Kind is not "Namespace"))
        {
            Assert.True(manifest.Namespace == ns, $"{manifest} is in '{manifest.Namespace}', not '{ns}'");
        }
    }

    internal static YamlNode Container(YamlNode? podTemplate) =>
        podTemplate.At("spec").Seq("containers").Single(c => c.Str("name") == "host");

    internal static string? Env(YamlNode? container, string name) =>
        container.Seq("env").LastOrDefault(e => e.Str("name") == name)?.Str("value");

    private static string? ContainerPort(YamlNode container, string name) =>
        container.Seq("ports").Single(p => p.Str("name") == name).Str("containerPort");

    private static Dictionary<string, string> Labels(YamlNode? labels) =>
        (labels as YamlMappingNode)?.Children.ToDictionary(c => c.Key.Str()!, c => c.Value.Str()!, StringComparer.Ordinal) ?? [];

    private static bool Selects(YamlNode? selector, Dictionary<string, string> labels) =>
        selector is YamlMappingNode { Children.Count: > 0 } map
        && map.Children.All(c => labels.TryGetValue(c.Key.Str()!, out var value) && value == c.Value.Str());

    internal static int Number(string? value) => int.Parse(value ?? "0", CultureInfo.InvariantCulture);
}
