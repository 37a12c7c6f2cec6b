using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat4All.Contracts;

namespace Chat4All.Host.Tests;

/// <summary>
/// A real host: alice and bob of the default tenant share a conversation with one message, one
/// assembled file and one pending upload, and alice has a webhook subscription; eve is of the same
/// tenant and in nothing; mallory is of another tenant; root has the admin scope.
/// </summary>
public sealed class OpenApiPlatform : PlatformFixture
{
    public TestUser Alice { get; private set; } = null!;

    public TestUser Bob { get; private set; } = null!;

    public Guid ConversationId { get; private set; }

    public Guid MessageId { get; private set; }

    public Guid UploadId { get; private set; }

    public Guid FileId { get; private set; }

    /// <summary>Alice's webhook subscription (to a closed loopback port: nothing is ever delivered).</summary>
    public Guid SubscriptionId { get; private set; }

    public HttpClient AsAlice { get; private set; } = null!;

    public HttpClient AsEve { get; private set; } = null!;

    public HttpClient AsMallory { get; private set; } = null!;

    public HttpClient AsRoot { get; private set; } = null!;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Chat4All:RateLimiting:Enabled"] = "false",
        ["Chat4All:Webhooks:AllowedHosts:0"] = "127.0.0.1",
        ["Chat4All:EventBus:KeyPrefix"] = "c4a-" + Guid.NewGuid().ToString("N")[..8],
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Alice = await CreateUserAsync();
        Bob = await CreateUserAsync();
        AsAlice = await CreateAuthenticatedClientAsync(Alice);
        AsEve = await CreateAuthenticatedClientAsync(await CreateUserAsync());
        AsMallory = await CreateAuthenticatedClientAsync(await Host.CreateUserInTenantAsync(Guid.NewGuid()));
        AsRoot = await CreateAuthenticatedClientAsync(await CreateUserAsync(ChatScopes.Admin, ChatScopes.Messages, ChatScopes.Files));
        using var created = await AsAlice.PostAsJsonAsync("/v1/conversations", new { type = "private", members = new[] { Bob.UserId } });
        ConversationId = (await created.ReadJsonAsync()).GetProperty("conversation_id").GetGuid();
        using var sent = await AsAlice.PostAsJsonAsync("/v1/messages",
            new { conversation_id = ConversationId, payload = new { type = "text", text = "the only message" } });
        MessageId = (await sent.ReadJsonAsync()).GetProperty("message_id").GetGuid();
        var assembled = await InitiateUploadAsync();
        using (var chunk = new ByteArrayContent("file bytes"u8.ToArray()))
        {
            chunk.Headers.ContentType = new("application/octet-stream");
            (await AsAlice.PostAsync($"/v1/files/{assembled}/chunks?chunk_number=1", chunk)).EnsureSuccessStatusCode();
        }

        (await AsAlice.PostAsync($"/v1/files/{assembled}/complete", null)).EnsureSuccessStatusCode();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await AsAlice.GetFromJsonAsync<JsonElement>($"/v1/files/{assembled}/status", timeout.Token)) is var status &&
            status.GetProperty("status").GetString() != "completed")
        {
            await Task.Delay(100, timeout.Token);
        }

        FileId = (await AsAlice.GetFromJsonAsync<JsonElement>($"/v1/files/{assembled}/status")).GetProperty("file_id").GetGuid();
        UploadId = await InitiateUploadAsync();
        using var subscribed = await AsAlice.PostAsJsonAsync("/v1/webhooks/subscriptions", new { url = "http://127.0.0.1:9/alice", events = new[] { Topics.MessageCreated } });
        SubscriptionId = (await subscribed.ReadJsonAsync()).GetProperty("subscription_id").GetGuid();
    }

    /// <summary>Starts a 10-byte upload into the conversation, once files has heard of it (from conversation.created).</summary>
    private async Task<Guid> InitiateUploadAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var initiated = await AsAlice.PostAsJsonAsync("/v1/files/initiate",
                new { conversation_id = ConversationId, filename = "a.bin", file_size = 10, mime_type = "application/octet-stream" }, timeout.Token);
            if (initiated.StatusCode == HttpStatusCode.Created)
            {
                return (await initiated.ReadJsonAsync()).GetProperty("upload_id").GetGuid();
            }

            await Task.Delay(100, timeout.Token);
        }
    }

    public override async Task DisposeAsync()
    {
        AsAlice.Dispose();
        AsEve.Dispose();
        AsMallory.Dispose();
        AsRoot.Dispose();
        await base.DisposeAsync();
    }
}

