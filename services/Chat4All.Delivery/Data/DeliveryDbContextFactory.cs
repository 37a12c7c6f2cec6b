using Chat4All.BuildingBlocks.Data;

namespace Chat4All.Delivery.Data;

internal sealed class DeliveryDbContextFactory() : DesignTimeDbContextFactory<DeliveryDbContext>(DeliveryDbContext.Schema, options => new(options));
