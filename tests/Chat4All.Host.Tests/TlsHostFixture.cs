namespace Chat4All.Host.Tests;

/// <summary>
/// The host binary serving HTTPS itself with a certificate made for the test, started with
/// <c>--urls https://127.0.0.1:0</c> as <c>CHAT4ALL_TLS=1 scripts/run.sh</c> runs it.
/// </summary>
public sealed class TlsHostFixture : IAsyncLifetime
{
    private readonly TemporaryDirectory _data = new();
    private TestDatabase _database = null!;
    private HostProcess? _host;

    public SelfSignedCertificate Certificate { get; private set; } = null!;

    /// <summary>The port the host bound for its https URL, read back from its log.</summary>
    public int Port { get; private set; }

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        Certificate = await SelfSignedCertificate.WriteAsync(_data.Path);
        var environment = HostProcess.Environment(_database.ConnectionString, await TestInfrastructure.RedisConnectionStringAsync(),
            _data.Path, HostProcess.KeyPrefix("tlsfix"));
        foreach (var (key, value) in Certificate.HostSettings)
        {
            environment[key] = value;
        }
        _host = HostProcess.Start(environment, "--urls", "https://127.0.0.1:0");
        var address = await _host.WaitForAddressAsync();
        Assert.Equal(Uri.UriSchemeHttps, address.Scheme);
        Port = address.Port;
        using var client = Certificate.ClientFor(Port);
        await _host.WaitUntilServingAsync(client);
    }

    public async Task DisposeAsync()
    {
        _host?.Dispose();
        Certificate.Dispose();
        await _database.DisposeAsync();
        _data.Dispose();
    }
}
