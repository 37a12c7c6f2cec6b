using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Chat4All.Host.Tests;

/// <summary>The host binary serving HTTPS itself, as <c>CHAT4ALL_TLS=1 scripts/run.sh</c> runs it.</summary>
public sealed class TransportSecurityTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _data = new();
    private TestDatabase _database = null!;
    private Dictionary<string, string> _environment = null!;
    private X509Certificate2 _certificate = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(_data.Path, "cert.pem");
        var keyPath = Path.Combine(_data.Path, "key.pem");
        await File.WriteAllTextAsync(certificatePath, _certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        _environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = _database.ConnectionString,
            ["ConnectionStrings__Redis"] = await TestInfrastructure.RedisConnectionStringAsync(),
            ["Chat4All__DataDirectory"] = _data.Path,
            ["Chat4All__Auth__Issuer"] = Chat4AllHost.TestIssuer,
            ["Chat4All__Tls__CertificatePath"] = certificatePath,
            ["Chat4All__Tls__KeyPath"] = keyPath,
        };
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
        using var tls13 = ClientFor(port, SslProtocols.Tls13);
        await host.WaitUntilServingAsync(tls13);

        using var health = await tls13.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.StartsWith("max-age=", health.Headers.GetValues("Strict-Transport-Security").Single(), StringComparison.Ordinal);

        using var tls12 = ClientFor(port, SslProtocols.Tls12);
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

    private HttpClient ClientFor(int port, SslProtocols protocols) => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = protocols,
            // Trust exactly the certificate this test made, as a client pinning its fingerprint would.
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString(HashAlgorithmName.SHA256) == _certificate.GetCertHashString(HashAlgorithmName.SHA256),
        },
    })
    { BaseAddress = new Uri($"https://127.0.0.1:{port}/") };
}
