using System.Net;
using Chat4All.Contracts.Events;
using Chat4All.Contracts;
using Chat4All.Contracts.Conversations;
using Chat4All.Contracts.Messages;
using Chat4All.Contracts.Users;

namespace Chat4All.Client;

/// <summary>
/// Typed calls for the Chat4All REST API (<c>/v1</c>), over one <see cref="ApiConnection"/> (tokens,
/// retries, errors as <see cref="Chat4AllApiException"/>). Sends and edits carry an
/// <c>Idempotency-Key</c> made once per call, so a retry after a lost answer never makes a second
/// message. Creating a conversation or an upload has no key on the server, so those are never repeated
/// after an unknown outcome. Also the entry to the realtime session (<see cref="OpenRealtime"/>) and to
/// transfers (<see cref="Files"/>).
/// </summary>
public sealed class Chat4AllClient : IDisposable
{
    private readonly HttpClient? _ownedHttp;
    private readonly ClientCredentialsTokenSource? _ownedTokens;

    /// <summary>A client over an existing connection (its HttpClient and token source stay the caller's).</summary>
    public Chat4AllClient(ApiConnection connection)
    {
        Connection = connection;
        Files = new FileTransfers(connection);
    }

    private Chat4AllClient(HttpClient http, ClientCredentialsTokenSource tokens, Action<string>? notice)
        : this(new ApiConnection(http, tokens, notice))
    {
        _ownedHttp = http;
        _ownedTokens = tokens;
    }

    /// <summary>The HTTP policy underneath, for calls this class has no method for.</summary>
    public ApiConnection Connection { get; }

    /// <summary>Resumable parallel uploads and verified downloads.</summary>
    public FileTransfers Files { get; }

