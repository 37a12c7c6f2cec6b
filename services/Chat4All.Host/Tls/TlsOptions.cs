using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Chat4All.Host.Tls;

/// <summary>
/// The host's own TLS: a PEM certificate and key for every <c>https://</c> URL it listens on, TLS 1.3
/// only. Bound from <c>Chat4All:Tls</c>; unset means plain HTTP (TLS terminated in front of it).
/// </summary>
public sealed class TlsOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:Tls";

    public string? CertificatePath { get; set; }

    public string? KeyPath { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);

    public X509Certificate2 LoadCertificate() => X509Certificate2.CreateFromPemFile(CertificatePath!, KeyPath);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            if (!string.IsNullOrWhiteSpace(KeyPath))
            {
                yield return new ValidationResult($"{SectionName}:KeyPath is set without {SectionName}:CertificatePath.", [nameof(CertificatePath)]);
            }

            yield break;
        }

        string? problem = null;
        try
        {
            using var certificate = LoadCertificate();
            if (!certificate.HasPrivateKey)
            {
                problem = "has no private key (set KeyPath, or put the key in the same PEM file)";
            }
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
        {
            problem = "cannot be loaded: " + ex.Message;
        }

        if (problem is not null)
        {
            yield return new ValidationResult($"{SectionName}: the certificate '{CertificatePath}' {problem}.", [nameof(CertificatePath)]);
        }
    }
}
