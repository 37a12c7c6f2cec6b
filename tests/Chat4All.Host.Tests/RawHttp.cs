using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace Chat4All.Host.Tests;

/// <summary>
/// Bytes written to the real host as they are, over plain TCP or over TLS 1.3 (<see cref="SslStream"/>
/// on a raw socket, no ALPN, so HTTP/1.1), and the answer read until the server closes the connection.
/// </summary>
internal static class RawHttp
{
    public static async Task<RawResponse> SendAsync(int port, string request, SelfSignedCertificate? tls = null) =>
        Parse(await SendRawAsync(port, request, tls));

    /// <summary>Reads until the server closes the connection (10 s at most).</summary>
    public static async Task<string> SendRawAsync(int port, string request, SelfSignedCertificate? tls = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, timeout.Token);
        Stream stream = client.GetStream();
        if (tls is not null)
        {
            var secure = new SslStream(stream);
            await secure.AuthenticateAsClientAsync(tls.ClientOptions(SslProtocols.Tls13), timeout.Token);
            stream = secure;
        }

        await using (stream)
        {
            await stream.WriteAsync(Encoding.Latin1.GetBytes(request), timeout.Token);
            await stream.FlushAsync(timeout.Token);
            using var received = new MemoryStream();
            try
            {
                await stream.CopyToAsync(received, timeout.Token);
            }
            catch (IOException)
            {
                // The server may reset a connection it refused once it has answered; what arrived counts.
            }

            return Encoding.UTF8.GetString(received.ToArray());
        }
    }

    public static RawResponse Parse(string raw)
    {
        var end = raw.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, "no complete response head: " + raw);
        var lines = raw[..end].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        var body = raw[(end + 4)..];
        if (headers.TryGetValue("transfer-encoding", out var encoding) && encoding == "chunked")
        {
            var decoded = new StringBuilder();
            while (body.IndexOf("\r\n", StringComparison.Ordinal) is var eol and > 0 && Convert.ToInt32(body[..eol], 16) is var size and > 0)
            {
                decoded.Append(body.AsSpan(eol + 2, size));
                body = body[(eol + 2 + size + 2)..];
            }

            body = decoded.ToString();
        }

        return new RawResponse(status, headers, body, raw);
    }
}

internal sealed record RawResponse(int Status, Dictionary<string, string> Headers, string Body, string Raw);
