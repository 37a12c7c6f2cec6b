// The Chat4All web console: a plain-DOM app over chat4all-client.js, using only the public API.
import { ApiError, Chat4AllClient } from "./chat4all-client.js";

const $ = (selector, root = document) => root.querySelector(selector);
const RECEIPT_ORDER = ["accepted", "sent", "delivered", "read"];
const RECEIPT_TEXT = { accepted: "✓ accepted", sent: "✓ sent", delivered: "✓✓ delivered", read: "✓✓ read", failed: "✗ failed" };
// The sign-in survives a reload of this tab (and only this tab) until Sign out: sessionStorage is
// per tab and cleared when the tab closes. It holds the client secret, which refreshing needs.
const SESSION_KEY = "chat4all.session";

const ui = {
  signIn: $("#sign-in"),
  session: $("#session"),
  me: $('[data-testid="me"]'),
  connection: $('[data-testid="connection-state"]'),
  workspace: $("#workspace"),
  list: $("#conversations"),
  newConversation: $("#new-conversation"),
  conversation: $("#conversation"),
  empty: $("#empty"),
  title: $('[data-testid="conversation-title"]'),
  members: $('[data-testid="members"]'),
  messages: $("#messages"),
  composer: $("#composer"),
  uploader: $("#uploader"),
  progress: $('[data-testid="upload-progress"]'),
  uploadCancel: $('[data-testid="upload-cancel"]'),
  uploadStatus: $('[data-testid="upload-status"]'),
  error: $('[data-testid="conversation-error"]'),
};

let client = null;
const conversations = new Map(); // id -> summary (list item)
const presence = new Map(); // user id -> "online" | "offline"
const statuses = new Map(); // message id -> furthest delivery status seen
const readUpTo = new Map(); // conversation id -> Map(user id -> seq)
let open = null; // {id, members, messages: Map(seq -> message)}
let readTimer = null;
const fileNames = new Map(); // file id -> "name (size)", or null while asking

// ------------------------------------------------------------------ sign-in

ui.signIn.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(ui.signIn);
  const error = $(".error", ui.signIn);
  error.textContent = "";
  const candidate = new Chat4AllClient({ clientId: form.get("client_id").trim(), clientSecret: form.get("client_secret") });
  try {
    await candidate.signIn();
  } catch (e) {
    error.textContent = describe(e);
    return;
  }
  await start(candidate);
});

// Signed in, or resumed after a reload: show the workspace, load the conversations and go live.
async function start(signedIn) {
  client = signedIn;
  window.chat4all = client; // for the browser's devtools (and the end-to-end test)
  wire(client);
  saveSession();
  ui.signIn.hidden = true;
  ui.session.hidden = false;
  ui.workspace.hidden = false;
  ui.me.textContent = client.userId;
  await loadConversations();
  for (const c of conversations.values()) client.trackConversation(c.conversation_id, c.last_message?.seq ?? 0);
  client.connect();
}

function saveSession() {
  if (client?.session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(client.session));
}

async function resumeSavedSession() {
  const saved = sessionStorage.getItem(SESSION_KEY);
  if (!saved) return;
  const resumed = new Chat4AllClient();
  try {
    resumed.resumeSession(JSON.parse(saved));
    await start(resumed);
  } catch (e) {
    // A damaged entry or a sign-in the server no longer accepts: back to the form, saying why.
    sessionStorage.removeItem(SESSION_KEY);
    resumed.disconnect();
    client = null;
    ui.signIn.hidden = false;
    ui.session.hidden = true;
    ui.workspace.hidden = true;
    $(".error", ui.signIn).textContent = `Please sign in again: ${describe(e)}`;
  }
}

$("#sign-out").addEventListener("click", async () => {
  sessionStorage.removeItem(SESSION_KEY);
  await client?.signOut();
  location.reload();
});

function wire(c) {
  c.addEventListener("state", ({ detail }) => {
    if (detail.state === "open") refreshPresence(); // who is online now, including changes missed while away
    ui.connection.dataset.state = detail.state;
    ui.connection.textContent =
      detail.state === "open" ? "live" : detail.state === "reconnecting" ? `reconnecting${detail.delayMs ? ` in ${(detail.delayMs / 1000).toFixed(1)} s` : ""}` : detail.state;
  });
  c.addEventListener("message", ({ detail }) => onMessage(detail.message));
  c.addEventListener("status", ({ detail }) => onStatus(detail));
  c.addEventListener("read", ({ detail }) => onRead(detail));
  c.addEventListener("presence", ({ detail }) => {
    presence.set(detail.user_id, detail.status);
    renderList();
    if (open) renderMembers();
  });
  c.addEventListener("error", ({ detail }) => console.warn("chat4all:", detail.error));
  c.addEventListener("tokens", saveSession); // a refresh rotates the refresh token: keep the new one
}

