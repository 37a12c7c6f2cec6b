using System.CommandLine;
using System.CommandLine.Parsing;

namespace Chat4All.Cli.CommandLine;

/// <summary>
/// Checks the parser applies before any command runs, so that a bad value is a usage error (exit 2)
/// with a message about the value — never a runtime exception naming a .NET type.
/// </summary>
public static class OptionRules
{
    /// <summary>Refuses a value outside <paramref name="min"/>..<paramref name="max"/> (the API's own limits).</summary>
    public static T InRange<T>(this T option, long min, long max)
        where T : Option
    {
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (!long.TryParse(token.Value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture,
                        out var value) || value < min || value > max)
                {
                    result.AddError($"{option.Name} must be a whole number from {min} to {max}, not '{token.Value}'.");
                }
            }
        });
        return option;
    }

    /// <summary>
    /// Ids given to a repeatable option. The parser defers conversion errors of array options to the
    /// moment a command reads them (where they surface as exceptions), so they are checked here.
    /// </summary>
    public static Option<Guid[]> Ids(this Option<Guid[]> option)
    {
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens.Where(t => !Guid.TryParse(t.Value, out _)))
            {
                result.AddError($"{option.Name} takes ids (UUIDs such as 0199e7a4-…), not '{token.Value}'.");
            }
        });
        return option;
    }

    /// <summary>
    /// The parser's own messages, without .NET type names: "Cannot parse argument 'x' for option
    /// '--conversation' as expected type 'System.Guid'." becomes "'x' is not a valid --conversation: expected an id (a UUID)."
    /// </summary>
    public static string Describe(ParseError error)
    {
        var match = System.Text.RegularExpressions.Regex.Match(error.Message,
            "^Cannot parse argument '(?<value>.*)' for (?:option|command|argument) '(?<symbol>[^']*)' as expected type '?(?<type>[^'.]+(?:\\.[^'.]+)*)'?\\.?$");
        if (!match.Success)
        {
            return error.Message;
        }

        var expected = match.Groups["type"].Value switch
        {
            var t when t.Contains("Guid", StringComparison.Ordinal) => "an id (a UUID)",
            var t when t.Contains("Int", StringComparison.Ordinal) => "a whole number",
            var t when t.Contains("Boolean", StringComparison.Ordinal) => "true or false",
            var t when t.Contains("OutputFormat", StringComparison.Ordinal) => "text or json",
            _ => "a different kind of value",
        };
        return $"'{match.Groups["value"].Value}' is not a valid {match.Groups["symbol"].Value}: expected {expected}.";
    }

    /// <summary>"did you mean" candidates for a mistyped command or option among those <paramref name="command"/> accepts.</summary>
    public static IReadOnlyList<string> Suggestions(Command command, string typed)
    {
        var names = command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name)
            .Concat(command.Options.Where(o => !o.Hidden).Select(o => o.Name));
        if (command.Parents.OfType<Command>().FirstOrDefault() is { } parent)
        {
            names = names.Concat(parent.Options.Where(o => o.Recursive && !o.Hidden).Select(o => o.Name));
        }

        var limit = Math.Max(1, typed.Length / 3);
        return [.. names.Distinct()
            .Select(name => (name, distance: Distance(typed.TrimStart('-'), name.TrimStart('-'))))
            .Where(c => c.distance <= limit)
            .OrderBy(c => c.distance)
            .Select(c => c.name)
            .Take(3)];
    }

    // Optimal-string-alignment distance: a swap of two neighbours ("conversatoins") counts as one edit.
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
