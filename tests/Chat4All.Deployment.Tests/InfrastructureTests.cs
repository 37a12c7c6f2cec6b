using System.Text.Json;
using Chat4All.Contracts;
using static Chat4All.Deployment.Tests.KubernetesManifestTests;

namespace Chat4All.Deployment.Tests;

/// <summary>
/// The operator-managed infrastructure in the rendered overlays: every topic the code uses exists with
/// its dead-letter topic, production is highly available, and the components point at what the
/// operators actually create (service and secret names).
/// </summary>
public sealed class InfrastructureTests
{
    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void EveryTopicTheCodeUsesExistsWithADeadLetterTopicPerSubscription(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);
        var topics = TopicNames(rendered);
        var ns = Assert.Single(rendered.OfKind("Namespace")).Name;

        Assert.All(Sources.TopicNames, t => Assert.Contains(t, topics));
        Assert.All(DaprApps.SubscribedTopics, t => Assert.Contains(Topics.DeadLetterOf(t), topics));
        // No Dapr state-store outbox (ADR 0016), so no internal {namespace}{app-id}{topic}outbox topic either.
        Assert.DoesNotContain(topics, t => t.EndsWith("outbox", StringComparison.Ordinal));
        Assert.Equal("false", Assert.Single(rendered.OfKind("Kafka")).Spec.At("kafka", "config", "auto.create.topics.enable").Str());
    }

    [Fact]
    public void ProductionKafkaHasThreeBrokersAndEveryTopicThreeReplicasWithTwoInSync()
    {
        var rendered = Kustomize.Overlay("prod");
        var kafka = Assert.Single(rendered.OfKind("Kafka"));
        var brokers = rendered.OfKind("KafkaNodePool").Where(p => p.Spec.Seq("roles").Any(r => r.Str() == "broker")).ToList();
        var controllers = rendered.OfKind("KafkaNodePool").Where(p => p.Spec.Seq("roles").Any(r => r.Str() == "controller")).ToList();

        Assert.True(brokers.Sum(p => Number(p.Spec.Str("replicas"))) >= 3);
        Assert.True(controllers.Sum(p => Number(p.Spec.Str("replicas"))) >= 3);
        Assert.Equal("3", kafka.Spec.At("kafka", "config", "default.replication.factor").Str());
        Assert.Equal("2", kafka.Spec.At("kafka", "config", "min.insync.replicas").Str());
        Assert.All(rendered.OfKind("KafkaTopic"), topic =>
        {
            Assert.Equal("3", topic.Spec.Str("replicas"));
            Assert.Equal("2", topic.Spec.At("config", "min.insync.replicas").Str());
            Assert.Equal(kafka.Name, topic.Root.At("metadata", "labels", "strimzi.io/cluster").Str());
        });
    }

    [Fact]
    public void ProductionPostgresIsAThreeInstanceCloudNativePgClusterWithASynchronousReplica()
    {
        var cluster = Assert.Single(Kustomize.Overlay("prod").OfKind("Cluster"));

        Assert.StartsWith("postgresql.cnpg.io/", cluster.Root.Str("apiVersion"), StringComparison.Ordinal);
        Assert.Equal("3", cluster.Spec.Str("instances"));
        Assert.Equal("1", cluster.Spec.Str("minSyncReplicas"));
    }

    [Fact]
    public void ProductionRedisIsReplicatedAndWatchedBySentinels()
    {
        var rendered = Kustomize.Overlay("prod");
        var replication = Assert.Single(rendered.OfKind("RedisReplication"));
        var sentinel = Assert.Single(rendered.OfKind("RedisSentinel"));

        Assert.Equal("3", replication.Spec.Str("clusterSize"));
        Assert.Equal("3", sentinel.Spec.Str("clusterSize"));
        Assert.Equal(replication.Name, sentinel.Spec.At("redisSentinelConfig", "redisReplicationName").Str());
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void ComponentsAndAppsPointAtWhatTheOperatorsCreate(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);
        var components = Sources.Components(overlay).ToDictionary(c => c.Name!, StringComparer.Ordinal);
        var kafka = Assert.Single(rendered.OfKind("Kafka")).Name;
        var postgres = Assert.Single(rendered.OfKind("Cluster")).Name;
        var sentinel = Assert.Single(rendered.OfKind("RedisSentinel"));
        var kafkaUsers = rendered.OfKind("KafkaUser").Select(u => u.Name).ToList();
        var pubsub = components[Components.PubSub].DaprMetadata();
        var actorStore = components[Components.ActorStore].DaprMetadata();

        Assert.StartsWith($"{kafka}-kafka-bootstrap:", pubsub["brokers"].Str("value"), StringComparison.Ordinal);
        Assert.Contains(pubsub["saslUsername"].Str("value"), kafkaUsers);
        Assert.Equal(pubsub["saslUsername"].Str("value"), pubsub["saslPassword"].At("secretKeyRef", "name").Str());
        Assert.Equal($"{kafka}-cluster-ca-cert", pubsub["caCert"].At("secretKeyRef", "name").Str());
        Assert.Equal($"{sentinel.Name}-sentinel:26379", actorStore["redisHost"].Str("value"));
        Assert.Equal(sentinel.Spec.At("redisSentinelConfig", "masterGroupName").Str(), actorStore["sentinelMasterName"].Str("value"));
        foreach (var target in Sources.AppIds)
        {
            var host = Container(rendered.One("Deployment", target).Spec.Map("template")!);
            Assert.Contains($"Host={postgres}-rw;", Env(host, "ConnectionStrings__Postgres"), StringComparison.Ordinal);
            Assert.StartsWith($"{sentinel.Name}-sentinel:26379,serviceName={actorStore["sentinelMasterName"].Str("value")},", Env(host, "ConnectionStrings__Redis"), StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Sources.Overlays), MemberType = typeof(Sources))]
    public void TheFilesBucketExistsAndAbandonedChunksExpire(string overlay)
    {
        var rendered = Kustomize.Overlay(overlay);
        var tenant = Assert.Single(rendered.OfKind("Tenant"));
        var config = rendered.OfKind("ConfigMap").Single(c => c.Name!.StartsWith("chat4all-config", StringComparison.Ordinal));

        var bucket = config.Root.At("data", "Chat4All__Storage__S3__Bucket").Str();
        Assert.Contains(bucket, tenant.Spec.Seq("buckets").Select(b => b.Str("name")));
        Assert.Equal($"http://{tenant.Name}", config.Root.At("data", "Chat4All__Storage__S3__ServiceUrl").Str());
        // MinIO's lifecycle for incomplete multipart uploads (what an abandoned upload leaves).
        Assert.Contains(tenant.Spec.Seq("env"), e => e.Str("name") == "MINIO_API_STALE_UPLOADS_EXPIRY" && e.Str("value") is { Length: > 0 });
        // The same rule for AWS S3.
        using var lifecycle = JsonDocument.Parse(File.ReadAllText(Repository.PathOf("k8s/base/infra/s3-bucket-lifecycle.json")));
        var rule = Assert.Single(lifecycle.RootElement.GetProperty("Rules").EnumerateArray());
        Assert.True(rule.GetProperty("AbortIncompleteMultipartUpload").GetProperty("DaysAfterInitiation").GetInt32() >= 1);
    }

    private static HashSet<string> TopicNames(Rendered rendered) =>
        rendered.OfKind("KafkaTopic").Select(t => t.Spec.Str("topicName") ?? t.Name!).ToHashSet(StringComparer.Ordinal);
}