async function refreshPresence() {
  const contacts = [...conversations.values()].flatMap((c) => c.members ?? []).filter((id) => id !== client.userId);
  if (contacts.length === 0) return;
  try {
    for (const item of await client.getPresence(contacts)) presence.set(item.user_id, item.status);
  } catch (e) {
    console.warn("chat4all: presence", e); // the dots stay as they were; presence events still arrive
    return;
  }
  renderList();
  if (open) renderMembers();
}

// ------------------------------------------------------------------ conversations

async function loadConversations() {
  const items = await client.listAllConversations();
  for (const item of items) conversations.set(item.conversation_id, item);
  renderList();
}

function renderList() {
  const sorted = [...conversations.values()].sort((a, b) => (b.updated_at ?? "").localeCompare(a.updated_at ?? ""));
  const focused = document.activeElement?.dataset?.conversationId;
  ui.list.replaceChildren(...sorted.map((c) => {
    const li = document.createElement("li");
    // A button: focusable with Tab, opened with Enter or Space, announced as one control.
    const button = document.createElement("button");
    button.type = "button";
    button.className = "conversation-button";
    button.dataset.testid = "conversation-item";
    button.dataset.conversationId = c.conversation_id;
    button.setAttribute("aria-current", String(open?.id === c.conversation_id));
    const title = document.createElement("span");
    title.style.display = "block";
    title.className = "title";
    const partner = partnerOf(c);
    title.append(titleOf(c));
    if (partner) title.append(" ", presenceDot(partner));
    const unread = document.createElement("span");
    unread.className = "unread";
    unread.dataset.testid = "unread";
    unread.dataset.count = String(c.unread_count ?? 0);
    unread.textContent = String(c.unread_count ?? 0);
    unread.setAttribute("aria-label", `${c.unread_count ?? 0} unread`);
    title.append(unread);
    const preview = document.createElement("span");
    preview.className = "preview";
    preview.style.display = "block";
    preview.textContent = c.last_message ? `#${c.last_message.seq} ${c.last_message.preview ?? ""}` : "no messages yet";
    button.append(title, preview);
    button.addEventListener("click", () => openConversation(c.conversation_id));
    li.append(button);
    return li;
  }));
  // Re-rendering replaces the buttons: keep the keyboard where it was.
  if (focused) ui.list.querySelector(`[data-conversation-id="${focused}"]`)?.focus();
}

ui.newConversation.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(ui.newConversation);
  const error = $(".error", ui.newConversation);
  error.textContent = "";
  const members = String(form.get("members")).split(/[\s,]+/).filter(Boolean);
  const name = String(form.get("name") ?? "").trim();
  try {
    const created = await client.createConversation({ members, metadata: name ? { name } : undefined });
    conversations.set(created.conversation_id, { ...created, last_message: null, unread_count: 0, updated_at: created.created_at });
    client.trackConversation(created.conversation_id, 0);
    ui.newConversation.reset();
    renderList();
    await openConversation(created.conversation_id);
  } catch (e) {
    error.textContent = describe(e);
  }
});

async function openConversation(id) {
  ui.error.textContent = "";
  const [conversation, page] = await Promise.all([client.getConversation(id), client.getMessages(id, { limit: 50 })]);
  open = { id, members: conversation.members, metadata: conversation.metadata, type: conversation.type, messages: new Map() };
  for (const m of page.messages) open.messages.set(m.seq, m);
  ui.conversation.hidden = false;
  ui.empty.hidden = true;
  ui.title.textContent = titleOf({ ...conversation, conversation_id: id });
  renderMembers();
  renderMessages();
  renderList();
  scheduleMarkRead();
  $('[data-testid="message-input"]').focus();
}

function renderMembers() {
  ui.members.replaceChildren(...open.members.map((id) => {
    const li = document.createElement("li");
    li.dataset.testid = "member";
    li.dataset.userId = id;
    li.dataset.presence = id === client.userId ? "online" : presence.get(id) ?? "unknown";
    li.append(id === client.userId ? "you" : short(id), " ", presenceDot(id));
    return li;
  }));
}

