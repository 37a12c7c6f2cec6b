using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Chat4All.Host.Tests;

/// <summary>
/// A certificate for 127.0.0.1 made for one test, written as the PEM pair <c>Chat4All:Tls</c> names,
/// and the client side that trusts exactly it (as a client pinning its fingerprint would).
/// </summary>
public sealed class SelfSignedCertificate : IDisposable
{
    private readonly X509Certificate2 _certificate;

    private SelfSignedCertificate(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        _certificate = certificate;
        CertificatePath = certificatePath;
        KeyPath = keyPath;
    }

    public string CertificatePath { get; }

    public string KeyPath { get; }

    public static async Task<SelfSignedCertificate> WriteAsync(string directory)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(directory, "cert.pem");
        var keyPath = Path.Combine(directory, "key.pem");
        await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        return new SelfSignedCertificate(certificate, certificatePath, keyPath);
    }

    /// <summary>The host settings that make it serve this certificate.</summary>
    public IEnumerable<KeyValuePair<string, string>> HostSettings =>
    [
        new("Chat4All__Tls__CertificatePath", CertificatePath),
        new("Chat4All__Tls__KeyPath", KeyPath),
    ];

    /// <summary>TLS client options that accept this certificate and nothing else.</summary>
    public SslClientAuthenticationOptions ClientOptions(SslProtocols protocols, params SslApplicationProtocol[] applicationProtocols) => new()
    {
        TargetHost = "127.0.0.1",
        EnabledSslProtocols = protocols,
        ApplicationProtocols = applicationProtocols.Length > 0 ? [.. applicationProtocols] : null,
        RemoteCertificateValidationCallback = (_, presented, _, _) =>
            presented?.GetCertHashString(HashAlgorithmName.SHA256) == _certificate.GetCertHashString(HashAlgorithmName.SHA256),
    };

    /// <summary>An HttpClient to https://127.0.0.1:<paramref name="port"/>/ trusting this certificate.</summary>
    public HttpClient ClientFor(int port, SslProtocols protocols = SslProtocols.Tls13) =>
        new(new SocketsHttpHandler { SslOptions = ClientOptions(protocols) }) { BaseAddress = new Uri($"https://127.0.0.1:{port}/") };

    public void Dispose() => _certificate.Dispose();
}