/// <summary>
/// Generated bad input for every operation of <c>/openapi/v1.json</c> (bodies, forms, queries, path
/// values), and every conversation-scoped operation as another tenant and as a non-member: always a 4xx
/// problem (RFC 6749 JSON on OAuth's endpoints), never a 5xx, never a change. The full access matrix,
/// disabled users included, is <see cref="AccessMatrixTests"/>.
/// </summary>
public sealed class OpenApiPropertyTests(OpenApiPlatform platform) : IClassFixture<OpenApiPlatform>
{
    private const int CasesPerOperation = 30;
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(3);

    /// <summary>Values that are wrong somewhere: wrong types, nulls, NULs, over-long and odd strings, extremes.</summary>
    private static readonly JsonNode?[] BadValues =
    [
        null, "", "\u0000", "a\u0000b", new string('x', 1001), new string('y', 70_000), "not-a-uuid", "00000000-0000-0000-0000-000000000000",
        -1, 0, long.MaxValue, 1e308, true, new JsonArray(), new JsonArray((JsonNode?)null), new JsonObject(), "../../etc/passwd", "'; DROP TABLE x; --",
        "\ud83d\ude00", "%00",
    ];

    // A NUL in the path (%00) is refused by Kestrel itself before any middleware runs; it gets a
    // problem body all the same (docs/adr/0062).
    private static readonly string[] BadPathValues =
        ["%00", "not-a-uuid", "00000000-0000-0000-0000-000000000000", Guid.NewGuid().ToString(), "%2e%2e", new string('z', 300), "-1", "whatsapp%20", "%E2%80%8B"];

    private static readonly string[] BadQueryValues = ["-1", "0", "99999999999999999999", "abc", "%00", new string('q', 2000), "", "1e9", "null"];

