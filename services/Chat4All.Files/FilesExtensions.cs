using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Contracts;
using Chat4All.Files;
using Chat4All.Files.Assembly;
using Chat4All.Files.Cleanup;
using Chat4All.Files.Data;
using Chat4All.Files.Downloads;
using Chat4All.Files.Memberships;
using Chat4All.Files.Uploads;
using Dapr.Workflow;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

public static class FilesExtensions
{
    /// <summary>
    /// The files service: resumable chunked uploads into the blob store, assembly (Dapr Workflow in
    /// the dapr runtime, the durable runner in standalone), downloads, and the purge of expired uploads.
    /// </summary>
    public static IHostApplicationBuilder AddFilesService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<FilesOptions>().BindConfiguration(FilesOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.AddServiceDbContext<FilesDbContext>(FilesDbContext.Schema);
        builder.AddEventBus();
        builder.AddOutboxRelay<FilesDbContext>();
        builder.AddBlobStore();
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<FilesMetrics>();
        builder.Services.AddScoped<AssemblyActivities>();
        builder.AddEventSubscription<ConversationCreatedConsumer>(Topics.ConversationCreated, Targets.Files);
        builder.AddEventSubscription<MemberAddedConsumer>(Topics.ConversationMemberAdded, Targets.Files);
        builder.AddEventSubscription<MemberRemovedConsumer>(Topics.ConversationMemberRemoved, Targets.Files);
        builder.Services.AddHostedService<UploadPurger>();

        var runtime = builder.Configuration.GetSection(Chat4AllOptions.SectionName).Get<Chat4AllOptions>()?.Runtime ?? Chat4AllRuntime.Standalone;
        if (runtime is Chat4AllRuntime.Dapr)
        {
            // The workflow worker connects to the sidecar, so it exists only where there is one.
            builder.Services.AddDaprWorkflow(options =>
            {
                options.RegisterWorkflow<AssembleUpload>();
                options.RegisterActivity<VerifyChunks>();
                options.RegisterActivity<Compose>();
                options.RegisterActivity<VerifyChecksum>();
                options.RegisterActivity<DetectType>();
                options.RegisterActivity<MarkCompleted>();
                options.RegisterActivity<DeleteChunks>();
                options.RegisterActivity<MarkFailed>();
            });
            builder.Services.AddSingleton<IAssemblyScheduler, DaprAssemblyScheduler>();
            builder.Services.AddSingleton<DaprAssemblySweeper>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<DaprAssemblySweeper>());
        }
        else
        {
            builder.Services.AddSingleton<AssemblySignal>();
            builder.Services.AddSingleton<IAssemblyScheduler, StandaloneAssemblyScheduler>();
            builder.Services.AddHostedService<StandaloneAssemblyRunner>();
        }

        return builder;
    }

    public static IEndpointRouteBuilder MapFilesService(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapUploadsApi();
        endpoints.MapFilesApi();
        endpoints.MapEventSubscriptions();
        return endpoints;
    }
}
