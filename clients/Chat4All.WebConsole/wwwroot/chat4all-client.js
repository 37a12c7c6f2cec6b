// chat4all-client.js — the reference client for browsers (and Node 22+) of the Chat4All public
// API v1 (REST + WebSocket, see docs/api.md). One ES module, no dependencies; the web console at
// /console is built on it, and it is served at /console/chat4all-client.js for other apps.
//
// What it takes care of, so an app does not have to:
//   * sign-in with OAuth client credentials, refresh before expiry (single-flight: the refresh
//     token rotates, and using a spent one revokes the whole family), one retry after a 401;
//   * every error as an ApiError carrying the RFC 9457 problem (code, detail, trace_id, errors);
//   * 429 waits for Retry-After;
//   * the WebSocket: reconnect with jittered exponential backoff, a fresh token after close 4001,
//     `resume` with the last contiguous seq of each conversation as the first frame, ping/pong,
//     a watchdog for silent links, and exactly-once in-order `message` events per conversation —
//     a seq that jumps is filled from history before the message that revealed it;
//   * chunked, parallel, resumable uploads with progress (speed and ETA), authenticated downloads.
//
// Documented in clients/Chat4All.WebConsole/README.md.

const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;

/** A refusal by the API: the problem document (RFC 9457) or OAuth error (RFC 6749 §5.2) it sent. */
export class ApiError extends Error {
  constructor(method, path, status, body, retryAfterSeconds) {
    const problem = body && typeof body === "object" ? body : {};
    const code = problem.code ?? problem.error ?? `http_${status}`;
    const detail = problem.detail ?? problem.error_description ?? (typeof body === "string" ? body : "");
    super(`${problem.title ?? problem.error ?? `HTTP ${status}`} (${status} ${code})${detail ? `: ${detail}` : ""}`);
    this.name = "ApiError";
    this.method = method;
    this.path = path;
    this.status = status;
    this.code = code;
    this.title = problem.title ?? null;
    this.detail = detail || null;
    this.traceId = problem.trace_id ?? null;
    this.errors = problem.errors ?? null;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** One line per validation error ("field: message"), for forms. */
  get fieldMessages() {
    return Object.entries(this.errors ?? {}).flatMap(([field, messages]) => messages.map((m) => `${field}: ${m}`));
  }
}

/**
 * A signed-in user of one Chat4All host. Events (EventTarget; `event.detail` carries the data):
 *   state     {state: "connecting"|"open"|"reconnecting"|"closed", attempt, delayMs, code, reason}
 *   message   {message, replayed}  — message.created, once per seq, in seq order per conversation
 *   change    {type, change}       — message.updated / message.deleted (an edit or a delete, at its own seq), in the same order
 *   status    message.status_updated data
 *   read      conversation.read data
 *   presence  presence.changed data
 *   resumed   resumed data
 *   frame     every frame as received (for debugging)
 *   error     {error} — a server `error` frame or a failure while filling a gap
 *   tokens    {expiresAt} — after sign-in and every refresh
 */
export class Chat4AllClient extends EventTarget {
  constructor({ baseUrl, clientId, clientSecret, fetch: fetchImpl, WebSocket: WebSocketImpl, reconnect = {} } = {}) {
    super();
    this.baseUrl = new URL(baseUrl ?? globalThis.location.origin);
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this._fetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
    this._WebSocket = WebSocketImpl ?? globalThis.WebSocket;
    this._initialDelayMs = reconnect.initialDelayMs ?? 500;
    this._maxDelayMs = reconnect.maxDelayMs ?? 30000;
    this._tokens = null; // {accessToken, refreshToken, expiresAt (ms), issuedAt (ms), scope}
    this._refreshing = null;
    this._refreshTimer = null;
    this._socket = null;
    this._wanted = false; // connect() called and not disconnected
    this._attempt = 0;
    this._reconnectTimer = null;
    this._watchdog = null;
    this._silenceMs = 70000;
    this._positions = new Map(); // conversation id -> last contiguous seq handed over
    this._filling = new Map(); // conversation id -> promise of a running gap fill
    this.state = "closed";
  }

