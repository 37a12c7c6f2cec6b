using Chat4All.Contracts;
using Chat4All.Realtime;
using Chat4All.Realtime.Connections;
using Chat4All.Realtime.Data;
using Chat4All.Realtime.Fanout;
using Chat4All.Realtime.Presence;
using Chat4All.Realtime.Projections;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

public static class RealtimeExtensions
{
    /// <summary>
    /// The realtime service: <c>/ws</c> with lossless resume, cross-instance fan-out over Redis
    /// pub/sub, presence, and the read models (memberships, message log) it keeps from events.
    /// </summary>
    public static IHostApplicationBuilder AddRealtimeService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RealtimeOptions>().BindConfiguration(RealtimeOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.AddServiceDbContext<RealtimeDbContext>(RealtimeDbContext.Schema);
        builder.AddRetentionRule<RealtimeDbContext>(Chat4All.BuildingBlocks.Retention.RetentionRules.RealtimeMessageLog, "message_log", "created_at");
        builder.AddEventBus();
        builder.AddPresence();
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<RealtimeMetrics>();
        builder.Services.AddSingleton<RealtimeFanout>();
        builder.Services.AddSingleton<FanoutReconnectCatchUp>();
        builder.Services.AddHostedService(services => services.GetRequiredService<FanoutReconnectCatchUp>());
        builder.Services.AddSingleton<ConversationMembersCache>();
        builder.Services.AddSingleton<MembersCacheInvalidation>();
        builder.Services.AddHostedService(services => services.GetRequiredService<MembersCacheInvalidation>());
        builder.Services.AddSingleton<PresenceAnnouncer>();
        builder.Services.AddHostedService<HeartbeatService>();
        builder.Services.AddHostedService<RevokedUserSockets>();
        builder.AddEventSubscription<ConversationCreatedConsumer>(Topics.ConversationCreated, Targets.Realtime);
        builder.AddEventSubscription<MessageCreatedConsumer>(Topics.MessageCreated, Targets.Realtime);
        builder.AddEventSubscription<ConversationReadConsumer>(Topics.ConversationRead, Targets.Realtime);
        builder.AddEventSubscription<StatusChangedConsumer>(Topics.MessageStatusChanged, Targets.Realtime);
        builder.AddEventSubscription<PresenceChangedConsumer>(Topics.PresenceChanged, Targets.Realtime);
        builder.AddEventSubscription<MemberAddedConsumer>(Topics.ConversationMemberAdded, Targets.Realtime);
        builder.AddEventSubscription<MemberRemovedConsumer>(Topics.ConversationMemberRemoved, Targets.Realtime);
        builder.AddEventSubscription<ConversationUpdatedConsumer>(Topics.ConversationUpdated, Targets.Realtime);
        return builder;
    }

    public static WebApplication MapRealtimeService(this WebApplication app)
    {
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero }); // our own ping/pong frames are the heartbeat
        app.MapWebSocketEndpoint();
        app.MapPresenceApi();
        app.MapPresence();
        app.MapEventSubscriptions();
        return app;
    }
}
