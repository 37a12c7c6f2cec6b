using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Chat4All.Identity.Keys;

/// <summary>
/// Loads an RSA key from a PEM file, generating it on first use. Creation is atomic (write to a
/// temporary file, then a no-overwrite move), so instances starting together end up with one key.
/// </summary>
internal static class RsaKeyFile
{
    public static RsaSecurityKey LoadOrCreate(string path)
    {
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            using var fresh = RSA.Create(2048);
            var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllText(temporary, fresh.ExportPkcs8PrivateKeyPem());
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            try
            {
                File.Move(temporary, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temporary); // another instance won the race; use its key
            }
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(File.ReadAllText(path));
        }
        catch (ArgumentException ex)
        {
            rsa.Dispose();
            throw new InvalidOperationException($"'{path}' does not contain a PEM-encoded RSA private key.", ex);
        }

        // A stable key id (RFC 7638 thumbprint) keeps 'kid' identical across restarts and instances.
        var key = new RsaSecurityKey(rsa);
        key.KeyId = Base64UrlEncoder.Encode(key.ComputeJwkThumbprint());
        return key;
    }
}