  // ---------------------------------------------------------------- auth

  /** OAuth 2.0 client credentials (POST /auth/token). */
  async signIn() {
    const token = await this._tokenRequest("/auth/token", { grant_type: "client_credentials" });
    this._storeTokens(token);
    return this.userId;
  }

  /** POST /auth/refresh. Concurrent callers share one request: a rotated refresh token must never be spent twice. */
  refresh() {
    if (!this._refreshing) {
      this._refreshing = (async () => {
        try {
          const refreshToken = this._tokens?.refreshToken;
          let token = null;
          if (refreshToken) {
            try {
              token = await this._tokenRequest("/auth/refresh", { grant_type: "refresh_token", refresh_token: refreshToken });
            } catch (error) {
              // The refresh token is gone (expired, revoked, spent elsewhere): sign in again below.
              if (!(error instanceof ApiError) || error.code !== "invalid_grant") throw error;
            }
          }
          this._storeTokens(token ?? (await this._tokenRequest("/auth/token", { grant_type: "client_credentials" })));
        } finally {
          this._refreshing = null;
        }
      })();
    }
    return this._refreshing;
  }

  /** Revokes the refresh token (RFC 7009), closes the socket and forgets the tokens. */
  async signOut() {
    this.disconnect();
    clearTimeout(this._refreshTimer);
    const refreshToken = this._tokens?.refreshToken;
    this._tokens = null;
    if (refreshToken) {
      try {
        await this._fetch(new URL("/auth/revoke", this.baseUrl), {
          method: "POST",
          headers: { Authorization: this._basic(), "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ token: refreshToken, token_type_hint: "refresh_token" }),
        });
      } catch {
        // unreachable host: the token expires by itself
      }
    }
  }

  /** The signed-in user's id (the access token's `sub`). */
  get userId() {
    return this._tokens ? claimsOf(this._tokens.accessToken).sub ?? null : null;
  }

  get signedIn() {
    return this._tokens !== null;
  }

  /** A valid access token, refreshed first when less than a quarter of its life (at most a minute) is left. */
  async accessToken() {
    if (!this._tokens) throw new Error("not signed in");
    const lifetime = this._tokens.expiresAt - this._tokens.issuedAt;
    const margin = Math.min(60000, lifetime / 4);
    if (this._tokens.expiresAt - Date.now() <= margin) await this.refresh();
    return this._tokens.accessToken;
  }

  async _tokenRequest(path, form) {
    let response;
    try {
      response = await this._fetch(new URL(path, this.baseUrl), {
        method: "POST",
        headers: { Authorization: this._basic(), "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form),
      });
    } catch (error) {
      throw new ApiError("POST", path, 0, { title: "Host unreachable", code: "unreachable", detail: String(error?.message ?? error) });
    }
    const body = await readBody(response);
    if (!response.ok) throw new ApiError("POST", path, response.status, body, retryAfterOf(response));
    return body;
  }

  /**
   * The sign-in as plain data — credentials and tokens — for an app that keeps it across a page
   * reload (the console uses sessionStorage); null when signed out. Treat it like the secret it holds.
   */
  get session() {
    return this._tokens ? { clientId: this.clientId, clientSecret: this.clientSecret, tokens: { ...this._tokens } } : null;
  }

  /** Continues a sign-in saved from `session` without a new token request (an expired token is refreshed on first use). */
  resumeSession(session) {
    this.clientId = session.clientId;
    this.clientSecret = session.clientSecret;
    this._tokens = { ...session.tokens };
    this._scheduleRefresh();
    this._emit("tokens", { expiresAt: new Date(this._tokens.expiresAt) });
  }

  _storeTokens(token) {
    const now = Date.now();
    this._tokens = {
      accessToken: token.access_token,
      refreshToken: token.refresh_token ?? this._tokens?.refreshToken ?? null,
      scope: token.scope,
      issuedAt: now,
      expiresAt: now + token.expires_in * 1000,
    };
    this._scheduleRefresh();
    this._emit("tokens", { expiresAt: new Date(this._tokens.expiresAt) });
  }

  // Refresh when a quarter of the token's life (at most a minute) is left.
  _scheduleRefresh() {
    clearTimeout(this._refreshTimer);
    const lifetime = this._tokens.expiresAt - this._tokens.issuedAt;
    const inMs = Math.max(1000, this._tokens.expiresAt - Math.min(60000, lifetime / 4) - Date.now());
    this._refreshTimer = setTimeout(() => this.refresh().catch((error) => this._emit("error", { error })), inMs);
    this._refreshTimer.unref?.(); // Node: do not keep the process alive for it
  }

  _basic() {
    const raw = `${encodeURIComponent(this.clientId)}:${encodeURIComponent(this.clientSecret)}`;
    return "Basic " + btoa(unescape(encodeURIComponent(raw)));
  }

  // ---------------------------------------------------------------- REST

  /**
   * One API call. `json` is sent as the JSON body, `body` as is; `query` is appended. Returns the
   * parsed JSON (or the Response with `raw: true`). A 401 refreshes the token and retries once; a
   * 429 waits for Retry-After (three times at most). Anything else that is not 2xx throws ApiError.
   */
  async request(method, path, { json, body, headers = {}, query, signal, raw = false } = {}) {
    const url = new URL(path, this.baseUrl);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    let retried401 = false;
    for (let rateLimited = 0; ; ) {
      const init = { method, headers: { ...headers, Authorization: `Bearer ${await this.accessToken()}` }, signal };
      if (json !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(json);
      } else if (body !== undefined) {
        init.body = body;
      }
      let response;
      try {
        response = await this._fetch(url, init);
      } catch (error) {
        if (error?.name === "AbortError") throw error;
        throw new ApiError(method, path, 0, { title: "Host unreachable", code: "unreachable", detail: String(error?.message ?? error) });
      }
      if (response.status === 401 && !retried401) {
        retried401 = true;
        await this.refresh();
        continue;
      }
      if (response.status === 429 && rateLimited++ < 3) {
        await sleep((retryAfterOf(response) ?? 1) * 1000, signal);
        continue;
      }
      if (!response.ok) throw new ApiError(method, path, response.status, await readBody(response), retryAfterOf(response));
      return raw ? response : readBody(response);
    }
  }

  listConversations({ limit = 50, cursor } = {}) {
    return this.request("GET", "/v1/conversations", { query: { limit, cursor } });
  }

  /** Every conversation, following next_cursor. */
  async listAllConversations() {
    const items = [];
    let cursor;
    do {
      const page = await this.listConversations({ limit: 100, cursor });
      items.push(...page.items);
      cursor = page.has_more ? page.next_cursor : null;
    } while (cursor);
    return items;
  }

  /** `{type: "private"|"group", members: [userId], metadata?: {name, description}}`; you are always a member. */
  createConversation({ type, members, metadata }) {
    return this.request("POST", "/v1/conversations", { json: { type: type ?? (members.length === 1 ? "private" : "group"), members, metadata } });
  }

  getConversation(conversationId) {
    return this.request("GET", `/v1/conversations/${conversationId}`);
  }

  /** History in seq order: the newest page by default, or after/before a seq. */
  getMessages(conversationId, { limit = 50, afterSeq, beforeSeq, cursor } = {}) {
    return this.request("GET", `/v1/conversations/${conversationId}/messages`, {
      query: { limit, after_seq: afterSeq, before_seq: beforeSeq, cursor },
    });
  }

  /** POST /v1/messages with a client-chosen message_id, so a retry can never send twice. */
  sendMessage(conversationId, payload, { messageId = uuid(), channels, priority } = {}) {
    return this.request("POST", "/v1/messages", {
      json: { message_id: messageId, conversation_id: conversationId, payload, channels, priority },
    });
  }

  sendText(conversationId, text, options) {
    return this.sendMessage(conversationId, { type: "text", text }, options);
  }

  getMessage(messageId) {
    return this.request("GET", `/v1/messages/${messageId}`);
  }

  /** Marks read up to a seq (default: the latest); the other members get `read` live. */
  markRead(conversationId, upToSeq) {
    return this.request("POST", `/v1/conversations/${conversationId}/read`, { json: upToSeq ? { up_to_seq: upToSeq } : {} });
  }

  // ---------------------------------------------------------------- files

  /**
   * Uploads a Blob/File in chunks, `parallel` at a time, each with its SHA-256, then completes and
   * waits for the assembly. Pass `uploadId` (and the same `chunkSize`) of an interrupted upload of
   * the same file to send only the chunks its status reports missing. `onProgress({sentBytes, totalBytes, fraction,
   * bytesPerSecond, etaSeconds, uploadId})`. Resolves to the final upload status (with `file_id`).
   */
  async uploadFile(conversationId, file, { chunkSize = DEFAULT_CHUNK_SIZE, parallel = 3, onProgress, signal, uploadId, mimeType } = {}) {
    let missing;
    let size = chunkSize;
    if (uploadId) {
      const status = await this.request("GET", `/v1/files/${uploadId}/status`, { signal });
      missing = status.missing_chunks;
    } else {
      const initiated = await this._initiate(conversationId, file, chunkSize, mimeType, signal);
      uploadId = initiated.upload_id;
      size = initiated.chunk_size;
      missing = Array.from({ length: initiated.total_chunks }, (_, i) => i + 1);
    }
    const total = file.size;
    const lengthOf = (n) => Math.min(size, total - (n - 1) * size);
    let sent = total - missing.reduce((sum, n) => sum + lengthOf(n), 0);
    const started = performance.now();
    const startBytes = sent;
    const report = () => {
      const seconds = (performance.now() - started) / 1000;
      const bytesPerSecond = seconds > 0 ? (sent - startBytes) / seconds : 0;
      onProgress?.({
        uploadId, sentBytes: sent, totalBytes: total, fraction: total ? sent / total : 1, bytesPerSecond,
        etaSeconds: bytesPerSecond > 0 ? (total - sent) / bytesPerSecond : null,
      });
    };
    report();
    const queue = [...missing];
    const worker = async () => {
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
        const chunk = await file.slice((n - 1) * size, (n - 1) * size + lengthOf(n)).arrayBuffer();
        const checksum = await sha256Hex(chunk);
        for (let attempt = 1; ; attempt++) {
          try {
            await this.request("POST", `/v1/files/${uploadId}/chunks`, {
              query: { chunk_number: n, checksum_sha256: checksum },
              headers: { "Content-Type": "application/octet-stream" },
              body: chunk,
              signal,
            });
            break;
          } catch (error) {
            // An earlier attempt still holds the chunk's claim until it lapses: wait and send again (same bytes → 200).
            if (!(error instanceof ApiError) || error.code !== "chunk_in_progress" || attempt >= 30) throw error;
            await sleep((error.retryAfterSeconds ?? 1) * 1000, signal);
          }
        }
        sent += chunk.byteLength;
        report();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, missing.length)) }, worker));
    await this.request("POST", `/v1/files/${uploadId}/complete`, { signal });
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      const status = await this.request("GET", `/v1/files/${uploadId}/status`, { signal });
      if (status.status === "completed") return status;
      if (status.status === "failed") {
        throw new ApiError("GET", `/v1/files/${uploadId}/status`, 422, { title: "Upload failed", code: "upload_failed", detail: status.failure_reason });
      }
      await sleep(delay, signal);
    }
  }

  async _initiate(conversationId, file, chunkSize, mimeType, signal) {
    const request = {
      conversation_id: conversationId,
      filename: file.name || "upload.bin",
      file_size: file.size,
      mime_type: mimeType || file.type || "application/octet-stream",
      chunk_size: chunkSize,
    };
    // Files learns a conversation's members from an event: a brand-new one may be unknown for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.request("POST", "/v1/files/initiate", { json: request, signal });
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404 || attempt >= 10) throw error;
        await sleep(300, signal);
      }
    }
  }

  /** Sends an uploaded file into its conversation (retries while messaging has not yet heard that it completed). */
  async sendFile(conversationId, fileId, options = {}) {
    const messageId = options.messageId ?? uuid();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.sendMessage(conversationId, { type: "file", file_id: fileId }, { ...options, messageId });
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== "file_not_available" || attempt >= 30) throw error;
        await sleep(300);
      }
    }
  }

  getFile(fileId) {
    return this.request("GET", `/v1/files/${fileId}`);
  }

  /**
   * Presence of your contacts (users sharing a conversation with you; others are left out):
   * `[{user_id, status: "online"|"offline", connections, last_seen_at}]`. Asks in batches of 100.
   * Call it after connecting (and after every reconnect) to know who is online now; from then on
   * `presence` events keep it current.
   */
  async getPresence(userIds) {
    const ids = [...new Set(userIds)];
    const items = [];
    for (let i = 0; i < ids.length; i += 100) {
      const page = await this.request("GET", "/v1/presence", { query: { user_ids: ids.slice(i, i + 100).join(",") } });
      items.push(...page.items);
    }
    return items;
  }

  /** The file's bytes as a Blob (the content URL needs the bearer token, so a plain link cannot fetch it). */
  async downloadFile(fileId, { signal } = {}) {
    const response = await this.request("GET", `/v1/files/${fileId}/content`, { raw: true, signal });
    return response.blob();
  }

  // ---------------------------------------------------------------- realtime

  /** Hands over a conversation's messages after `lastSeq` (what the app has already shown). */
  trackConversation(conversationId, lastSeq = 0) {
    const current = this._positions.get(conversationId);
    if (current === undefined || lastSeq > current) this._positions.set(conversationId, lastSeq);
  }

  /** Last contiguous seq handed over per conversation. */
  get positions() {
    return new Map(this._positions);
  }

  /** Opens the WebSocket and keeps it open (reconnecting) until disconnect(). */
  connect() {
    if (this._wanted) return;
    this._wanted = true;
    this._attempt = 0;
    this._open();
  }

  disconnect() {
    this._wanted = false;
    clearTimeout(this._reconnectTimer);
    clearTimeout(this._watchdog);
    const socket = this._socket;
    this._socket = null;
    if (socket && socket.readyState <= 1) socket.close(1000, "bye");
    this._setState("closed", {});
  }

  async _open() {
    if (!this._wanted) return;
    this._setState(this._attempt === 0 ? "connecting" : "reconnecting", { attempt: this._attempt });
    let token;
    try {
      token = await this.accessToken();
    } catch (error) {
      this._emit("error", { error });
      this._scheduleReconnect({});
      return;
    }
    const url = new URL("/ws", this.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", token); // browsers cannot set headers on a WebSocket handshake
    const socket = new this._WebSocket(url);
    this._socket = socket;
    let established = false;
    socket.onopen = () => {
      // Resume first: the server holds live frames for a moment after connecting, waiting for it.
      if (this._positions.size > 0) {
        socket.send(JSON.stringify({ type: "resume", data: { positions: Object.fromEntries(this._positions) } }));
      }
      this._armWatchdog(socket);
    };
    socket.onmessage = (event) => {
      if (socket !== this._socket) return;
      this._armWatchdog(socket);
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "connection.established") {
        established = true;
        this._attempt = 0;
        const heartbeat = frame.data?.heartbeat_interval_s;
        if (heartbeat > 0) this._silenceMs = (heartbeat * 2 + 10) * 1000;
        this._setState("open", { connectionId: frame.data?.connection_id });
      }
      this._onFrame(socket, frame);
    };
    socket.onclose = (event) => {
      clearTimeout(this._watchdog);
      if (socket !== this._socket) return;
      this._socket = null;
      if (!this._wanted) return;
      if (event.code === 4003) {
        this._wanted = false;
        this._setState("closed", { code: event.code, reason: event.reason });
        this._emit("error", { error: new Error(`WebSocket refused (4003 ${event.reason})`) });
        return;
      }
      if (!established) this._attempt++;
      if (event.code === 4001) {
        // The token expired (or was refused): refresh, then reconnect at once.
        this.refresh().then(() => this._open(), () => this._scheduleReconnect(event));
        return;
      }
      this._scheduleReconnect(event);
    };
  }

  _scheduleReconnect(event) {
    const ceiling = Math.min(this._maxDelayMs, this._initialDelayMs * 2 ** Math.min(this._attempt, 16));
    const delayMs = Math.round(ceiling * (0.5 + Math.random() / 2));
    this._attempt++;
    this._setState("reconnecting", { attempt: this._attempt, delayMs, code: event.code, reason: event.reason });
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = setTimeout(() => this._open(), delayMs);
  }

  _armWatchdog(socket) {
    clearTimeout(this._watchdog);
    // The server pings every heartbeat; total silence for two of them means the link is dead.
    this._watchdog = setTimeout(() => socket.close(4000, "silent"), this._silenceMs);
    this._watchdog.unref?.();
  }

  async _onFrame(socket, frame) {
    this._emit("frame", frame);
    const data = frame.data ?? {};
    switch (frame.type) {
      case "ping":
        if (socket.readyState === 1) socket.send(JSON.stringify({ type: "pong" }));
        break;
      case "message.created":
        await this._onMessage(data);
        break;
      case "message.updated":
      case "message.deleted":
        // Edits and deletes take seqs of their own in the conversation's sequence.
        await this._onMessage(data, frame.type);
        break;
      case "resumed":
        this._emit("resumed", data);
        // A replay the server capped: page the rest from history.
        if (!data.recovered) await this._fill(data.conversation_id, Number.MAX_SAFE_INTEGER);
        break;
      case "message.status_updated":
        this._emit("status", data);
        break;
      case "conversation.read":
        this._emit("read", data);
        break;
      case "presence.changed":
        this._emit("presence", data);
        break;
      case "error":
        this._emit("error", { error: Object.assign(new Error(`${data.code}: ${data.message}`), { code: data.code }) });
        break;
      default:
        break;
    }
  }

  // Messages of one conversation are handed over strictly in order, so frames and gap fills queue up.
  _onMessage(message, type = "message.created") {
    const id = message.conversation_id;
    const previous = this._filling.get(id) ?? Promise.resolve();
    const next = previous.then(async () => {
      const last = this._positions.get(id) ?? 0;
      if (message.seq <= last) return; // already handed over
      if (message.seq > last + 1) await this._fillNow(id, message.seq - 1);
      if (message.seq <= (this._positions.get(id) ?? 0)) return;
      this._positions.set(id, message.seq);
      if (type === "message.created") this._emit("message", { message, replayed: false });
      else this._emit("change", { type, change: message });
    });
    this._filling.set(id, next.catch((error) => this._emit("error", { error })));
    return next.catch(() => {});
  }

  _fill(conversationId, upToSeq) {
    const previous = this._filling.get(conversationId) ?? Promise.resolve();
    const next = previous.then(() => this._fillNow(conversationId, upToSeq));
    this._filling.set(conversationId, next.catch((error) => this._emit("error", { error })));
    return next.catch(() => {});
  }

  async _fillNow(conversationId, upToSeq) {
    for (;;) {
      const after = this._positions.get(conversationId) ?? 0;
      if (after >= upToSeq) return;
      const page = await this.getMessages(conversationId, { afterSeq: after, limit: 100 });
      let progressed = false;
      for (const message of page.messages) {
        if (message.seq <= (this._positions.get(conversationId) ?? 0) || message.seq > upToSeq) continue;
        this._positions.set(conversationId, message.seq);
        progressed = true;
        this._emit("message", { message, replayed: true });
      }
      if (!progressed || !page.has_more) return;
    }
  }

  _setState(state, detail) {
    this.state = state;
    this._emit("state", { state, ...detail });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// ---------------------------------------------------------------- helpers

async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function retryAfterOf(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.min(60, Math.max(0.1, seconds));
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.min(60, Math.max(0.1, (date - Date.now()) / 1000)) : null;
}

/** The claims of a JWT (read, not verified: the server verifies). */
export function claimsOf(jwt) {
  try {
    const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), "=")))));
  } catch {
    return {};
  }
}

export async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function uuid() {
  return crypto.randomUUID();
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason ?? new DOMException("Aborted", "AbortError"));
    }, { once: true });
  });
}