    [Fact]
    public async Task GeneratedBadInputToEveryOperationIsA4xxProblemAndChangesNothing()
    {
        var random = new Random(16);
        var operations = await OperationsAsync();
        var before = await SnapshotAsync();
        var deadline = DateTime.UtcNow + Budget;
        var failures = new List<string>();
        var tried = 0;
        foreach (var operation in operations)
        {
            for (var i = 0; i < CasesPerOperation && DateTime.UtcNow < deadline; i++)
            {
                var path = Fill(operation.Path, _ => BadPathValues[random.Next(BadPathValues.Length)]);
                var query = string.Join('&', operation.QueryParameters.Where(_ => random.Next(2) == 0)
                    .Select(q => $"{q}={Uri.EscapeDataString(BadQueryValues[random.Next(BadQueryValues.Length)])}"));
                using var request = new HttpRequestMessage(new HttpMethod(operation.Method), query.Length > 0 ? $"{path}?{query}" : path);
                var body = operation.FormBody ? BadForm(operation.BodyProperties, random)
                    : operation.HasBody ? BadBody(operation.BodyProperties, random) : "";
                if (operation.HasBody)
                {
                    request.Content = new StringContent(body, Encoding.UTF8, operation.FormBody ? "application/x-www-form-urlencoded" : "application/json");
                }

                var client = path.StartsWith("/v1/admin", StringComparison.Ordinal) ? platform.AsRoot : platform.AsAlice;
                using var response = await client.SendAsync(request);
                tried++;
                var status = (int)response.StatusCode;
                var mediaType = response.Content.Headers.ContentType?.MediaType;
                // OAuth answers its errors as RFC 6749 JSON ({"error": ...}), everything else as a problem (docs/api.md §1.2).
                var errorMediaType = operation.OAuth ? new[] { "application/json", "application/problem+json" } : ["application/problem+json"];
                if (status >= 500 || (status >= 400 && !errorMediaType.Contains(mediaType)))
                {
                    failures.Add($"{operation.Method} {request.RequestUri} {(body.Length > 120 ? body[..120] + "…" : body)} → {status} {mediaType}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.True(tried >= operations.Count, $"only {tried} cases for {operations.Count} operations");
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task EveryConversationScopedOperationIs404ToAnotherTenantAnd403Or404ToANonMember()
    {
        var operations = await OperationsAsync();
        var scoped = operations.Where(o => o.Path.Contains("{conversationId}", StringComparison.Ordinal) || o.Path.Contains("{messageId}", StringComparison.Ordinal)).ToList();
        var before = await SnapshotAsync();

        Assert.NotEmpty(scoped);
        foreach (var operation in scoped)
        {
            var path = Fill(operation.Path, name => name switch
            {
                "conversationId" => platform.ConversationId.ToString(),
                "messageId" => platform.MessageId.ToString(),
                "userId" => platform.Alice.UserId.ToString(),
                _ => throw new InvalidOperationException($"no value for {{{name}}}"),
            });
            // A valid body for the operation, so the answer is about access, not input.
            var body = !operation.HasBody ? null
                : operation.BodyProperties.Contains("text") ? """{"text":"let me in"}"""
                : """{"up_to_seq":1}""";
            var messageScoped = operation.Path.Contains("{messageId}", StringComparison.Ordinal);

            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(platform.AsMallory, operation.Method, path, body));
            Assert.Equal(messageScoped ? HttpStatusCode.NotFound : HttpStatusCode.Forbidden, await StatusAsync(platform.AsEve, operation.Method, path, body));
        }

        // Sending into it and listing it are the remaining ways in; presence says nothing across tenants.
        var send = new { conversation_id = platform.ConversationId, payload = new { type = "text", text = "let me in" } };
        using var mallorySend = await platform.AsMallory.PostAsJsonAsync("/v1/messages", send);
        using var eveSend = await platform.AsEve.PostAsJsonAsync("/v1/messages", send);
        var malloryList = await platform.AsMallory.GetFromJsonAsync<JsonElement>("/v1/conversations");
        var presence = await platform.AsMallory.GetFromJsonAsync<JsonElement>($"/v1/presence?user_ids={platform.Alice.UserId},{platform.Bob.UserId}");
        using var malloryOpens = await platform.AsMallory.PostAsJsonAsync("/v1/conversations", new { type = "private", members = new[] { platform.Alice.UserId } });

        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.Forbidden), (mallorySend.StatusCode, eveSend.StatusCode));
        Assert.Empty(malloryList.GetProperty("items").EnumerateArray());
        Assert.Empty(presence.GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, malloryOpens.StatusCode);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task EveryUploadFileAndUserOperationIs404ToAnotherTenantAndUploadsAndFiles404ToANonMember()
    {
        var operations = await OperationsAsync();
        var scoped = operations.Where(o => o.Path.Contains("{uploadId}", StringComparison.Ordinal) || o.Path.Contains("{fileId}", StringComparison.Ordinal)
            || o.Path == "/v1/users/{userId}").ToList();
        var before = await platform.AsAlice.GetStringAsync($"/v1/files/{platform.UploadId}/status");

        Assert.True(scoped.Count >= 6, $"only {scoped.Count} upload, file and user operations");
        foreach (var operation in scoped)
        {
            var path = Fill(operation.Path, name => name switch
            {
                "uploadId" => platform.UploadId.ToString(),
                "fileId" => platform.FileId.ToString(),
                "userId" => platform.Alice.UserId.ToString(),
                _ => throw new InvalidOperationException($"no value for {{{name}}}"),
            });
            var isChunk = path.EndsWith("/chunks", StringComparison.Ordinal);
            var directory = operation.Path.StartsWith("/v1/users/", StringComparison.Ordinal);

            Assert.True(await StatusAsync(platform.AsMallory, operation.Method, isChunk ? path + "?chunk_number=1" : path, null, isChunk) == HttpStatusCode.NotFound,
                $"{operation.Method} {operation.Path} as another tenant");
            // The directory is the whole tenant's (a non-member sees alice); uploads and files are their conversation's.
            Assert.True(await StatusAsync(platform.AsEve, operation.Method, isChunk ? path + "?chunk_number=1" : path, null, isChunk) ==
                (directory ? HttpStatusCode.OK : HttpStatusCode.NotFound), $"{operation.Method} {operation.Path} as a non-member");
        }

        Assert.Equal(before, await platform.AsAlice.GetStringAsync($"/v1/files/{platform.UploadId}/status"));
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string method, string path, string? body, bool octets = false)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        else if (octets)
        {
            request.Content = new ByteArrayContent("file bytes"u8.ToArray());
            request.Content.Headers.ContentType = new("application/octet-stream");
        }

        using var response = await client.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        return response.StatusCode;
    }

    /// <summary>
    /// What a rejected request must not change: alice's conversations, their history and read positions,
    /// her channels and webhook subscriptions, and which users exist. (Not names: a generated value such
    /// as <c>%00</c> or an emoji is a valid display name, and PATCH /v1/me may rightly accept it.)
    /// </summary>
    private async Task<string> SnapshotAsync()
    {
        var users = await platform.AsRoot.GetFromJsonAsync<JsonElement>("/v1/admin/users?limit=100");
        string[] reads =
        [
            await platform.AsAlice.GetStringAsync("/v1/conversations"),
            await platform.AsAlice.GetStringAsync($"/v1/conversations/{platform.ConversationId}/messages?limit=100"),
            await platform.AsAlice.GetStringAsync("/v1/me/channels"),
            await platform.AsAlice.GetStringAsync("/v1/webhooks/subscriptions"),
            string.Join(',', users.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("user_id").GetString()).Order()),
        ];
        return string.Join('\n', reads);
    }

    private async Task<List<Operation>> OperationsAsync()
    {
        using var client = platform.Host.CreateHttpClient();
        var document = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!;
        var operations = new List<Operation>();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                var parameters = operation!["parameters"]?.AsArray() ?? [];
                var content = operation["requestBody"]?["content"];
                var form = content?["application/x-www-form-urlencoded"]?["schema"];
                var body = content?["application/json"]?["schema"] ?? form;
                var properties = Resolve(document, body)?["properties"]?.AsObject().Select(p => p.Key).ToList() ?? [];
                operations.Add(new Operation(method.ToUpperInvariant(), path,
                    [.. parameters.Where(p => p!["in"]!.GetValue<string>() == "query").Select(p => p!["name"]!.GetValue<string>())],
                    body is not null, properties, form is not null));
            }
        }

