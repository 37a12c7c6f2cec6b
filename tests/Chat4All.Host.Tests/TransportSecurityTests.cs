using System.Net;
using System.Security.Authentication;

namespace Chat4All.Host.Tests;

/// <summary>The host binary serving HTTPS itself, as <c>CHAT4ALL_TLS=1 scripts/run.sh</c> runs it.</summary>
public sealed class TransportSecurityTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _data = new();
    private TestDatabase _database = null!;
    private Dictionary<string, string> _environment = null!;
    private SelfSignedCertificate _certificate = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _certificate = await SelfSignedCertificate.WriteAsync(_data.Path);
        _environment = HostProcess.Environment(_database.ConnectionString, await TestInfrastructure.RedisConnectionStringAsync(),
            _data.Path, HostProcess.KeyPrefix("tls"));
        foreach (var (key, value) in _certificate.HostSettings)
        {
            _environment[key] = value;
        }
    }

    public async Task DisposeAsync()
    {
        _certificate.Dispose();
        await _database.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task TheHostServesHttpsWithTls13OnlyAndSendsHsts()
    {
        using var host = HostProcess.Start(_environment, "--urls", "https://127.0.0.1:0");
        var port = (await host.WaitForAddressAsync()).Port;
        using var tls13 = _certificate.ClientFor(port, SslProtocols.Tls13);
        await host.WaitUntilServingAsync(tls13);

        using var health = await tls13.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.StartsWith("max-age=", health.Headers.GetValues("Strict-Transport-Security").Single(), StringComparison.Ordinal);

        using var tls12 = _certificate.ClientFor(port, SslProtocols.Tls12);
        await Assert.ThrowsAsync<HttpRequestException>(() => tls12.GetAsync("/health"));
    }

    [Fact]
    public async Task AnHttpsUrlNextToAnHttpOneServesEachWithItsSchemeAndBothReadTheirPortBack()
    {
        // --urls with both schemes, as a person adds a plain management listener next to the API.
        using var host = HostProcess.Start(_environment, "--urls", "https://127.0.0.1:0;http://127.0.0.1:0");
        await host.WaitForAddressAsync();
        using var tls13 = _certificate.ClientFor(await ListeningPortAsync(host, Uri.UriSchemeHttps));
        await host.WaitUntilServingAsync(tls13);
        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{await ListeningPortAsync(host, Uri.UriSchemeHttp)}/") };

        using var secure = await tls13.GetAsync("/health");
        using var clear = await plain.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, secure.StatusCode);
        Assert.True(secure.Headers.Contains("Strict-Transport-Security"));
        Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
        Assert.False(clear.Headers.Contains("Strict-Transport-Security"));
        KestrelRejectionTests.AssertProblem(await RawHttp.SendAsync(plain.BaseAddress!.Port, "HELLO THERE\r\n\r\n"), 400, "bad_request");
    }

    [Fact]
    public async Task AnHttpsEndpointFromKestrelConfigurationServesTls13AndProblemBodiesForRefusedRequests()
    {
        var environment = new Dictionary<string, string>(_environment) { ["Kestrel__Endpoints__Api__Url"] = "https://127.0.0.1:0" };
        using var host = HostProcess.Start(environment);
        var address = await host.WaitForAddressAsync();
        using var tls13 = _certificate.ClientFor(address.Port);
        await host.WaitUntilServingAsync(tls13);

        var refused = await RawHttp.SendAsync(address.Port, "GET /health HTTP/1.7\r\nHost: h\r\n\r\n", _certificate);

        Assert.Equal(Uri.UriSchemeHttps, address.Scheme);
        KestrelRejectionTests.AssertProblem(refused, 505, "http_version_not_supported");
        using var tls12 = _certificate.ClientFor(address.Port, SslProtocols.Tls12);
        await Assert.ThrowsAsync<HttpRequestException>(() => tls12.GetAsync("/health"));
    }

    [Fact]
    public async Task AnUnreadableCertificateStopsTheHostWithAClearMessage()
    {
        var environment = new Dictionary<string, string>(_environment) { ["Chat4All__Tls__CertificatePath"] = Path.Combine(_data.Path, "missing.pem") };

        using var host = HostProcess.Start(environment, "--urls", "https://127.0.0.1:0");

        Assert.NotEqual(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Chat4All:Tls", host.StandardError + host.StandardOutput, StringComparison.Ordinal);
    }

    private static async Task<int> ListeningPortAsync(HostProcess host, string scheme)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var match = System.Text.RegularExpressions.Regex.Match(host.StandardOutput, $@"Now listening on: {scheme}://127\.0\.0\.1:([0-9]+)");
            if (match.Success)
            {
                return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The host did not report a {scheme} address: {host.StandardOutput}");
    }
}
