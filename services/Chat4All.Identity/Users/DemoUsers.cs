using System.Text.Json;
using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Contracts;
using Chat4All.Identity.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Chat4All.Identity.Users;

/// <summary>One line of <c>demo-users.json</c>.</summary>
public sealed record DemoUser(string Name, Guid UserId, string ClientId, string ClientSecret, IReadOnlyList<string> Scopes);

/// <summary>
/// The main job's demo users. Idempotent: users whose saved secret still works are kept as they
/// are; missing users are created and users whose secret is unknown get a fresh one, so the file is
/// always a working set of credentials.
/// </summary>
public sealed class DemoUsers(IdentityDbContext db, UserProvisioner provisioner, IOptions<Chat4AllOptions> options)
{
    public static readonly IReadOnlyList<(string Name, string[] Scopes)> Roster =
    [
        ("alice", [ChatScopes.Messages, ChatScopes.Files]),
        ("bob", [ChatScopes.Messages, ChatScopes.Files]),
        ("carol", [ChatScopes.Messages, ChatScopes.Files]),
        ("dave", [ChatScopes.Messages, ChatScopes.Files]),
        ("admin", [ChatScopes.Messages, ChatScopes.Files, ChatScopes.Admin]),
    ];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    public async Task<IReadOnlyList<DemoUser>> EnsureAsync(string path, CancellationToken cancellationToken)
    {
        var saved = await ReadAsync(path, cancellationToken);
        var tenant = options.Value.DefaultTenantId;
        var result = new List<DemoUser>();
        foreach (var (name, scopes) in Roster)
        {
            var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.TenantId == tenant && u.Name == name, cancellationToken);
            if (user is null)
            {
                var created = await provisioner.CreateAsync(name, scopes, tenant, cancellationToken, clientId: "demo-" + name);
                result.Add(new DemoUser(name, created.UserId, created.ClientId, created.ClientSecret, created.Scopes));
            }
            else if (saved.FirstOrDefault(d => d.ClientId == user.ClientId) is { } known &&
                     await provisioner.HasSecretAsync(user.ClientId, known.ClientSecret, cancellationToken))
            {
                result.Add(known with { UserId = user.Id, Scopes = user.Scopes });
            }
            else
            {
                var reset = await provisioner.ResetSecretAsync(user, cancellationToken);
                result.Add(new DemoUser(name, reset.UserId, reset.ClientId, reset.ClientSecret, reset.Scopes));
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(result, Json), cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temporary, path, overwrite: true);
        return result;
    }

    private static async Task<IReadOnlyList<DemoUser>> ReadAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        try
        {
            await using var stream = File.OpenRead(path);
            return await JsonSerializer.DeserializeAsync<List<DemoUser>>(stream, Json, cancellationToken) ?? [];
        }
        catch (JsonException)
        {
            return []; // an unreadable file is replaced by a fresh, working one
        }
    }
}