    /// <summary>
    /// A client of its own for a confidential client (client credentials, refreshed before expiry).
    /// <paramref name="handler"/> replaces the default sockets handler (a proxy, a test's fault injector).
    /// </summary>
    public static Chat4AllClient Create(Uri baseAddress, string clientId, string clientSecret, HttpMessageHandler? handler = null,
        TimeProvider? time = null, Action<string>? notice = null)
    {
        var http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, disposeHandler: true)
        {
            BaseAddress = baseAddress,
        };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("chat4all-client/" + typeof(Chat4AllClient).Assembly.GetName().Version?.ToString(3));
        return new Chat4AllClient(http, new ClientCredentialsTokenSource(http, clientId, clientSecret, time), notice);
    }

    /// <summary>The tokens of a client made by <see cref="Create"/> (null over a caller's connection).</summary>
    public ClientCredentialsTokenSource? TokenSource => _ownedTokens;

    /// <summary>Who the token belongs to.</summary>
    public async Task<MeResponse> GetMeAsync(CancellationToken cancellationToken = default) =>
        (await Connection.GetAsync("v1/me", ContractJsonContext.Default.MeResponse, cancellationToken)).Value;

    /// <summary>Users of the caller's tenant whose name starts with <paramref name="query"/> (one page).</summary>
    public async Task<UserDirectoryPage> SearchUsersAsync(string? query = null, int limit = 20, string? cursor = null, CancellationToken cancellationToken = default) =>
        (await Connection.GetAsync($"v1/users?limit={limit}" + Param("query", query) + Param("cursor", cursor), ContractJsonContext.Default.UserDirectoryPage,
            cancellationToken)).Value;

    /// <summary>One user of the directory.</summary>
    public async Task<UserSummary> GetUserAsync(Guid userId, CancellationToken cancellationToken = default) =>
        (await Connection.GetAsync($"v1/users/{userId}", ContractJsonContext.Default.UserSummary, cancellationToken)).Value;

    /// <summary>The caller's conversations, newest activity first (one page).</summary>
    public async Task<ConversationPage> ListConversationsAsync(int limit = 20, string? cursor = null, CancellationToken cancellationToken = default) =>
        (await Connection.GetAsync($"v1/conversations?limit={limit}" + Param("cursor", cursor), ContractJsonContext.Default.ConversationPage,
            cancellationToken)).Value;

    /// <summary>Every conversation of the caller, page after page.</summary>
    public async IAsyncEnumerable<ConversationSummary> ListAllConversationsAsync(
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? cursor = null;
        while (true)
        {
            var page = await ListConversationsAsync(100, cursor, cancellationToken);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            if (!page.HasMore || page.NextCursor is null)
            {
                yield break;
            }

            cursor = page.NextCursor;
        }
    }

    /// <summary>One conversation, with its members.</summary>
    public async Task<ConversationResponse> GetConversationAsync(Guid conversationId, CancellationToken cancellationToken = default) =>
        (await Connection.GetAsync($"v1/conversations/{conversationId}", ContractJsonContext.Default.ConversationResponse, cancellationToken)).Value;

    /// <summary>
    /// Creates a private (one other member) or group conversation. A private pair is idempotent by
    /// nature (the same pair answers the same conversation), so it is retried; a group is never repeated
    /// after an unknown outcome.
    /// </summary>
    public async Task<ConversationResponse> CreateConversationAsync(string type, IEnumerable<Guid> members, ConversationMetadata? metadata = null,
        CancellationToken cancellationToken = default) =>
        (await Connection.SendJsonAsync(HttpMethod.Post, "v1/conversations", new CreateConversationRequest(type, [.. members], metadata),
            ContractJsonContext.Default.CreateConversationRequest, ContractJsonContext.Default.ConversationResponse, type == "private" ? RetryMode.SafeToRepeat : RetryMode.Never,
            cancellationToken)).Value;

    /// <summary>Adds members to a group (the owner only).</summary>
    public async Task<ConversationResponse> AddMembersAsync(Guid conversationId, IEnumerable<Guid> userIds, CancellationToken cancellationToken = default) =>
        (await Connection.SendJsonAsync(HttpMethod.Post, $"v1/conversations/{conversationId}/members", new AddMembersRequest([.. userIds]),
            ContractJsonContext.Default.AddMembersRequest, ContractJsonContext.Default.ConversationResponse, RetryMode.SafeToRepeat, cancellationToken)).Value;

    /// <summary>Removes a member from a group (the owner), or leaves it (the member themself).</summary>
    public async Task RemoveMemberAsync(Guid conversationId, Guid userId, CancellationToken cancellationToken = default)
    {
        using var _ = await Connection.SendRawAsync(HttpMethod.Delete, $"v1/conversations/{conversationId}/members/{userId}", null, RetryMode.SafeToRepeat,
            HttpCompletionOption.ResponseContentRead, null, cancellationToken);
    }

    /// <summary>Sends a text message; repeats after a lost answer are answered with the first result.</summary>
    public Task<AcceptedMessage> SendTextAsync(Guid conversationId, string text, IEnumerable<string>? channels = null, CancellationToken cancellationToken = default) =>
        SendMessageAsync(new SendMessageRequest(null, conversationId, new PayloadRequest("text", text, null), channels?.ToList(), null), cancellationToken);

    /// <summary>Sends a message; it carries an <c>Idempotency-Key</c> made for this call and reused by every retry.</summary>
    public async Task<AcceptedMessage> SendMessageAsync(SendMessageRequest request, CancellationToken cancellationToken = default) =>
        (await Connection.SendJsonAsync(HttpMethod.Post, "v1/messages", request, ContractJsonContext.Default.SendMessageRequest, ContractJsonContext.Default.AcceptedMessage,
            RetryMode.WithIdempotencyKey, cancellationToken)).Value;

    /// <summary>One message.</summary>
    public async Task<MessageDetail> GetMessageAsync(Guid messageId, CancellationToken cancellationToken = default) =>
        (await Connection.GetAsync($"v1/messages/{messageId}", ContractJsonContext.Default.MessageDetail, cancellationToken)).Value;

    /// <summary>Replaces a text message's text (its sender only); keyed like a send.</summary>
    public async Task<MessageChanged> EditMessageAsync(Guid messageId, string text, CancellationToken cancellationToken = default) =>
        (await Connection.SendJsonAsync(HttpMethod.Patch, $"v1/messages/{messageId}", new EditMessageRequest(text), ContractJsonContext.Default.EditMessageRequest,
            ContractJsonContext.Default.MessageChanged, RetryMode.WithIdempotencyKey, cancellationToken)).Value;

    /// <summary>Deletes a message (its sender only), leaving a tombstone at its seq; deleting again changes nothing.</summary>
    public async Task<MessageChanged> DeleteMessageAsync(Guid messageId, CancellationToken cancellationToken = default) =>
        (await Connection.SendAsync(HttpMethod.Delete, $"v1/messages/{messageId}", null, ContractJsonContext.Default.MessageChanged, RetryMode.SafeToRepeat,
            cancellationToken)).Value;

    /// <summary>History after <paramref name="afterSeq"/> (oldest first), one page.</summary>
    public async Task<MessagePage> GetHistoryAsync(Guid conversationId, long afterSeq = 0, int limit = 50, string? cursor = null,
        CancellationToken cancellationToken = default) =>
        (await Connection.GetAsync($"v1/conversations/{conversationId}/messages?after_seq={afterSeq}&limit={limit}" + Param("cursor", cursor),
            ContractJsonContext.Default.MessagePage, cancellationToken)).Value;

    /// <summary>Moves the caller's read position (to the latest message when <paramref name="upToSeq"/> is null).</summary>
    public async Task<MarkReadResponse> MarkReadAsync(Guid conversationId, long? upToSeq = null, CancellationToken cancellationToken = default) =>
        (await Connection.SendJsonAsync(HttpMethod.Post, $"v1/conversations/{conversationId}/read", new MarkReadRequest(upToSeq),
            ContractJsonContext.Default.MarkReadRequest, ContractJsonContext.Default.MarkReadResponse, RetryMode.SafeToRepeat, cancellationToken)).Value;

    /// <summary>
    /// The live events of the caller's conversations: reconnects by itself and resumes each conversation
    /// after the last seq handed over (see <see cref="RealtimeSession"/>).
    /// </summary>
    public RealtimeSession OpenRealtime(Action<string>? notice = null) => new(Connection, notice);

    public void Dispose()
    {
        _ownedTokens?.Dispose();
        _ownedHttp?.Dispose();
    }

    private static string Param(string name, string? value) => value is null ? "" : $"&{name}={Uri.EscapeDataString(value)}";

    internal static bool IsGone(Chat4AllApiException ex) => ex.Status is HttpStatusCode.NotFound or HttpStatusCode.Gone;
}
