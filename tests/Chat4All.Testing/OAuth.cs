using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Chat4All.Testing;

public sealed record TokenResponse(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("token_type")] string TokenType,
    [property: JsonPropertyName("expires_in")] int ExpiresIn,
    [property: JsonPropertyName("refresh_token")] string? RefreshToken,
    [property: JsonPropertyName("scope")] string? Scope);

/// <summary>Raw RFC 6749 calls, as any OAuth client would make them.</summary>
public static class OAuth
{
    public static Task<HttpResponseMessage> PostTokenAsync(HttpClient client, params (string Key, string Value)[] form) =>
        PostFormAsync(client, "/auth/token", form);

    public static Task<HttpResponseMessage> PostFormAsync(HttpClient client, string path, params (string Key, string Value)[] form) =>
        client.PostAsync(path, new FormUrlEncodedContent(form.Select(f => new KeyValuePair<string, string>(f.Key, f.Value))));

    public static async Task<TokenResponse> RequestTokenAsync(HttpClient client, TestUser user, string? scope = null)
    {
        var form = new List<(string, string)>
        {
            ("grant_type", "client_credentials"), ("client_id", user.ClientId), ("client_secret", user.ClientSecret),
        };
        if (scope is not null)
        {
            form.Add(("scope", scope));
        }

        using var response = await PostTokenAsync(client, [.. form]);
        return await ReadTokenAsync(response);
    }

    public static async Task<HttpResponseMessage> RefreshAsync(HttpClient client, TestUser user, string refreshToken) =>
        await PostFormAsync(client, "/auth/refresh",
            ("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", user.ClientId), ("client_secret", user.ClientSecret));

    public static async Task<TokenResponse> ReadTokenAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new HttpRequestException($"Token request failed with {(int)response.StatusCode}: {body}");
        }

        return JsonSerializer.Deserialize<TokenResponse>(body)!;
    }

    public static AuthenticationHeaderValue Basic(string clientId, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>())!;
}
