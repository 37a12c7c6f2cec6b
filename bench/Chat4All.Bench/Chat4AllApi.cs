using System.Net;
using System.Text;
using System.Text.Json;

namespace Chat4All.Bench;

/// <summary>A conversation the messages scenario sends to, with the demo users (by index) who may send in it.</summary>
internal sealed record BenchConversation(string ConversationId, string Type, IReadOnlyList<int> MemberIndexes);

/// <summary>The 202 body of <c>POST v1/messages</c> (the fields the bench reads).</summary>
internal sealed record AcceptedMessage(string? Status, string? MessageId, DateTimeOffset CreatedAt);

/// <summary>One delivery of <c>GET v1/messages/{id}</c>: a (recipient, channel) pair and where it got to.</summary>
internal sealed record DeliveryState(string? RecipientId, string? Channel, string? Status, DateTimeOffset UpdatedAt, string? Error, string? FallbackFrom);

/// <summary>The fields of <c>GET v1/messages/{id}</c> the deliveries scenario reads.</summary>
internal sealed record MessageDeliveries(string? MessageId, DateTimeOffset CreatedAt, IReadOnlyList<DeliveryState>? Deliveries);

/// <summary>One entry of <c>GET v1/admin/simulator/channels</c>.</summary>
internal sealed record SimulatedChannelState(string Channel, bool Outage);

/// <summary>The Chat4All endpoints the bench drives, plus the up-front calls that prove the setup works.</summary>
internal static class Chat4AllApi
{
    public const string TokenPath = "auth/token";
    public const string MePath = "v1/me";
    public const string ConversationsPath = "v1/conversations";
    public const string MessagesPath = "v1/messages";
    public const string MetricsPath = "metrics";
    public const string SimulatorChannelsPath = "v1/admin/simulator/channels";
    public const string AdminUsersPath = "v1/admin/users";
    public const string WebSocketPath = "ws";

    private static readonly JsonSerializerOptions SnakeCase = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>A typical short chat line; the same text goes into pgbench's rows.</summary>
    public const string MessageText = "Chat4All bench: a short text message, about as long as a typical chat line.";

    /// <summary>
    /// Issues one token for <paramref name="user"/>. Failures throw <see cref="InvalidOperationException"/>
    /// with the status and the start of the body, because a wrong secret or a host without the demo
    /// users must stop the bench before it records ten seconds of 401s.
    /// </summary>
    public static async Task<string> FetchAccessTokenAsync(HttpClient client, Uri baseAddress, DemoUser user, CancellationToken cancellationToken)
    {
        try
        {
            return (await Client.TokenEndpoint.ClientCredentialsAsync(client, baseAddress, user.ClientId, user.ClientSecret, cancellationToken)).AccessToken;
        }
        catch (Client.Chat4AllApiException ex)
        {
            throw new InvalidOperationException(
                $"POST {TokenPath} for demo user '{user.Name}' ({user.ClientId}) returned {(int)ex.Status}: {Excerpt(ex.Body ?? ex.Message)}", ex);
        }
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

    /// <summary>
    /// <c>POST v1/conversations</c> as the user holding <paramref name="accessToken"/>, through the SDK
    /// (setup is not measured: its retries and rate-limit waits are what setup wants); returns the
    /// conversation id. A private pair that already exists comes back with 200, which is fine: reruns
    /// reuse the same conversations.
    /// </summary>
    public static async Task<string> CreateConversationAsync(
        HttpClient client, Uri baseAddress, string accessToken, string type, IReadOnlyList<string> otherMembers, CancellationToken cancellationToken)
    {
        var sdk = new Client.Chat4AllClient(new Client.ApiConnection(SetupHttp(client, baseAddress), new FixedToken(accessToken)));
        // Users just provisioned become members once messaging has consumed their user.created (ADR 0028).
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var conversation = await sdk.CreateConversationAsync(type, otherMembers.Select(Guid.Parse), cancellationToken: cancellationToken);
                return conversation.ConversationId.ToString();
            }
            catch (Client.Chat4AllApiException ex) when (ex.Status == HttpStatusCode.UnprocessableEntity && attempt < 50)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
            catch (Client.Chat4AllApiException ex) when (ex.Status == HttpStatusCode.TooManyRequests)
            {
                throw new RateLimitedException(RateLimitedException.Remedy, ex);
            }
            catch (Client.Chat4AllApiException ex) when (ex.Status is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
            {
                throw new InvalidOperationException(
                    $"POST {ConversationsPath} returned {(int)ex.Status}: this host does not serve the messaging API. " +
                    "Run a build that includes it, with the messaging target enabled.", ex);
            }
            catch (Client.Chat4AllApiException ex)
            {
                throw new InvalidOperationException($"POST {ConversationsPath} ({type}) returned {(int)ex.Status}: {Excerpt(ex.Body ?? ex.Message)}", ex);
            }
        }
    }

