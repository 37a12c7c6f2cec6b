using System.Text.RegularExpressions;
using Chat4All.Contracts;
using YamlDotNet.RepresentationModel;

namespace Chat4All.Deployment.Tests;

/// <summary>
/// The Dapr components the code names (Chat4All.Contracts.Components) against components/ (local)
/// and the rendered overlays (cluster): the same names, scopes that give each app exactly what it uses
/// (DaprApps), the outbox wiring, one actor store, and secrets only through the secret store.
/// </summary>
public sealed partial class DaprComponentsTests
{
    [Theory]
    [MemberData(nameof(Sources.ComponentSources), MemberType = typeof(Sources))]
    public void EveryComponentTheCodeNamesExistsExactlyOnce(string source)
    {
        var names = Sources.Components(source).Select(c => c.Name).ToList();

        Assert.Equal(Sources.ComponentNames.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Sources.ComponentSources), MemberType = typeof(Sources))]
    public void EachComponentIsScopedToExactlyTheAppsThatUseIt(string source)
    {
        var components = Sources.Components(source).ToDictionary(c => c.Name!, StringComparer.Ordinal);
        var usesSecrets = Sources.AppsWhere(a => a.UsesPubSub || a.UsesActorStore);

        Assert.Equal(Sources.AppsWhere(a => a.UsesPubSub), components[Components.PubSub].Scopes());
        Assert.Equal(Sources.AppsWhere(a => a.UsesActorStore), components[Components.ActorStore].Scopes());
        Assert.Equal(usesSecrets, components[Components.SecretStore].Scopes());
    }

    [Theory]
    [MemberData(nameof(Sources.ComponentSources), MemberType = typeof(Sources))]
    public void NoComponentTurnsOnDaprsStateStoreOutbox(string source)
    {
        // ADR 0016: Dapr's outbox panics on two projections, rewrites event ids, drops partition keys and
        // waits 1 s per message; state events go through the service's own outbox and Dapr pub/sub instead.
        var components = Sources.Components(source).ToList();

        Assert.DoesNotContain(components, c => c.Name == "statestore");
        Assert.All(components, c => Assert.DoesNotContain(c.DaprMetadata().Keys, key => key.StartsWith("outbox", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(Sources.ComponentSources), MemberType = typeof(Sources))]
    public void ActorsAndWorkflowsHaveOneRedisActorStore(string source)
    {
        var actorStores = Sources.Components(source)
            .Where(c => c.DaprMetadata().TryGetValue("actorStateStore", out var flag) && flag.Str("value") == "true")
            .ToList();

        var store = Assert.Single(actorStores);
        Assert.Equal(Components.ActorStore, store.Name);
        Assert.Equal("state.redis", store.Spec.Str("type"));
    }

    [Theory]
    [MemberData(nameof(Sources.ComponentSources), MemberType = typeof(Sources))]
    public void ThePubSubIsKafkaWithAConsumerGroupPerAppAndRoomForTheLargestEvent(string source)
    {
        var pubsub = Sources.Components(source).Single(c => c.Name == Components.PubSub);
        var metadata = pubsub.DaprMetadata();

        Assert.Equal("pubsub.kafka", pubsub.Spec.Str("type"));
        Assert.Equal("{appID}", metadata["consumerGroup"].Str("value"));
        // message.created with a 4,096-character text and 100 members is about 21 KiB (components/pubsub.yaml).
        var maxMessageBytes = int.Parse(metadata["maxMessageBytes"].Str("value")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(maxMessageBytes, 64 * 1024, 1024 * 1024);
    }

    [Theory]
    [MemberData(nameof(Sources.ComponentSources), MemberType = typeof(Sources))]
    public void NoComponentCarriesALiteralSecret(string source)
    {
        foreach (var component in Sources.Components(source))
        {
            AssertSecretsComeFromTheSecretStore(component);
        }
    }

    [Fact]
    public void TheRedisStreamsAlternativeKeepsItsStreamsSmallEnoughNotToFillTheSharedRedis()
    {
        var redis = Repository.Load("components/alternatives/pubsub-redis.yaml").Single();

        // ~12 streams × 2,000 × 21 KiB max ≈ 500 MiB: within the shared 1 GiB noeviction Redis even at worst.
        Assert.InRange(int.Parse(redis.DaprMetadata()["maxLenApprox"].Str("value")!, System.Globalization.CultureInfo.InvariantCulture), 1, 2_000);
    }

    [Fact]
    public void EveryAlternativeReplacesAComponentByNameWithTheSameScopesAndNoLiteralSecret()
    {
        var local = Sources.Components(Sources.Local).ToDictionary(c => c.Name!, StringComparer.Ordinal);
        var alternatives = Directory.EnumerateFiles(Repository.PathOf("components/alternatives"), "*.yaml")
            .SelectMany(f => Repository.Load(Path.GetRelativePath(Repository.Root, f)))
            .ToList();

        Assert.True(alternatives.Count >= 2, "components/alternatives/ should offer at least two brokers");
        foreach (var alternative in alternatives)
        {
            Assert.True(local.TryGetValue(alternative.Name!, out var replaced), $"{alternative} replaces no component");
            Assert.NotEqual(replaced.Spec.Str("type"), alternative.Spec.Str("type"));
            Assert.Equal(replaced.Scopes(), alternative.Scopes());
            AssertSecretsComeFromTheSecretStore(alternative);
        }
    }

    [Theory]
    [MemberData(nameof(Sources.ComponentSources), MemberType = typeof(Sources))]
    public void ResiliencyCoversEveryComponentTheActorAndEveryAppWithPoliciesThatExist(string source)
    {
        var resiliency = Assert.Single(Sources.DaprResources(source), r => r.Kind == "Resiliency");
        var policies = resiliency.Spec.Map("policies");
        var targets = resiliency.Spec.Map("targets");

        Assert.Equal(Sources.AppIds, resiliency.Scopes());
        Assert.Equal(Sources.ComponentNames.Where(n => n != Components.SecretStore).Order(StringComparer.Ordinal), Keys(targets.Map("components")));
        Assert.Equal(Sources.ConstantsOf(typeof(Actors)), Keys(targets.Map("actors")));
        Assert.Equal(Sources.AppIds, Keys(targets.Map("apps")));
        // Event delivery to the apps is retried, then dead-lettered (ADR 0005).
        Assert.NotNull(targets.At("components", Components.PubSub, "inbound", "retry").Str());

        foreach (var reference in References(targets))
        {
            var kind = reference.Key switch { "timeout" => "timeouts", "retry" => "retries", _ => "circuitBreakers" };
            Assert.True(policies.Map(kind)?.Get(reference.Value) is not null, $"{source}: resiliency target uses {reference.Key} '{reference.Value}', which is not defined");
        }
    }

    [Fact]
    public void TheClusterRunsTheSameResiliencyPoliciesAsALocalRun()
    {
        var local = Assert.Single(Sources.DaprResources(Sources.Local), r => r.Kind == "Resiliency");
        var cluster = Repository.Load("k8s/base/dapr/resiliency.yaml").Single();

        Assert.Equal(Canonical(local.Root), Canonical(cluster.Root));
    }

    [Theory]
    [MemberData(nameof(Sources.ComponentSources), MemberType = typeof(Sources))]
    public void TheSidecarConfigurationTracesToAnOtlpCollectorAndDeniesTheSecretsApi(string source)
    {
        var configuration = Assert.Single(Sources.DaprResources(source), r => r.Kind == "Configuration");

        Assert.Equal("chat4all", configuration.Name);
        Assert.NotEmpty(configuration.Spec.At("tracing", "otel", "endpointAddress").Str() ?? "");
        Assert.Equal("grpc", configuration.Spec.At("tracing", "otel", "protocol").Str());
        var scope = configuration.Spec.At("secrets", "scopes", 0);
        Assert.Equal((Components.SecretStore, "deny"), (scope.Str("storeName"), scope.Str("defaultAccess")));
    }

    private static void AssertSecretsComeFromTheSecretStore(Manifest component)
    {
        var usesSecrets = false;
        foreach (var (name, item) in component.DaprMetadata())
        {
            if (item.Get("secretKeyRef") is YamlMappingNode reference)
            {
                usesSecrets = true;
                Assert.False(string.IsNullOrEmpty(reference.Str("name")), $"{component}: {name} secretKeyRef without a name");
            }
            else if (Sensitive().IsMatch(name))
            {
                Assert.Fail($"{component}: '{name}' is a literal; secrets come from the secret store (secretKeyRef)");
            }
        }

        if (usesSecrets)
        {
            Assert.Equal(Components.SecretStore, component.Root.At("auth", "secretStore").Str());
        }
    }

    private static List<string> Keys(YamlMappingNode? map) =>
        [.. (map?.Children.Keys ?? []).Select(k => k.Str() ?? "").Order(StringComparer.Ordinal)];

    private static IEnumerable<KeyValuePair<string, string>> References(YamlNode? node)
    {
        if (node is not YamlMappingNode map)
        {
            yield break;
        }

        foreach (var (key, value) in map.Children)
        {
            if (key.Str() is "timeout" or "retry" or "circuitBreaker" && value.Str() is { } policy)
            {
                yield return new(key.Str()!, policy);
            }
            else
            {
                foreach (var nested in References(value))
                {
                    yield return nested;
                }
            }
        }
    }

    private static string Canonical(YamlNode node) => node switch
    {
        YamlMappingNode map => "{" + string.Join(",", map.Children.OrderBy(c => c.Key.Str(), StringComparer.Ordinal).Select(c => $"{c.Key.Str()}:{Canonical(c.Value)}")) + "}",
        YamlSequenceNode seq => "[" + string.Join(",", seq.Children.Select(Canonical)) + "]",
        _ => node.Str() ?? "",
    };

    [GeneratedRegex("(?i)password|secret|token|connectionstring|cert|accesskey|^uri$|url$")]
    private static partial Regex Sensitive();
}
