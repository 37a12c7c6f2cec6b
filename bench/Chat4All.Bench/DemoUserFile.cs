using System.Text.Json;
using System.Text.Json.Serialization;

namespace Chat4All.Bench;

/// <summary>
/// One entry of the host's <c>demo-users.json</c>. The credentials are all token and no-op need; the
/// messages scenario also needs the user id (to name conversation members) and the scopes.
/// </summary>
internal sealed record DemoUser(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_secret")] string ClientSecret,
    [property: JsonPropertyName("user_id")] string? UserId = null,
    [property: JsonPropertyName("scopes")] IReadOnlyList<string>? Scopes = null)
{
    public bool HasScope(string scope) => Scopes?.Contains(scope, StringComparer.Ordinal) == true;
}

/// <summary>Finds and reads the demo users file written by <c>Chat4All.Host users seed-demo</c>.</summary>
internal static class DemoUserFile
{
    private const string SolutionFile = "Chat4All.sln";

    /// <summary>
    /// Resolves <paramref name="path"/> against the current directory first, then against the repo
    /// root, so the bench works both from the repo root and from inside bench/ (as <c>dotnet run</c>
    /// from an IDE does). Returns null and lists what was tried when nothing exists.
    /// </summary>
    public static string? Resolve(string path, out IReadOnlyList<string> tried)
    {
        var candidates = new List<string> { Path.GetFullPath(path) };
        if (!Path.IsPathRooted(path))
        {
            // Walk up from both the working directory and the binary, since either may sit inside the repo.
            foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            {
                if (FindRepoRoot(start) is { } root)
                {
                    var candidate = Path.GetFullPath(Path.Combine(root, path));
                    if (!candidates.Contains(candidate, StringComparer.Ordinal))
                    {
                        candidates.Add(candidate);
                    }
                }
            }
        }

        tried = candidates;
        return candidates.FirstOrDefault(File.Exists);
    }

    public static async Task<IReadOnlyList<DemoUser>> ReadAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        var users = await JsonSerializer.DeserializeAsync<List<DemoUser>>(stream, cancellationToken: cancellationToken);
        if (users is null || users.Count == 0)
        {
            throw new InvalidDataException($"{path} holds no demo users.");
        }

        if (users.FirstOrDefault(u => string.IsNullOrEmpty(u.ClientId) || string.IsNullOrEmpty(u.ClientSecret)) is { } incomplete)
        {
            throw new InvalidDataException($"{path}: demo user '{incomplete.Name}' has no client_id or client_secret.");
        }

        return users;
    }

    private static string? FindRepoRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, SolutionFile)))
            {
                return directory.FullName;
            }
        }

        return null;
    }
}
