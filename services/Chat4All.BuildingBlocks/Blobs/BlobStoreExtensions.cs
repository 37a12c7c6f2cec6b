using Amazon.S3;
using Chat4All.BuildingBlocks.Blobs;
using Chat4All.BuildingBlocks.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class BlobStoreExtensions
{
    /// <summary>The readiness check's name; it carries the <c>ready</c> tag that <c>/ready</c> selects.</summary>
    public const string HealthCheckName = "blobs";

    /// <summary>
    /// Registers the singleton <see cref="IBlobStore"/> chosen by <c>Chat4All:Storage:Provider</c>
    /// (independent of the runtime): <c>directory</c> (default) → <see cref="FileSystemBlobStore"/>
    /// under <c>Storage:Directory:Path</c>, by default <c>{Chat4All:DataDirectory}/blobs</c>;
    /// <c>s3</c> → <see cref="S3BlobStore"/> with its own S3 client (keyed <see cref="S3BlobStore.ClientKey"/>).
    /// Options are validated on start; a <c>blobs</c> readiness check is added. Safe to call more than once.
    /// See docs/adr/0012-blob-store.md.
    /// </summary>
    public static IHostApplicationBuilder AddBlobStore(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(BlobStoreRegistration)))
        {
            return builder;
        }

        services.AddSingleton<BlobStoreRegistration>();
        if (!services.Any(d => d.ServiceType == typeof(IConfigureOptions<Chat4AllOptions>)))
        {
            // Usually bound by AddServiceDefaults; the default directory comes from DataDirectory.
            services.AddOptions<Chat4AllOptions>().BindConfiguration(Chat4AllOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        }

        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.SectionName)
            .PostConfigure<IOptions<Chat4AllOptions>>((storage, chat4all) =>
            {
                if (string.IsNullOrWhiteSpace(storage.Directory.Path) && !string.IsNullOrWhiteSpace(chat4all.Value.DataDirectory))
                {
                    storage.Directory.Path = Path.Combine(chat4all.Value.DataDirectory, "blobs");
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddKeyedSingleton<IAmazonS3>(S3BlobStore.ClientKey,
            (sp, _) => S3BlobStore.CreateClient(sp.GetRequiredService<IOptions<StorageOptions>>().Value.S3));
        services.TryAddSingleton<FileSystemBlobStore>();
        services.TryAddSingleton<S3BlobStore>();
        services.TryAddSingleton<IBlobStore>(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider switch
        {
            BlobStoreProvider.S3 => sp.GetRequiredService<S3BlobStore>(),
            _ => sp.GetRequiredService<FileSystemBlobStore>(),
        });

        // "ready" is the tag ServiceDefaults' /ready selects, next to postgres and redis.
        services.AddHealthChecks().AddCheck<BlobStoreHealthCheck>(HealthCheckName, tags: ["ready"], timeout: TimeSpan.FromSeconds(3));
        return builder;
    }
}

/// <summary>Marks the blob store as registered (AddBlobStore is idempotent).</summary>
internal sealed class BlobStoreRegistration;
