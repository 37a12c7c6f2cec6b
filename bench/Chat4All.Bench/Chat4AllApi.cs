using System.Text.Json;

namespace Chat4All.Bench;

/// <summary>The two Chat4All endpoints the bench drives, plus the up-front calls that prove the setup works.</summary>
internal static class Chat4AllApi
{
    public const string TokenPath = "auth/token";
    public const string MePath = "v1/me";

    /// <summary>
    /// Issues one token for <paramref name="user"/>. Failures throw <see cref="InvalidOperationException"/>
    /// with the status and the start of the body, because a wrong secret or a host without the demo
    /// users must stop the bench before it records ten seconds of 401s.
    /// </summary>
    public static async Task<string> FetchAccessTokenAsync(HttpClient client, Uri baseAddress, DemoUser user, CancellationToken cancellationToken)
    {
        using var content = new FormUrlEncodedContent(
        [
            new("grant_type", "client_credentials"),
            new("client_id", user.ClientId),
            new("client_secret", user.ClientSecret),
        ]);
        using var response = await client.PostAsync(new Uri(baseAddress, TokenPath), content, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(
                $"POST {TokenPath} for demo user '{user.Name}' ({user.ClientId}) returned {(int)response.StatusCode}: {Excerpt(body)}");
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object &&
                json.RootElement.TryGetProperty("access_token", out var token) && token.ValueKind == JsonValueKind.String &&
                token.GetString() is { Length: > 0 } accessToken)
            {
                return accessToken;
            }
        }
        catch (JsonException)
        {
            // Reported below together with the non-JSON body.
        }

        throw new InvalidOperationException($"POST {TokenPath} for demo user '{user.Name}' returned 200 without an access_token: {Excerpt(body)}");
    }

    /// <summary>One <c>GET v1/me</c>, so a token the API rejects fails loudly instead of as a column of errors.</summary>
    public static async Task CheckMeAsync(HttpClient client, Uri baseAddress, string accessToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, MePath));
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + accessToken);
        using var response = await client.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"GET {MePath} with a fresh token returned {(int)response.StatusCode}: {Excerpt(body)}");
        }
    }

    private static string Excerpt(string body) => body.Length <= 300 ? body : body[..300] + "...";
}
