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
        var environment = new Dictionary<string, string>(Certificate.HostSettings)
        {
            ["ConnectionStrings__Postgres"] = _database.ConnectionString,
            ["ConnectionStrings__Redis"] = await TestInfrastructure.RedisConnectionStringAsync(),
            ["Chat4All__DataDirectory"] = _data.Path,
            ["Chat4All__Auth__Issuer"] = Chat4AllHost.TestIssuer,
        };
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
