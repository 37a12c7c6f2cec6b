using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Chat4All.Deployment.Tests;

/// <summary>
/// The Dockerfile builds the host from what the build context holds: every project the host
/// references (transitively) has its project file copied before the restore layer and its sources
/// copied before publish, and .dockerignore does not hide it. No Docker here, so this is what keeps
/// the image buildable when a project is added.
/// </summary>
public sealed partial class ImageBuildTests
{
    [Fact]
    public void TheDockerfileCopiesEveryProjectTheHostReferencesBeforeRestoringAndPublishing()
    {
        var lines = File.ReadAllLines(Repository.PathOf("Dockerfile"));
        var restoreAt = Array.FindIndex(lines, l => l.Contains("dotnet restore", StringComparison.Ordinal));
        var publishAt = Array.FindIndex(lines, l => l.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.True(restoreAt > 0 && publishAt > restoreAt, "the Dockerfile restores, then publishes");
        var copies = lines.Select((line, index) => (Match: CopyLine().Match(line), Index: index))
            .Where(c => c.Match.Success)
            .Select(c => (Source: c.Match.Groups[1].Value.TrimEnd('/'), c.Index))
            .ToList();
        var ignored = File.ReadAllLines(Repository.PathOf(".dockerignore"))
            .Select(l => l.Trim().TrimEnd('/'))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToList();

        var problems = new List<string>();
        foreach (var project in ReferenceClosure("services/Chat4All.Host/Chat4All.Host.csproj"))
        {
            var folder = Path.GetDirectoryName(project)!.Replace('\\', '/');
            if (!copies.Any(c => c.Index < restoreAt && (c.Source == project || Covers(c.Source, folder))))
            {
                problems.Add($"{project} is not copied before `dotnet restore`");
            }

            if (!copies.Any(c => c.Index < publishAt && Covers(c.Source, folder)))
            {
                problems.Add($"{folder}/ is not copied before `dotnet publish`");
            }

            if (ignored.FirstOrDefault(i => Covers(i, folder)) is { } rule)
            {
                problems.Add($"{folder}/ is excluded from the build context by .dockerignore ({rule})");
            }
        }

        Assert.Empty(problems);
    }

    // The host and every project it references, repository-relative with forward slashes.
    private static List<string> ReferenceClosure(string root)
    {
        var seen = new List<string>();
        var pending = new Stack<string>([root]);
        while (pending.TryPop(out var project))
        {
            if (seen.Contains(project))
            {
                continue;
            }

            seen.Add(project);
            var folder = Path.GetDirectoryName(Repository.PathOf(project))!;
            foreach (var reference in XDocument.Load(Repository.PathOf(project)).Descendants("ProjectReference"))
            {
                var full = Path.GetFullPath(Path.Combine(folder, reference.Attribute("Include")!.Value.Replace('\\', '/')));
                pending.Push(Path.GetRelativePath(Repository.Root, full).Replace('\\', '/'));
            }
        }

        return seen;
    }

    private static bool Covers(string source, string folder) =>
        folder == source || folder.StartsWith(source + "/", StringComparison.Ordinal);

    [GeneratedRegex(@"^COPY\s+(?:--\S+\s+)*(\S+)\s+\S+\s*$")]
    private static partial Regex CopyLine();
}