// ------------------------------------------------------------------ messages

function renderMessages() {
  const atBottom = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 40;
  const sorted = [...open.messages.values()].sort((a, b) => a.seq - b.seq);
  ui.messages.replaceChildren(...sorted.map(renderMessage));
  if (atBottom || sorted.length < 20) ui.messages.scrollTop = ui.messages.scrollHeight;
}

function renderMessage(m) {
  const li = document.createElement("li");
  const mine = m.sender_id === client.userId;
  li.className = mine ? "mine" : "";
  li.dataset.testid = "message";
  li.dataset.seq = String(m.seq);
  li.dataset.messageId = m.message_id;
  const body = document.createElement("div");
  body.dataset.testid = "message-text";
  if (m.payload?.type === "file") {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.testid = "file-link";
    button.textContent = `File ${fileNames.get(m.payload.file_id) ?? short(m.payload.file_id)} — download`;
    if (!fileNames.has(m.payload.file_id)) describeFile(m.payload.file_id);
    button.addEventListener("click", () => download(m.payload.file_id).catch((e) => (ui.error.textContent = describe(e))));
    body.append(button);
  } else {
    body.textContent = m.payload?.text ?? `[${m.payload?.type}]`;
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.append(`#${m.seq} · ${mine ? "you" : short(m.sender_id)} · ${new Date(m.created_at).toLocaleTimeString()}`);
  if (mine) {
    const receipt = document.createElement("span");
    const state = receiptOf(m);
    receipt.className = "receipt";
    receipt.dataset.testid = "receipt";
    receipt.dataset.receipt = state;
    receipt.textContent = ` · ${RECEIPT_TEXT[state] ?? state}`;
    meta.append(receipt);
  }
  li.append(body, meta);
  return li;
}

function receiptOf(m) {
  const readers = readUpTo.get(m.conversation_id);
  if (readers) {
    for (const [user, seq] of readers) if (user !== m.sender_id && seq >= m.seq) return "read";
  }
  const seen = [m.status, statuses.get(m.message_id)].filter(Boolean);
  if (seen.includes("failed") && !seen.some((s) => s !== "failed")) return "failed";
  return seen.reduce((best, s) => (RECEIPT_ORDER.indexOf(s) > RECEIPT_ORDER.indexOf(best) ? s : best), "accepted");
}

function onMessage(message) {
  const id = message.conversation_id;
  const summary = conversations.get(id);
  const mine = message.sender_id === client.userId;
  if (!summary) {
    // A conversation someone else just created with us: the list learns of it from its first message.
    loadConversations().catch(() => {});
  } else {
    summary.last_message = { message_id: message.message_id, seq: message.seq, sender_id: message.sender_id, preview: previewOf(message), created_at: message.created_at };
    summary.updated_at = message.created_at;
    if (!mine && open?.id !== id) summary.unread_count = (summary.unread_count ?? 0) + 1;
    renderList();
  }
  if (open?.id === id) {
    open.messages.set(message.seq, message);
    renderMessages();
    if (!mine) scheduleMarkRead();
  }
}

function onStatus(update) {
  const order = (s) => (s === "failed" ? -1 : RECEIPT_ORDER.indexOf(s));
  const previous = statuses.get(update.message_id);
  if (!previous || order(update.new_status) > order(previous)) statuses.set(update.message_id, update.new_status);
  if (open?.id === update.conversation_id) renderMessages();
}

function onRead(read) {
  let readers = readUpTo.get(read.conversation_id);
  if (!readers) readUpTo.set(read.conversation_id, (readers = new Map()));
  readers.set(read.user_id, Math.max(readers.get(read.user_id) ?? 0, read.read_up_to_seq));
  if (open?.id === read.conversation_id) renderMessages();
}

// Read receipts: while a conversation is open and the page visible, what arrives is read.
function scheduleMarkRead() {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    if (!open || document.visibilityState !== "visible") return;
    const latest = Math.max(0, ...open.messages.keys());
    if (latest === 0) return;
    try {
      await client.markRead(open.id, latest);
      const summary = conversations.get(open.id);
      if (summary) {
        summary.unread_count = 0;
        renderList();
      }
    } catch (e) {
      ui.error.textContent = describe(e);
    }
  }, 300);
}
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && scheduleMarkRead());

