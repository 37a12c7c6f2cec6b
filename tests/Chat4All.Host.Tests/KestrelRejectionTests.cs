using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Chat4All.Host.Tests;

/// <summary>
/// Requests Kestrel refuses before the application sees them, sent as raw bytes over a TCP socket to
/// the real host: each answer keeps Kestrel's status and carries a problem body like every other error.
/// </summary>
public sealed class KestrelRejectionTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    public static TheoryData<string, string, int, string> Rejections => new()
    {
        { "a NUL byte in the request target", "GET /v1/\0 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad_request" },
        { "an encoded NUL in the path", "GET /v1/users/%00 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad_request" },
        { "a request line that is not HTTP", "HELLO THERE\r\n\r\n", 400, "bad_request" },
        { "no Host header", "GET /health HTTP/1.1\r\n\r\n", 400, "bad_request" },
        { "a Host header that is not a host", "GET /health HTTP/1.1\r\nHost: a b@c\r\n\r\n", 400, "bad_request" },
        { "two Host headers", "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad_request" },
        { "a header line without a colon", "GET /health HTTP/1.1\r\nHost: h\r\nbroken header\r\n\r\n", 400, "bad_request" },
        { "an unknown HTTP version", "GET /health HTTP/1.7\r\nHost: h\r\n\r\n", 505, "http_version_not_supported" },
        { "a request target over the request-line limit", $"GET /{new string('a', 10_000)} HTTP/1.1\r\nHost: h\r\n\r\n", 414, "uri_too_long" },
        { "headers over the size limit", $"GET /health HTTP/1.1\r\nHost: h\r\nX-Big: {new string('b', 40_000)}\r\n\r\n", 431, "request_headers_too_large" },
        { "a Content-Length that is not a number", "POST /health HTTP/1.1\r\nHost: h\r\nContent-Length: 12x\r\n\r\n", 400, "bad_request" },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task ARequestKestrelRefusesGetsAProblemBodyWithItsStatus(string what, string request, int status, string code)
    {
        var response = await SendAsync(request);

        Assert.True(response.Status == status, $"{what}: {response.Status}\n{response.Raw}");
        AssertProblem(response, status, code);
    }

    [Fact]
    public async Task AControlCharacterOtherThanNulInThePathReachesTheAppAndGetsItsProblem()
    {
        // Kestrel refuses NUL (raw or %00) itself, but lets other control characters through to the pipeline.
        var response = await SendAsync("GET /v1/\u0001%01 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");

        Assert.Equal(401, response.Status);
        AssertProblem(response, 401, "unauthorized");
    }

    [Fact]
    public async Task ABodyOverKestrelsLimitGetsA413Problem()
    {
        // Reaches the application (the form reader asks for the body): the exception handler answers.
        var response = await SendAsync("POST /auth/token HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n\r\ngrant_type=x");

        Assert.Equal(413, response.Status);
        AssertProblem(response, 413, "payload_too_large");
    }

    [Fact]
    public async Task ARefusedRequestAfterAGoodOneOnTheSameConnectionLeavesTheGoodAnswerIntact()
    {
        var raw = await SendRawAsync("GET /health HTTP/1.1\r\nHost: h\r\n\r\nHELLO THERE\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", raw, StringComparison.Ordinal);
        var second = Parse(raw[raw.LastIndexOf("HTTP/1.1 ", StringComparison.Ordinal)..]);
        Assert.NotEqual(0, raw.LastIndexOf("HTTP/1.1 ", StringComparison.Ordinal));
        AssertProblem(second, 400, "bad_request");
    }

    private static void AssertProblem(RawResponse response, int status, string code)
    {
        Assert.Equal("application/problem+json", response.Headers["content-type"].Split(';')[0]);
        Assert.Equal("nosniff", response.Headers["x-content-type-options"]);
        if (response.Headers.TryGetValue("content-length", out var length))
        {
            Assert.Equal(Encoding.UTF8.GetByteCount(response.Body), int.Parse(length, System.Globalization.CultureInfo.InvariantCulture));
        }

        var problem = JsonDocument.Parse(response.Body).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.StartsWith("https://", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("trace_id").GetString()));
    }

    private async Task<RawResponse> SendAsync(string request) => Parse(await SendRawAsync(request));

    /// <summary>Writes the bytes as they are and reads until the server closes the connection (10 s at most).</summary>
    private async Task<string> SendRawAsync(string request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", platform.Host.Port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), timeout.Token);
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

    private static RawResponse Parse(string raw)
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

    private sealed record RawResponse(int Status, Dictionary<string, string> Headers, string Body, string Raw);
}
