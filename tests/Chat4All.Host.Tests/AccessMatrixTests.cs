using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Chat4All.Host.Tests;

/// <summary>
/// Every operation of <c>/openapi/v1.json</c> tried as a user of another tenant (mallory), as a user of
/// alice's tenant who shares nothing with her (eve) and as a disabled user, against alice's
/// conversation, message, upload, file, user and webhook subscription: each answer is the one the
/// matrix below names, a 2xx never carries alice's ids to whom they are not shown, and alice's
/// conversation is unchanged. An operation missing from the matrix, or one the document no longer
/// has, fails the test, so a new endpoint cannot ship without its row.
/// </summary>
public sealed class AccessMatrixTests(OpenApiPlatform platform) : IClassFixture<OpenApiPlatform>
{
    private const HttpStatusCode Ok = HttpStatusCode.OK, Created = HttpStatusCode.Created, NoContent = HttpStatusCode.NoContent,
        Forbidden = HttpStatusCode.Forbidden, NotFound = HttpStatusCode.NotFound, Unprocessable = HttpStatusCode.UnprocessableEntity;

    /// <summary>
    /// Per operation: the status for mallory (another tenant), for eve (same tenant, a non-member), and the
    /// valid body sent (so the answer is about access, not input). Neither has the admin scope. A disabled
    /// user gets 401 on every one of them. <c>null</c> rows are not a user's: anonymous by design.
    /// </summary>
    private static readonly Dictionary<string, (HttpStatusCode OtherTenant, HttpStatusCode NonMember, string? Body)?> Matrix = new()
    {
        // Oneself: nothing of anyone else's is named.
        ["GET /v1/me"] = (Ok, Ok, null),
        ["PATCH /v1/me"] = (Ok, Ok, "{\"name\":\"{self}\"}"),
        ["GET /v1/me/channels"] = (Ok, Ok, null),
        ["PUT /v1/me/channels/{channel}"] = (Ok, Ok, "{\"address\":\"@matrix_{random}\"}"),
        ["DELETE /v1/me/channels/{channel}"] = (NoContent, NoContent, null),
        ["PUT /v1/me/channels/order"] = (Ok, Ok, "{\"channels\":[\"telegram\"]}"),
        // Alice's conversation and what hangs off it.
        ["POST /v1/conversations"] = (Unprocessable, Created, "{\"type\":\"private\",\"members\":[\"{alice}\"]}"),
        ["GET /v1/conversations"] = (Ok, Ok, null),
        ["GET /v1/conversations/{conversationId}"] = (NotFound, Forbidden, null),
        ["PATCH /v1/conversations/{conversationId}"] = (NotFound, Forbidden, "{\"name\":\"taken over\",\"description\":\"x\"}"),
        ["GET /v1/conversations/{conversationId}/messages"] = (NotFound, Forbidden, null),
        ["POST /v1/conversations/{conversationId}/read"] = (NotFound, Forbidden, "{\"up_to_seq\":1}"),
        ["POST /v1/conversations/{conversationId}/members"] = (NotFound, Forbidden, "{\"user_ids\":[\"{self}\"]}"),
        ["DELETE /v1/conversations/{conversationId}/members/{userId}"] = (NotFound, Forbidden, null),
        ["POST /v1/messages"] = (NotFound, Forbidden, "{\"conversation_id\":\"{conversation}\",\"payload\":{\"type\":\"text\",\"text\":\"let me in\"}}"),
        ["GET /v1/messages/{messageId}"] = (NotFound, NotFound, null),
        ["PATCH /v1/messages/{messageId}"] = (NotFound, NotFound, "{\"text\":\"rewritten\"}"),
        ["DELETE /v1/messages/{messageId}"] = (NotFound, NotFound, null),
        ["GET /v1/messages/{messageId}/edits"] = (NotFound, NotFound, null),
        ["POST /v1/files/initiate"] = (NotFound, Forbidden, "{\"conversation_id\":\"{conversation}\",\"filename\":\"a.bin\",\"file_size\":10,\"mime_type\":\"application/octet-stream\"}"),
        ["POST /v1/files/{uploadId}/chunks"] = (NotFound, NotFound, null),
        ["GET /v1/files/{uploadId}/status"] = (NotFound, NotFound, null),
        ["POST /v1/files/{uploadId}/complete"] = (NotFound, NotFound, null),
        ["GET /v1/files/{fileId}"] = (NotFound, NotFound, null),
        ["GET /v1/files/{fileId}/content"] = (NotFound, NotFound, null),
        // The tenant's directory and presence: the whole tenant's directory, presence only to contacts.
        ["GET /v1/users"] = (Ok, Ok, null),
        ["GET /v1/users/{userId}"] = (NotFound, Ok, null),
        ["GET /v1/presence"] = (Ok, Ok, null),
        // Alice's webhook subscription.
        ["POST /v1/webhooks/subscriptions"] = (Created, Created, "{\"url\":\"http://127.0.0.1:9/matrix\",\"events\":[\"message.created\"]}"),
        ["GET /v1/webhooks/subscriptions"] = (Ok, Ok, null),
        ["GET /v1/webhooks/subscriptions/{subscriptionId}"] = (NotFound, NotFound, null),
        ["DELETE /v1/webhooks/subscriptions/{subscriptionId}"] = (NotFound, NotFound, null),
        ["POST /v1/webhooks/subscriptions/{subscriptionId}/enable"] = (NotFound, NotFound, null),
        ["GET /v1/webhooks/subscriptions/{subscriptionId}/deliveries"] = (NotFound, NotFound, null),
        ["POST /v1/webhooks/subscriptions/{subscriptionId}/deliveries/{deliveryId}/replay"] = (NotFound, NotFound, null),
        // Administration: the admin scope, whoever the target.
        ["GET /v1/admin/users"] = (Forbidden, Forbidden, null),
        ["POST /v1/admin/users"] = (Forbidden, Forbidden, "{\"name\":\"matrix-{random}\",\"scopes\":[\"messages\"]}"),
        ["PATCH /v1/admin/users/{userId}"] = (Forbidden, Forbidden, "{\"name\":\"renamed-{random}\"}"),
        ["DELETE /v1/admin/users/{userId}"] = (Forbidden, Forbidden, null),
        ["POST /v1/admin/users/{userId}/disable"] = (Forbidden, Forbidden, null),
        ["POST /v1/admin/users/{userId}/enable"] = (Forbidden, Forbidden, null),
        ["POST /v1/admin/users/{userId}/secret"] = (Forbidden, Forbidden, null),
        ["GET /v1/admin/users/{userId}/channels"] = (Forbidden, Forbidden, null),
        ["PUT /v1/admin/users/{userId}/channels/{channel}"] = (Forbidden, Forbidden, "{\"address\":\"@matrix_{random}\"}"),
        ["DELETE /v1/admin/users/{userId}/channels/{channel}"] = (Forbidden, Forbidden, null),
        ["PUT /v1/admin/users/{userId}/channels/order"] = (Forbidden, Forbidden, "{\"channels\":[\"telegram\"]}"),
        ["GET /v1/admin/deliveries/dead-letters"] = (Forbidden, Forbidden, null),
        ["POST /v1/admin/deliveries/dead-letters/{deliveryId}/replay"] = (Forbidden, Forbidden, null),
        ["GET /v1/admin/simulator/channels"] = (Forbidden, Forbidden, null),
        ["PUT /v1/admin/simulator/channels/{channel}/outage"] = (Forbidden, Forbidden, "{\"down\":false}"),
        ["POST /v1/admin/simulator/channels/{channel}/inbound"] = (Forbidden, Forbidden, "{\"from\":\"@matrix\",\"text\":\"hi\"}"),
        ["GET /v1/admin/simulator/channels/{channel}/messages/{providerMessageId}"] = (Forbidden, Forbidden, null),
        // Anonymous by design: a provider's signed callback, OAuth (client credentials, not a user's token), discovery.
        ["POST /v1/webhooks/{channel}"] = null,
        ["POST /auth/token"] = null,
        ["POST /auth/refresh"] = null,
        ["POST /auth/revoke"] = null,
        ["GET /.well-known/openid-configuration"] = null,
        ["GET /.well-known/jwks"] = null,
    };

