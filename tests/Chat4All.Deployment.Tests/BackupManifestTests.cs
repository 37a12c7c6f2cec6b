namespace Chat4All.Deployment.Tests;

/// <summary>Production backs PostgreSQL up to MinIO: WAL archived continuously, a scheduled base backup, into a bucket the tenant creates.</summary>
public sealed class BackupManifestTests
{
    [Fact]
    public void ProductionArchivesWalAndTakesScheduledBaseBackupsOfTheDatabaseIntoAMinioBucket()
    {
        var rendered = Kustomize.Overlay("prod");
        var cluster = rendered.One("Cluster", "chat4all-db");
        var store = cluster.Spec.At("backup", "barmanObjectStore");
        var schedule = Assert.Single(rendered.OfKind("ScheduledBackup"));
        var buckets = rendered.One("Tenant", "minio").Spec.Seq("buckets").Select(b => b.Str("name")).ToList();

        Assert.NotNull(store);
        var destination = store.Str("destinationPath");
        Assert.StartsWith("s3://", destination, StringComparison.Ordinal);
        Assert.Contains(destination!["s3://".Length..].TrimEnd('/'), buckets);
        Assert.Equal("http://minio", store.Str("endpointURL"));
        Assert.NotNull(store.At("wal", "compression"));
        Assert.Equal("chat4all-db", schedule.Spec.At("cluster", "name").Str());
        Assert.Equal("barmanObjectStore", schedule.Spec.Str("method"));
        Assert.Equal(6, schedule.Spec.Str("schedule")!.Split(' ').Length);
    }

    [Fact]
    public void DevelopmentTakesNoBackups()
    {
        var rendered = Kustomize.Overlay("dev");

        Assert.Empty(rendered.OfKind("ScheduledBackup"));
        Assert.Null(rendered.One("Cluster", "chat4all-db").Spec.At("backup"));
    }
}
