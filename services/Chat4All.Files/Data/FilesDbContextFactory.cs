using Chat4All.BuildingBlocks.Data;

namespace Chat4All.Files.Data;

internal sealed class FilesDbContextFactory() : DesignTimeDbContextFactory<FilesDbContext>(FilesDbContext.Schema, options => new(options));