    [Fact]
    public async Task TheMatrixHasARowForEveryOperationOfTheOpenApiDocumentAndNoOther()
    {
        var documented = (await OpenApiOperationsAsync()).Select(o => $"{o.Method} {o.Path}").ToHashSet();

        Assert.Empty(documented.Except(Matrix.Keys).Order());
        Assert.Empty(Matrix.Keys.Except(documented).Order());
    }

    [Fact]
    public async Task EveryOperationAnswersAnotherTenantAndANonMemberAsTheMatrixSaysAndChangesNothingOfAlices()
    {
        var before = await ConversationSnapshotAsync();
        var failures = new List<string>();
        foreach (var (caller, client, column, hidden) in new[]
        {
            ("another tenant", platform.AsMallory, 0, new[] { platform.Alice.UserId, platform.Bob.UserId, platform.ConversationId, platform.MessageId, platform.FileId, platform.UploadId, platform.SubscriptionId }),
            ("a non-member", platform.AsEve, 1, new[] { platform.ConversationId, platform.MessageId, platform.FileId, platform.UploadId, platform.SubscriptionId }),
        })
        {
            var self = (await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/v1/me")).GetProperty("user_id").GetString()!;
            foreach (var (operation, row) in Matrix.Where(r => r.Value is not null).OrderBy(r => r.Key.StartsWith("DELETE /v1/me", StringComparison.Ordinal)))
            {
                var expected = column == 0 ? row!.Value.OtherTenant : row!.Value.NonMember;
                using var response = await SendAsync(client, operation, row.Value.Body, self);
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != expected)
                {
                    failures.Add($"{operation} as {caller}: {(int)response.StatusCode}, expected {(int)expected}: {body}");
                }
                else if (response.IsSuccessStatusCode && hidden.FirstOrDefault(id => body.Contains(id.ToString(), StringComparison.OrdinalIgnoreCase)) is var leaked && leaked != Guid.Empty)
                {
                    failures.Add($"{operation} as {caller}: the answer names {leaked}: {body}");
                }
                else if (!response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                {
                    failures.Add($"{operation} as {caller}: {(int)response.StatusCode} without a problem body");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.Equal(before, await ConversationSnapshotAsync());
    }

    [Fact]
    public async Task EveryOperationOfAUserIsRefusedWith401OnceTheUserIsDisabled()
    {
        var disabled = await platform.CreateUserAsync();
        using var client = await platform.CreateAuthenticatedClientAsync(disabled);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/conversations")).StatusCode);
        using (var disable = await platform.AsRoot.PostAsync($"/v1/admin/users/{disabled.UserId}/disable", null))
        {
            Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        }

        var failures = new List<string>();
        foreach (var (operation, row) in Matrix.Where(r => r.Value is not null))
        {
            using var response = await SendAsync(client, operation, row!.Value.Body, disabled.UserId.ToString());
            if (response.StatusCode != HttpStatusCode.Unauthorized)
            {
                failures.Add($"{operation}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    private async Task<HttpResponseMessage> SendAsync(HttpClient client, string operation, string? body, string self)
    {
        var (method, template) = (operation[..operation.IndexOf(' ', StringComparison.Ordinal)], operation[(operation.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
        var path = new StringBuilder(template)
            .Replace("{conversationId}", platform.ConversationId.ToString())
            .Replace("{messageId}", platform.MessageId.ToString())
            .Replace("{uploadId}", platform.UploadId.ToString())
            .Replace("{fileId}", platform.FileId.ToString())
            .Replace("{userId}", template.EndsWith("/members/{userId}", StringComparison.Ordinal) ? platform.Bob.UserId.ToString() : platform.Alice.UserId.ToString())
            .Replace("{subscriptionId}", platform.SubscriptionId.ToString())
            .Replace("{deliveryId}", Guid.NewGuid().ToString())
            .Replace("{providerMessageId}", "pm-" + Guid.NewGuid().ToString("N"))
            .Replace("{channel}", "telegram")
            .ToString();
        path += template switch
        {
            "/v1/presence" => $"?user_ids={platform.Alice.UserId}",
            "/v1/users" => "?query=user-",
            "/v1/files/{uploadId}/chunks" => "?chunk_number=1",
            _ => "",
        };
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            var random = Guid.NewGuid().ToString("N")[..10];
            var text = body.Replace("{alice}", platform.Alice.UserId.ToString(), StringComparison.Ordinal)
                .Replace("{conversation}", platform.ConversationId.ToString(), StringComparison.Ordinal)
                .Replace("{self}", template == "/v1/me" ? "matrix-" + random : self, StringComparison.Ordinal)
                .Replace("{random}", random, StringComparison.Ordinal);
            request.Content = new StringContent(text, Encoding.UTF8, "application/json");
        }
        else if (template.EndsWith("/chunks", StringComparison.Ordinal))
        {
            request.Content = new ByteArrayContent("file bytes"u8.ToArray());
            request.Content.Headers.ContentType = new("application/octet-stream");
        }

        using (request)
        {
            return await client.SendAsync(request);
        }
    }

    /// <summary>Alice's conversation as she sees it: its metadata and members, and its history.</summary>
    private async Task<string> ConversationSnapshotAsync() =>
        await platform.AsAlice.GetStringAsync($"/v1/conversations/{platform.ConversationId}") + "\n" +
        await platform.AsAlice.GetStringAsync($"/v1/conversations/{platform.ConversationId}/messages?limit=100") + "\n" +
        await platform.AsAlice.GetStringAsync($"/v1/webhooks/subscriptions/{platform.SubscriptionId}");

    private async Task<List<(string Method, string Path)>> OpenApiOperationsAsync()
    {
        using var client = platform.Host.CreateHttpClient();
        var document = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!;
        return [.. document["paths"]!.AsObject().SelectMany(path => path.Value!.AsObject().Select(operation => (operation.Key.ToUpperInvariant(), path.Key)))];
    }
}
