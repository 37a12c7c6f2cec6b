using System.Text.Json;
using System.Text.RegularExpressions;
using Chat4All.Cli.Api;

namespace Chat4All.Cli.Auth;

/// <summary>
/// Profiles under <c>{config}/profiles/{name}.json</c>: the directory is 0700, files 0600, written
/// atomically (temp file + rename). Refreshes take <c>{name}.lock</c> so that two CLI processes of
/// one profile (a <c>tail</c> and a <c>send</c>) never spend the same rotating refresh token twice —
/// reuse would revoke the whole token family.
/// </summary>
public sealed partial class ProfileStore(string configDirectory, string profileName)
{
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public string Name { get; } = ValidName().IsMatch(profileName)
        ? profileName
        : throw new CliException($"Profile names are letters, digits, '-', '_' and '.': '{profileName}' is not one.", ExitCodes.Usage);

    public string Directory => Path.Combine(configDirectory, "profiles");

    public string FilePath => Path.Combine(Directory, Name + ".json");

    /// <summary>Every saved profile, by name; a damaged file is listed with a null profile.</summary>
    public static IEnumerable<(string Name, Profile? Profile)> List(string configDirectory)
    {
        var directory = Path.Combine(configDirectory, "profiles");
        if (!System.IO.Directory.Exists(directory))
        {
            yield break;
        }

        foreach (var file in System.IO.Directory.EnumerateFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (!ValidName().IsMatch(name))
            {
                continue;
            }

            Profile? profile;
            try
            {
                profile = new ProfileStore(configDirectory, name).Load();
            }
            catch (CliException)
            {
                profile = null;
            }

            yield return (name, profile);
        }
    }

    public Profile? Load()
    {
        if (!File.Exists(FilePath))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(FilePath), CliJson.Default.Profile);
        }
        catch (JsonException ex)
        {
            throw new CliException($"The profile file {FilePath} is damaged ({ex.Message}); run `chat4all login` again.", ExitCodes.Auth);
        }
    }

    public void Save(Profile profile) => WritePrivate(FilePath, JsonSerializer.SerializeToUtf8Bytes(profile, CliJson.Default.Profile));

    public bool Delete()
    {
        var existed = File.Exists(FilePath);
        File.Delete(FilePath);
        return existed;
    }

    /// <summary>Holds the profile's lock file until disposed (waits for another process that holds it).</summary>
    public async Task<IDisposable> LockAsync(CancellationToken cancellationToken)
    {
        EnsurePrivateDirectory(Directory);
        var path = Path.Combine(Directory, Name + ".lock");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                return new FileStream(path, PrivateOptions(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    /// <summary>Writes <paramref name="bytes"/> so that only the owner can read them, replacing the file atomically.</summary>
    public static void WritePrivate(string path, ReadOnlySpan<byte> bytes)
    {
        EnsurePrivateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        using (var stream = new FileStream(temporary, PrivateOptions(FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None)))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    private static FileStreamOptions PrivateOptions(FileMode mode, FileAccess access, FileShare share, FileOptions options)
    {
        var result = new FileStreamOptions { Mode = mode, Access = access, Share = share, Options = options };
        if (!OperatingSystem.IsWindows())
        {
            result.UnixCreateMode = PrivateFile;
        }

        return result;
    }

    public static void EnsurePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(path);
            return;
        }

        System.IO.Directory.CreateDirectory(path, PrivateDirectory);
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex ValidName();
}