ui.composer.addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $('[data-testid="message-input"]');
  const text = input.value.trim();
  if (!text || !open) return;
  ui.error.textContent = "";
  const conversationId = open.id;
  input.value = "";
  try {
    const accepted = await client.sendText(conversationId, text);
    if (open?.id === conversationId && !open.messages.has(accepted.seq)) {
      open.messages.set(accepted.seq, {
        message_id: accepted.message_id, conversation_id: conversationId, seq: accepted.seq, sender_id: client.userId,
        payload: { type: "text", text }, status: "accepted", created_at: accepted.created_at,
      });
      renderMessages();
    }
  } catch (e) {
    input.value = text;
    ui.error.textContent = describe(e);
  }
});

// ------------------------------------------------------------------ files

let uploading = null; // the AbortController of the running upload

ui.uploadCancel.addEventListener("click", () => uploading?.abort(new DOMException("cancelled", "AbortError")));

ui.uploader.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $('[data-testid="file-input"]').files[0];
  if (!file || !open) return;
  const conversationId = open.id;
  const button = $('[data-testid="upload-button"]');
  button.disabled = true;
  ui.error.textContent = "";
  ui.progress.hidden = false;
  ui.progress.value = 0;
  delete ui.uploadStatus.dataset.state;
  uploading = new AbortController();
  ui.uploadCancel.hidden = false;
  try {
    const status = await client.uploadFile(conversationId, file, {
      chunkSize: 5 * 1024 * 1024,
      parallel: 3,
      signal: uploading.signal,
      onProgress: (p) => {
        ui.progress.value = p.fraction;
        ui.uploadStatus.textContent = `${(p.fraction * 100).toFixed(0)}% · ${bytes(p.bytesPerSecond)}/s · ETA ${eta(p.etaSeconds)}`;
      },
    });
    ui.uploadStatus.textContent = `uploaded ${file.name} (${bytes(file.size)}) — sharing…`;
    await client.sendFile(conversationId, status.file_id);
    ui.uploadStatus.dataset.state = "done";
    ui.uploadStatus.textContent = `uploaded ${file.name} (${bytes(file.size)})`;
    ui.uploader.reset();
  } catch (e) {
    if (uploading.signal.aborted) {
      // What was stored expires with the upload (24 h); nothing was shared.
      ui.uploadStatus.dataset.state = "cancelled";
      ui.uploadStatus.textContent = `upload of ${file.name} cancelled`;
    } else {
      ui.uploadStatus.textContent = "upload failed";
      ui.error.textContent = describe(e);
    }
  } finally {
    button.disabled = false;
    ui.uploadCancel.hidden = true;
    ui.progress.hidden = true;
    uploading = null;
  }
});

async function describeFile(fileId) {
  fileNames.set(fileId, null);
  try {
    const metadata = await client.getFile(fileId);
    fileNames.set(fileId, `${metadata.filename} (${bytes(metadata.size)})`);
    if (open) renderMessages();
  } catch {
    // not available (yet): keep showing the id
  }
}

async function download(fileId) {
  const [metadata, blob] = await Promise.all([client.getFile(fileId), client.downloadFile(fileId)]);
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = metadata.filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ------------------------------------------------------------------ helpers

function describe(error) {
  if (error instanceof ApiError) {
    return [error.message, ...error.fieldMessages, error.traceId ? `trace_id ${error.traceId}` : ""].filter(Boolean).join("\n");
  }
  return String(error?.message ?? error);
}

function partnerOf(c) {
  return c.type === "private" ? (c.members ?? []).find((m) => m !== client.userId) : null;
}

function titleOf(c) {
  if (c.metadata?.name) return c.metadata.name;
  const partner = partnerOf(c);
  if (partner) return `with ${short(partner)}`;
  return `group of ${(c.members ?? []).length}`;
}

// A dot (drawn by CSS) and the word, so that presence does not rest on colour alone.
function presenceDot(userId) {
  const dot = document.createElement("span");
  dot.className = "presence";
  dot.dataset.testid = "presence";
  dot.dataset.presence = userId === client.userId ? "online" : presence.get(userId) ?? "unknown";
  dot.textContent = dot.dataset.presence === "unknown" ? "" : dot.dataset.presence;
  return dot;
}

function previewOf(m) {
  return m.payload?.type === "text" ? m.payload.text.slice(0, 100) : `[${m.payload?.type}]`;
}

// Ids are UUIDv7: the first digits are a timestamp shared by ids made together, the last ones are random.
function short(id) {
  return "…" + String(id).slice(-8);
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = n ?? 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

function eta(seconds) {
  if (seconds === null || !Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

resumeSavedSession();
