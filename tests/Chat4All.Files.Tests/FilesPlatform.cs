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

    protected FilesPlatform(TimeSpan? uploadLifetime)
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
    }

    protected override IReadOnlyDictionary<string, string?> Settings => _settings;
}

/// <summary>Uploads expire four seconds after they start, and the purge runs twice a second.</summary>
public sealed class ShortLivedUploadsPlatform() : FilesPlatform(TimeSpan.FromSeconds(4));
