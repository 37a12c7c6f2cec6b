using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chat4All.Cli.Api;
using Chat4All.Cli.Auth;

namespace Chat4All.Cli.Files;

/// <summary>
/// What an interrupted upload needs to continue: the server's upload id for this exact file (path,
/// size and modification time) in this conversation, and the file's SHA-256 so it is not hashed again.
/// </summary>
public sealed record UploadState(
    Guid UploadId,
    string Url,
    Guid ConversationId,
    string Path,
    long Size,
    DateTime LastWriteUtc,
    string Sha256,
    string MimeType,
    long ChunkSize,
    int TotalChunks,
    DateTimeOffset ExpiresAt);

/// <summary>Upload states under <c>{config}/uploads/{profile}/</c>, one file per (host, conversation, file), mode 0600.</summary>
public sealed class UploadStateStore(string configDirectory, string profile)
{
    public string Directory => Path.Combine(configDirectory, "uploads", profile);

    public string PathFor(string url, Guid conversationId, string filePath) =>
        Path.Combine(Directory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{url}\n{conversationId}\n{filePath}")))[..32] + ".json");

    public static UploadState? Load(string statePath)
    {
        try
        {
            return File.Exists(statePath) ? JsonSerializer.Deserialize(File.ReadAllText(statePath), CliJson.Default.UploadState) : null;
        }
        catch (JsonException)
        {
            return null; // damaged: start a new upload
        }
    }

    public static void Save(string statePath, UploadState state) =>
        ProfileStore.WritePrivate(statePath, JsonSerializer.SerializeToUtf8Bytes(state, CliJson.Default.UploadState));

    public static void Delete(string statePath) => File.Delete(statePath);
}
