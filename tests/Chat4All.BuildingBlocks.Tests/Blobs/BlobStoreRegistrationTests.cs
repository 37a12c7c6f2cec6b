using Amazon.S3;
using Chat4All.BuildingBlocks.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Tests.Blobs;

public sealed class BlobStoreRegistrationTests : IDisposable
{
    private readonly TemporaryDirectory _data = new("chat4all-blobs-data-");

    public void Dispose() => _data.Dispose();

    [Fact]
    public void TheDirectoryStoreIsTheDefaultAndLivesUnderTheDataDirectory()
    {
        using var host = Build(new() { ["Chat4All:DataDirectory"] = _data.Path });

        var store = Assert.IsType<FileSystemBlobStore>(host.Services.GetRequiredService<IBlobStore>());
        Assert.Equal(Path.Combine(_data.Path, "blobs"), store.Root);
    }

    [Fact]
    public void AnExplicitDirectoryWinsOverTheDataDirectory()
    {
        var root = Path.Combine(_data.Path, "elsewhere");
        using var host = Build(new() { ["Chat4All:DataDirectory"] = _data.Path, ["Chat4All:Storage:Directory:Path"] = root });

        Assert.Equal(root, Assert.IsType<FileSystemBlobStore>(host.Services.GetRequiredService<IBlobStore>()).Root);
    }

    [Fact]
    public void TheS3ProviderUsesItsOwnKeyedClientConfiguredFromOptions()
    {
        using var host = Build(new()
        {
            ["Chat4All:Storage:Provider"] = "s3",
            ["Chat4All:Storage:S3:ServiceUrl"] = "http://127.0.0.1:9000",
            ["Chat4All:Storage:S3:Bucket"] = "chat4all-files",
            ["Chat4All:Storage:S3:AccessKey"] = "minio",
            ["Chat4All:Storage:S3:SecretKey"] = "minio-secret",
        });

        Assert.IsType<S3BlobStore>(host.Services.GetRequiredService<IBlobStore>());
        var client = host.Services.GetRequiredKeyedService<IAmazonS3>(S3BlobStore.ClientKey);
        var config = Assert.IsType<AmazonS3Config>(client.Config);
        Assert.True(config.ForcePathStyle);
        Assert.Equal("http://127.0.0.1:9000/", config.ServiceURL);
        Assert.Equal("us-east-1", config.AuthenticationRegion);
        Assert.Null(host.Services.GetService<IAmazonS3>()); // nothing else's S3 client is claimed
    }

    [Fact]
    public void DefaultsAreTheDocumentedOnes()
    {
        var options = new StorageOptions();

        Assert.Equal(BlobStoreProvider.Directory, options.Provider);
        Assert.Equal("us-east-1", options.S3.Region);
        Assert.True(options.S3.ForcePathStyle);
        Assert.False(options.S3.CreateBucket);
        Assert.Equal(TimeSpan.FromMinutes(15), options.S3.PresignedUrlLifetime);
    }

    [Fact]
    public void AddingTheBlobStoreTwiceRegistersItOnce()
    {
        var builder = NewBuilder(new() { ["Chat4All:DataDirectory"] = _data.Path });
        builder.AddBlobStore();
        builder.AddBlobStore();

        Assert.Single(builder.Services, d => d.ServiceType == typeof(IBlobStore));
        using var host = builder.Build();
        var check = Assert.Single(host.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations);
        Assert.Equal(("blobs", true), (check.Name, check.Tags.Contains("ready")));
    }

    [Fact]
    public async Task TheReadinessCheckPassesWhenTheDirectoryIsWritable()
    {
        using var host = Build(new() { ["Chat4All:DataDirectory"] = _data.Path });

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.Equal(HealthStatus.Healthy, report.Entries["blobs"].Status);
    }

    [Fact]
    public async Task TheReadinessCheckFailsWhenTheBucketCannotBeReached()
    {
        using var host = Build(new()
        {
            ["Chat4All:Storage:Provider"] = "s3",
            ["Chat4All:Storage:S3:ServiceUrl"] = "http://127.0.0.1:1",
            ["Chat4All:Storage:S3:Bucket"] = "chat4all-files",
            ["Chat4All:Storage:S3:AccessKey"] = "a",
            ["Chat4All:Storage:S3:SecretKey"] = "b",
        });

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.Equal(HealthStatus.Unhealthy, report.Entries["blobs"].Status);
    }

    [Theory]
    [InlineData("Provider=directory", "Chat4All:DataDirectory")] // neither a path nor a data directory
    [InlineData("Provider=s3", "Bucket")]
    [InlineData("Provider=s3;S3:Bucket=Not_A_Bucket", "Bucket")]
    [InlineData("Provider=s3;S3:Bucket=files;S3:AccessKey=only-the-key", "SecretKey")]
    [InlineData("Provider=s3;S3:Bucket=files;S3:ServiceUrl=ftp://127.0.0.1", "ServiceUrl")]
    [InlineData("Provider=s3;S3:Bucket=files;S3:PresignedUrlLifetime=8.00:00:00", "PresignedUrlLifetime")]
    [InlineData("Provider=tape", "Provider")]
    public async Task MisconfiguredStorageRefusesToStart(string storage, string named)
    {
        var settings = storage.Split(';').Select(s => s.Split('=', 2))
            .ToDictionary(kv => $"Chat4All:Storage:{kv[0]}", kv => (string?)kv[1]);
        var builder = NewBuilder(settings);
        builder.AddBlobStore();
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.True(error is OptionsValidationException or InvalidOperationException, error.ToString());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = NewBuilder(settings);
        builder.AddBlobStore();
        return builder.Build();
    }

    private static HostApplicationBuilder NewBuilder(Dictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }
}
