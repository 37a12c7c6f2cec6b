using Chat4All.BuildingBlocks.Data;

namespace Chat4All.Realtime.Data;

internal sealed class RealtimeDbContextFactory() : DesignTimeDbContextFactory<RealtimeDbContext>(RealtimeDbContext.Schema, options => new(options));
