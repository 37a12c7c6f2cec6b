using Chat4All.BuildingBlocks.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Identity.Data;

internal sealed class IdentityDbContextFactory() : DesignTimeDbContextFactory<IdentityDbContext>(IdentityDbContext.Schema, options => new(options))
{
    protected override DbContextOptionsBuilder<IdentityDbContext> Configure(DbContextOptionsBuilder<IdentityDbContext> options) => options.UseOpenIddict();
}
