namespace Chat4All.Files.Tests;

/// <summary>
/// The whole platform on its own event-bus keys (so no other test host's consumers take its events)
/// with rate limiting off (tests poll). <see cref="UploadLifetime"/> lets the purge tests expire uploads in seconds.
/// </summary>
public class FilesPlatform : PlatformFixture
{
    private readonly Dictionary<string, string?> _settings;

    public FilesPlatform()
        : this(uploadLifetime: null)
    {
    }

    protected FilesPlatform(TimeSpan? uploadLifetime, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        _settings = new Dictionary<string, string?>
        {
            ["Chat4All:RateLimiting:Enabled"] = "false",
            ["Chat4All:EventBus:KeyPrefix"] = "c4a-files-" + suffix,
            ["Chat4All:Presence:KeyPrefix"] = "c4a-files-" + suffix,
            ["Chat4All:Delivery:Simulator:KeyPrefix"] = "c4a-files-sim-" + suffix,
            ["Chat4All:Files:AssemblyPollInterval"] = "00:00:00.200",
        };
        if (uploadLifetime is { } lifetime)
        {
            _settings["Chat4All:Files:UploadLifetime"] = lifetime.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
            _settings["Chat4All:Files:PurgeInterval"] = "00:00:00.500";
        }

        Configure(settings ?? new Dictionary<string, string?>());
    }

    /// <summary>Adds host settings; before <see cref="PlatformFixture.InitializeAsync"/> starts the host.</summary>
    protected void Configure(IReadOnlyDictionary<string, string?> settings)
    {
        foreach (var (key, value) in settings)
        {
            _settings[key] = value;
        }
    }

    protected override IReadOnlyDictionary<string, string?> Settings => _settings;
}

/// <summary>Uploads expire four seconds after they start, and the purge runs twice a second.</summary>
public sealed class ShortLivedUploadsPlatform() : FilesPlatform(TimeSpan.FromSeconds(4));

/// <summary>The platform with its blobs in S3: a moto_server started first, on a loopback port.</summary>
public sealed class S3FilesPlatform : FilesPlatform
{
    public const string Bucket = "chat4all-files";

    private readonly MotoServerProcess _moto = new();

    public Chat4All.BuildingBlocks.Blobs.S3StorageOptions StorageOptions => _moto.StorageOptions(Bucket);

    // The host reads the same settings the tests' own S3 client uses.
    private static Dictionary<string, string?> HostSettings(Chat4All.BuildingBlocks.Blobs.S3StorageOptions s3) => new()
    {
        ["Chat4All:Storage:Provider"] = "s3",
        ["Chat4All:Storage:S3:ServiceUrl"] = s3.ServiceUrl!.ToString(),
        ["Chat4All:Storage:S3:Bucket"] = s3.Bucket,
        ["Chat4All:Storage:S3:AccessKey"] = s3.AccessKey,
        ["Chat4All:Storage:S3:SecretKey"] = s3.SecretKey,
        ["Chat4All:Storage:S3:CreateBucket"] = s3.CreateBucket ? "true" : "false",
    };

    public override async Task InitializeAsync()
    {
        await _moto.StartAsync(); // its port is known only once it has bound
        Configure(HostSettings(_moto.StorageOptions(Bucket)));
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _moto.DisposeAsync();
    }
}
