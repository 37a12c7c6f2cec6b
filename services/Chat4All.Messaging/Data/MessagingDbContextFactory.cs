using Chat4All.BuildingBlocks.Data;

namespace Chat4All.Messaging.Data;

internal sealed class MessagingDbContextFactory() : DesignTimeDbContextFactory<MessagingDbContext>(MessagingDbContext.Schema, options => new(options));
