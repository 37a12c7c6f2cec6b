using System.Buffers.Text;
using System.Text;

namespace Chat4All.ServiceDefaults.Http;

/// <summary>Opaque cursors: base64url of a small text form, so clients cannot depend on the contents.</summary>
public static class Cursor
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 100;

    public static string Encode(string value) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(value));

    public static string? Decode(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return null;
        }

        try
        {
            return Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
