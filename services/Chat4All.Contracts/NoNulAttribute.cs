using System.ComponentModel.DataAnnotations;

namespace Chat4All.Contracts;

/// <summary>
/// Refuses text containing NUL (U+0000): PostgreSQL <c>text</c> cannot store it, and no channel carries
/// it. Every other Unicode character is accepted; NUL is refused rather than stripped, so what is stored
/// is exactly what was sent (docs/adr/0027).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter | AttributeTargets.Field)]
public sealed class NoNulAttribute : ValidationAttribute
{
    public NoNulAttribute()
        : base("{0} must not contain the NUL character (U+0000).")
    {
    }

    public static bool Contains(string? value) => value is not null && value.Contains('\0', StringComparison.Ordinal);

    public override bool IsValid(object? value) => value switch
    {
        string text => !Contains(text),
        IEnumerable<string?> texts => !texts.Any(Contains),
        _ => true,
    };
}
