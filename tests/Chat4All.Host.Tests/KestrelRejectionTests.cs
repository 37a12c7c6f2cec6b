using System.Text;
using System.Text.Json;

namespace Chat4All.Host.Tests;

/// <summary>
/// Requests Kestrel refuses before the application sees them, sent as raw bytes over a TCP socket to
/// the real host, and over TLS 1.3 to the host binary serving HTTPS itself: each answer keeps
/// Kestrel's status and carries a problem body like every other error.
/// </summary>
public sealed class KestrelRejectionTests(PlatformFixture platform, TlsHostFixture tls) : IClassFixture<PlatformFixture>, IClassFixture<TlsHostFixture>
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

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task OverTlsARequestKestrelRefusesGetsAProblemBodyWithItsStatusAndHsts(string what, string request, int status, string code)
    {
        var response = await RawHttp.SendAsync(tls.Port, request, tls.Certificate);

        Assert.True(response.Status == status, $"{what}: {response.Status}\n{response.Raw}");
        AssertProblem(response, status, code);
        Assert.StartsWith("max-age=", response.Headers["strict-transport-security"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task OverHttp2HeadersTooLargeGetA431AndTheConnectionKeepsServing()
    {
        // HTTP/2 (ALPN) is left to Kestrel: its protocol errors are RST_STREAM/GOAWAY frames (RFC 9113),
        // and its one status answer, 431, is a HEADERS frame without a body (docs/adr/0048). What this
        // shows is that nothing writes HTTP/1.1 bytes into the HTTP/2 connection.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var http2 = await RawHttp2.ConnectAsync(tls.Port, tls.Certificate, timeout.Token);
        // Three fields under the per-field HPACK limit, together over the 32 KB header-list limit.
        var tooLarge = new[] { "x-a", "x-b", "x-c" }.Select(name => (name, new string('b', 12_000)));

        var refused = await http2.GetAsync("/health", tooLarge, timeout.Token);
        var next = await http2.GetAsync("/health", [], timeout.Token);

        Assert.Equal(431, refused.Status);
        Assert.Empty(refused.Body);
        Assert.Equal(200, next.Status);
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARefusedRequestAfterAGoodOneOnTheSameConnectionLeavesTheGoodAnswerIntact(bool overTls)
    {
        var raw = overTls
            ? await RawHttp.SendRawAsync(tls.Port, "GET /health HTTP/1.1\r\nHost: h\r\n\r\nHELLO THERE\r\n\r\n", tls.Certificate)
            : await SendRawAsync("GET /health HTTP/1.1\r\nHost: h\r\n\r\nHELLO THERE\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", raw, StringComparison.Ordinal);
        var second = Parse(raw[raw.LastIndexOf("HTTP/1.1 ", StringComparison.Ordinal)..]);
        Assert.NotEqual(0, raw.LastIndexOf("HTTP/1.1 ", StringComparison.Ordinal));
        AssertProblem(second, 400, "bad_request");
    }

    internal static void AssertProblem(RawResponse response, int status, string code)
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

    private Task<RawResponse> SendAsync(string request) => RawHttp.SendAsync(platform.Host.Port, request);

    private Task<string> SendRawAsync(string request) => RawHttp.SendRawAsync(platform.Host.Port, request);

    private static RawResponse Parse(string raw) => RawHttp.Parse(raw);
}
