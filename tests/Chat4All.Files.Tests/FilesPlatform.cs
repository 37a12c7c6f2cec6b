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

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
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

    private readonly MotoServerProcess _moto;

    public S3FilesPlatform()
        : this(new MotoServerProcess())
    {
    }

    private S3FilesPlatform(MotoServerProcess moto)
        : base(uploadLifetime: null, new Dictionary<string, string?>
        {
            ["Chat4All:Storage:Provider"] = "s3",
            ["Chat4All:Storage:S3:ServiceUrl"] = moto.ServiceUrl.ToString(),
            ["Chat4All:Storage:S3:Bucket"] = Bucket,
            ["Chat4All:Storage:S3:AccessKey"] = "test",
            ["Chat4All:Storage:S3:SecretKey"] = "test",
            ["Chat4All:Storage:S3:CreateBucket"] = "true",
        })
    {
        _moto = moto;
    }

    public Chat4All.BuildingBlocks.Blobs.S3StorageOptions StorageOptions => new()
    {
        ServiceUrl = _moto.ServiceUrl,
        Bucket = Bucket,
        AccessKey = "test",
        SecretKey = "test",
    };

    public override async Task InitializeAsync()
    {
        await _moto.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _moto.DisposeAsync();
    }
}
