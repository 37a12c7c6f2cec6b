using System.Text;
using Chat4All.Delivery.Connectors;
using Microsoft.AspNetCore.Http;

namespace Chat4All.Delivery.Tests.Connectors;

public sealed class StandardWebhooksTests
{
    private static readonly DateTimeOffset SentAt = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"type":"message.status","data":{"provider_message_id":"sms.1","status":"delivered"}}""");

    private readonly StandardWebhooks _signer = new(StandardWebhooks.GenerateSecret());

    [Fact]
    public void SignatureMatchesTheSpecificationsExample()
    {
        // The example of the Standard Webhooks specification and its reference libraries.
        var signer = new StandardWebhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        var timestamp = DateTimeOffset.FromUnixTimeSeconds(1614265330);
        var body = Encoding.UTF8.GetBytes("""{"test": 2432232314}""");

        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", signer.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp, body));
        Assert.True(signer.Verify("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", body, timestamp).Valid);
    }

    [Fact]
    public void CorrectlySignedWebhookVerifiesAndCarriesItsId()
    {
        var verification = _signer.Verify(Headers(_signer, "msg_1", SentAt, Body), Body, SentAt.AddSeconds(3));

        Assert.Equal(new WebhookVerification(true, "msg_1", null), verification);
    }

    [Fact]
    public void TamperedBodyIsRejected()
    {
        var headers = Headers(_signer, "msg_1", SentAt, Body);
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Body).Replace("delivered", "read", StringComparison.Ordinal));

        Assert.Equal(WebhookVerification.Rejected("no_matching_signature"), _signer.Verify(headers, tampered, SentAt));
    }

    [Fact]
    public void TamperedWebhookIdIsRejected()
    {
        var headers = Headers(_signer, "msg_1", SentAt, Body);
        headers[StandardWebhooks.IdHeader] = "msg_2";

        Assert.Equal(WebhookVerification.Rejected("no_matching_signature"), _signer.Verify(headers, Body, SentAt));
    }

    [Fact]
    public void WebhookSignedWithAnotherSecretIsRejected()
    {
        var other = new StandardWebhooks(StandardWebhooks.GenerateSecret());

        Assert.Equal(WebhookVerification.Rejected("no_matching_signature"), _signer.Verify(Headers(other, "msg_1", SentAt, Body), Body, SentAt));
    }

    [Theory]
    [InlineData(-301, "timestamp_too_old")]
    [InlineData(-3600, "timestamp_too_old")]
    [InlineData(301, "timestamp_too_new")]
    [InlineData(86400, "timestamp_too_new")]
    public void TimestampOutsideFiveMinutesEitherWayIsRejected(int secondsFromNow, string error)
    {
        var now = SentAt;
        var headers = Headers(_signer, "msg_1", now.AddSeconds(secondsFromNow), Body);

        Assert.Equal(WebhookVerification.Rejected(error), _signer.Verify(headers, Body, now));
    }

    [Theory]
    [InlineData(-300)]
    [InlineData(300)]
    public void TimestampAtTheEdgeOfTheToleranceVerifies(int secondsFromNow)
    {
        var headers = Headers(_signer, "msg_1", SentAt.AddSeconds(secondsFromNow), Body);

        Assert.True(_signer.Verify(headers, Body, SentAt).Valid);
    }

    [Theory]
    [InlineData(StandardWebhooks.IdHeader)]
    [InlineData(StandardWebhooks.TimestampHeader)]
    [InlineData(StandardWebhooks.SignatureHeader)]
    public void WebhookMissingAHeaderIsRejected(string missing)
    {
        var headers = Headers(_signer, "msg_1", SentAt, Body);
        headers.Remove(missing);

        Assert.Equal(WebhookVerification.Rejected("missing_headers"), _signer.Verify(headers, Body, SentAt));
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("-5")]
    [InlineData("1.5e9")]
    [InlineData("99999999999999999999")]
    public void UnreadableTimestampIsRejected(string timestamp)
    {
        var headers = Headers(_signer, "msg_1", SentAt, Body);
        headers[StandardWebhooks.TimestampHeader] = timestamp;

        Assert.Equal(WebhookVerification.Rejected("invalid_timestamp"), _signer.Verify(headers, Body, SentAt));
    }

    [Fact]
    public void AnyMatchingV1SignatureInTheListVerifiesSoSecretsCanBeRotated()
    {
        var headers = Headers(_signer, "msg_1", SentAt, Body);
        var previous = new StandardWebhooks(StandardWebhooks.GenerateSecret()).Sign("msg_1", SentAt, Body);
        headers[StandardWebhooks.SignatureHeader] = $"{previous} v1a,bm90IGEgc2lnbmF0dXJl v1,@@@ {headers[StandardWebhooks.SignatureHeader]}";

        Assert.True(_signer.Verify(headers, Body, SentAt).Valid);
    }

    [Fact]
    public void SignatureOfAnotherSchemeIsNotAccepted()
    {
        var headers = Headers(_signer, "msg_1", SentAt, Body);
        headers[StandardWebhooks.SignatureHeader] = headers[StandardWebhooks.SignatureHeader].ToString().Replace("v1,", "v2,", StringComparison.Ordinal);

        Assert.Equal(WebhookVerification.Rejected("no_matching_signature"), _signer.Verify(headers, Body, SentAt));
    }

    [Theory]
    [InlineData("")]
    [InlineData("whsec_")]
    [InlineData("whsec_not base64!")]
    [InlineData("whsec_c2hvcnQ=")]
    public void MalformedSecretIsRefused(string secret)
    {
        Assert.False(StandardWebhooks.IsValidSecret(secret));
        Assert.Throws<ArgumentException>(() => new StandardWebhooks(secret));
    }

    [Fact]
    public void GeneratedSecretHasTheWhsecFormat()
    {
        var secret = StandardWebhooks.GenerateSecret();

        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(secret["whsec_".Length..]).Length);
    }

    private static HeaderDictionary Headers(StandardWebhooks signer, string id, DateTimeOffset timestamp, byte[] body) =>
        new(signer.CreateHeaders(id, timestamp, body).ToDictionary(h => h.Key, h => new Microsoft.Extensions.Primitives.StringValues(h.Value)));
}
