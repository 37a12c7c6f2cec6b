using Chat4All.Contracts;
using Chat4All.Messaging;
using Chat4All.Messaging.Conversations;
using Chat4All.Messaging.Data;
using Chat4All.Messaging.Members;
using Chat4All.Messaging.Messages;
using Chat4All.Messaging.Messages.Edits;
using Chat4All.Messaging.Receipts;
using Chat4All.Messaging.Users;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

public static class MessagingExtensions
{
    /// <summary>
    /// The messaging service: conversations, messages with per-conversation <c>seq</c>, read receipts,
    /// the transactional outbox and its relay, and the consumers of delivery status changes, inbound
    /// channel messages, completed files and new users.
    /// </summary>
    public static IHostApplicationBuilder AddMessagingService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<MessagingOptions>().BindConfiguration(MessagingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        // The validation generator only sees request records of the assembly that calls AddValidation: this one.
        builder.Services.AddValidation();
        builder.AddServiceDbContext<MessagingDbContext>(MessagingDbContext.Schema);
        builder.Services.AddSingleton<MessagingMetrics>();
        builder.AddEventBus();
        builder.AddOutboxRelay<MessagingDbContext>();
        builder.AddEventSubscription<StatusChangedConsumer>(Topics.MessageStatusChanged, Targets.Messaging);
        builder.AddEventSubscription<InboundMessageConsumer>(Topics.MessageInbound, Targets.Messaging);
        builder.AddEventSubscription<FileUploadedConsumer>(Topics.FileUploaded, Targets.Messaging);
        builder.AddEventSubscription<UserCreatedConsumer>(Topics.UserCreated, Targets.Messaging);
        builder.AddEventSubscription<UserRenamedConsumer>(Topics.UserRenamed, Targets.Messaging);
        builder.AddEventSubscription<UserDeletedConsumer>(Topics.UserDeleted, Targets.Messaging);
        return builder;
    }

    public static IEndpointRouteBuilder MapMessagingService(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapConversationsApi();
        endpoints.MapMessagesApi();
        endpoints.MapMessageChangesApi();
        endpoints.MapReadApi();
        endpoints.MapUserDirectoryApi();
        endpoints.MapGroupMembersApi();
        endpoints.MapEventSubscriptions();
        return endpoints;
    }
}