    /// <summary>
    /// The SDK resolves relative paths against its client's base address; the bench's shared client has
    /// none (its measured requests carry absolute URIs), so setup gets one per host, made once.
    /// </summary>
    private static HttpClient SetupHttp(HttpClient measured, Uri baseAddress) =>
        SetupClients.GetOrAdd(baseAddress, address => new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = address, Timeout = measured.Timeout });

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Uri, HttpClient> SetupClients = new();

    /// <summary>A token the bench already fetched (and refreshes itself when it runs long).</summary>
    private sealed class FixedToken(string accessToken) : Client.IAccessTokenSource
    {
        public ValueTask<string> GetAccessTokenAsync(bool forceRefresh, CancellationToken cancellationToken) => ValueTask.FromResult(accessToken);
    }

    /// <summary>
    /// One message, checked in full (202, <c>status: accepted</c>, no rate limiting announced), so a
    /// broken send path or an enabled rate limit stops the bench before any measurement.
    /// </summary>
    public static async Task CheckSendMessageAsync(HttpClient client, Uri baseAddress, string accessToken, string conversationId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, MessagesPath))
        {
            Content = new ByteArrayContent(MessageBody(conversationId)),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + accessToken);
        using var response = await client.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        ThrowIfRateLimited(response);
        if (response.StatusCode != HttpStatusCode.Accepted || ReadString(body, "status") != "accepted")
        {
            throw new InvalidOperationException($"POST {MessagesPath} returned {(int)response.StatusCode}, expected 202 accepted: {Excerpt(body)}");
        }
    }

    /// <summary>
    /// The request body for one text message; built once per conversation and reused. Without
    /// <paramref name="channels"/> the field is left out (the server's default).
    /// </summary>
    public static byte[] MessageBody(string conversationId, IReadOnlyList<string>? channels = null)
    {
        var body = new Dictionary<string, object>
        {
            ["conversation_id"] = conversationId,
            ["payload"] = new Dictionary<string, string> { ["type"] = "text", ["text"] = MessageText },
        };
        if (channels is not null)
        {
            body["channels"] = channels;
        }

        return JsonSerializer.SerializeToUtf8Bytes(body);
    }

    /// <summary>
    /// One <c>POST v1/messages</c> with a prebuilt body. Returns the accepted message, or null with
    /// <paramref name="error"/> set for anything but <c>202 {"status":"accepted",...}</c>; a 429 or an
    /// announced rate limit throws <see cref="RateLimitedException"/>.
    /// </summary>
    public static async Task<(AcceptedMessage? Message, string? Error)> SendMessageAsync(
        HttpClient client, Uri baseAddress, string accessToken, byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, MessagesPath)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + accessToken);
        using var response = await client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        ThrowIfRateLimited(response);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            return (null, $"POST {MessagesPath} returned {(int)response.StatusCode}: {Excerpt(text)}");
        }

        try
        {
            var accepted = JsonSerializer.Deserialize<AcceptedMessage>(text, SnakeCase);
            if (accepted is { Status: "accepted", MessageId.Length: > 0 })
            {
                return (accepted, null);
            }
        }
        catch (JsonException)
        {
            // Reported below together with the body.
        }

        return (null, $"POST {MessagesPath} returned 202 without status accepted and a message_id: {Excerpt(text)}");
    }

    /// <summary>
    /// <c>GET v1/messages/{id}</c>: the message's <c>created_at</c> and its deliveries. Anything but a
    /// 200 with that shape throws <see cref="InvalidOperationException"/>.
    /// </summary>
    public static async Task<MessageDeliveries> GetMessageAsync(
        HttpClient client, Uri baseAddress, string accessToken, string messageId, CancellationToken cancellationToken)
    {
        var path = MessagesPath + "/" + Uri.EscapeDataString(messageId);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, path));
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + accessToken);
        using var response = await client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET {path} returned {(int)response.StatusCode}: {Excerpt(text)}");
        }

        try
        {
            if (JsonSerializer.Deserialize<MessageDeliveries>(text, SnakeCase) is { Deliveries: not null } message)
            {
                return message;
            }
        }
        catch (JsonException)
        {
            // Reported below together with the body.
        }

        throw new InvalidOperationException($"GET {path} returned 200 without created_at and deliveries: {Excerpt(text)}");
    }

    /// <summary>
    /// <c>GET v1/admin/simulator/channels</c> with an admin token: the simulated channels that are
    /// switched into an outage. Null when the host does not offer the call (or the token may not use it).
    /// </summary>
    public static async Task<IReadOnlyList<string>?> SimulatedOutagesAsync(HttpClient client, Uri baseAddress, string adminToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, SimulatorChannelsPath));
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + adminToken);
        using var response = await client.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return null;
        }

        try
        {
            var states = JsonSerializer.Deserialize<List<SimulatedChannelState>>(await response.Content.ReadAsStringAsync(cancellationToken), SnakeCase);
            return states?.Where(s => s.Outage).Select(s => s.Channel).ToList();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// <c>POST v1/admin/users</c> with an admin token: provisions one user and returns its
    /// credentials. Anything but a 201 with client_id, client_secret and user_id throws
    /// <see cref="InvalidOperationException"/>.
    /// </summary>
    public static async Task<DemoUser> CreateUserAsync(
        HttpClient client, Uri baseAddress, string adminToken, string name, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(new Dictionary<string, object> { ["name"] = name, ["scopes"] = scopes });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, AdminUsersPath))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + adminToken);
        using var response = await client.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        ThrowIfRateLimited(response);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST {AdminUsersPath} (as the admin demo user) returned {(int)response.StatusCode}: {Excerpt(body)}");
        }

        try
        {
            if (JsonSerializer.Deserialize<DemoUser>(body) is { ClientId.Length: > 0, ClientSecret.Length: > 0, UserId.Length: > 0 } user)
            {
                return user;
            }
        }
        catch (JsonException)
        {
            // Reported below together with the body.
        }

        throw new InvalidOperationException($"POST {AdminUsersPath} returned 201 without client_id, client_secret and user_id: {Excerpt(body)}");
    }

    private static void ThrowIfRateLimited(HttpResponseMessage response)
    {
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            throw RateLimitedException.From(response);
        }

        // With the limiter on, every limited response carries the policy, so the first setup call
        // already tells; stopping here beats discovering it 60 requests into a measured window.
        if (RateLimitedException.IsAnnounced(response))
        {
            throw RateLimitedException.Announced(response);
        }
    }

    private static string? ReadString(string body, string property)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object &&
                json.RootElement.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
                    ? value.GetString()
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static string Excerpt(string body) => body.Length <= 300 ? body : body[..300] + "...";
}