        // /ws is an upgrade, not a request/response operation (its frames have tests of their own); every
        // other operation is exercised, OAuth's with bad forms.
        return [.. operations.Where(o => o.Path != "/ws")];
    }

    private static JsonNode? Resolve(JsonNode document, JsonNode? schema) =>
        schema?["$ref"]?.GetValue<string>() is { } reference
            ? document["components"]!["schemas"]![reference.Split('/')[^1]]
            : schema;

    private static string Fill(string path, Func<string, string> value)
    {
        var result = new StringBuilder();
        var rest = path.AsSpan();
        while (rest.IndexOf('{') is var open and >= 0)
        {
            var close = rest.IndexOf('}');
            result.Append(rest[..open]).Append(value(rest[(open + 1)..close].ToString()));
            rest = rest[(close + 1)..];
        }

        return result.Append(rest).ToString();
    }

    /// <summary>Not JSON, the wrong JSON type, or the documented object with some properties set to bad values.</summary>
    private static string BadBody(IReadOnlyList<string> properties, Random random)
    {
        switch (random.Next(6))
        {
            case 0:
                return new[] { "", "{", "null", "[]", "\"text\"", "42", "{\"a\":", "\u0000" }[random.Next(8)];
            case 1:
                return "{}";
            default:
                var body = new JsonObject();
                foreach (var property in properties.Where(_ => random.Next(3) > 0))
                {
                    var value = BadValues[random.Next(BadValues.Length)];
                    body[property] = value?.DeepClone();
                    if (property == "payload" && random.Next(2) == 0)
                    {
                        body[property] = new JsonObject { ["type"] = "text", ["text"] = BadValues[random.Next(BadValues.Length)]?.DeepClone() };
                    }
                }

                return body.ToJsonString();
        }
    }

    /// <summary>A form that is not one, or the documented fields (and a stray one) with bad values, some repeated.</summary>
    private static string BadForm(IReadOnlyList<string> properties, Random random)
    {
        if (random.Next(5) == 0)
        {
            return new[] { "", "=", "&&&", "%", "%zz=1", "grant_type", "\u0000", "{\"grant_type\":\"client_credentials\"}" }[random.Next(8)];
        }

        var fields = properties.Append("stray").Where(_ => random.Next(3) > 0)
            .SelectMany(name => Enumerable.Repeat(name, random.Next(4) == 0 ? 2 : 1))
            .Select(name => name + "=" + Uri.EscapeDataString(AsFormValue(BadValues[random.Next(BadValues.Length)])));
        return string.Join('&', fields);

        static string AsFormValue(JsonNode? value) =>
            value is JsonValue scalar && scalar.TryGetValue<string>(out var text) ? text : value?.ToJsonString() ?? "";
    }

    private sealed record Operation(string Method, string Path, IReadOnlyList<string> QueryParameters, bool HasBody, IReadOnlyList<string> BodyProperties, bool FormBody)
    {
        public bool OAuth => Path.StartsWith("/auth/", StringComparison.Ordinal) || Path.StartsWith("/.well-known/", StringComparison.Ordinal);
    }
}
