using System.Globalization;

namespace Chat4All.BuildingBlocks.Blobs;

/// <summary>
/// The limits of a staged object, enforced by both adapters so that what works against the
/// directory also works against S3 (whose multipart API sets them).
/// </summary>
public static class StagedBlobLimits
{
    /// <summary>Every part but the last must be at least this long (S3: 5 MiB).</summary>
    public const long MinPartSize = 5L * 1024 * 1024;

    /// <summary>No part may be longer (S3: 5 GiB).</summary>
    public const long MaxPartSize = 5L * 1024 * 1024 * 1024;

    /// <summary>At most this many parts (S3: 10,000).</summary>
    public const int MaxParts = 10_000;

    /// <summary>How many parts <paramref name="totalLength"/> bytes make in parts of <paramref name="partSize"/>.</summary>
    public static int PartCount(long totalLength, long partSize) => (int)((totalLength + partSize - 1) / partSize);

    /// <summary>The length part <paramref name="partNumber"/> (1-based) must have: the part size, or the remainder for the last.</summary>
    public static long PartLength(long totalLength, long partSize, int partNumber) =>
        Math.Min(partSize, totalLength - ((partNumber - 1) * partSize));
}

/// <summary>Argument and completion checks shared by the adapters.</summary>
internal static class StagedBlobRules
{
    public static void ValidateBegin(long totalLength, long partSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partSize, StagedBlobLimits.MaxPartSize);
        var parts = (totalLength + partSize - 1) / partSize;
        if (parts > StagedBlobLimits.MaxParts)
        {
            throw new ArgumentOutOfRangeException(nameof(partSize), partSize,
                $"{totalLength} bytes in parts of {partSize} make {parts} parts; at most {StagedBlobLimits.MaxParts} are allowed.");
        }

        if (parts > 1 && partSize < StagedBlobLimits.MinPartSize)
        {
            throw new ArgumentOutOfRangeException(nameof(partSize), partSize,
                $"Parts must be at least {StagedBlobLimits.MinPartSize} bytes unless there is only one.");
        }
    }

    /// <summary>Checks the part number and that <paramref name="length"/> is exactly that part's length.</summary>
    public static long ValidatePart(StagedBlob blob, int partNumber, long length)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var count = StagedBlobLimits.PartCount(blob.TotalLength, blob.PartSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(partNumber, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partNumber, count);
        var expected = StagedBlobLimits.PartLength(blob.TotalLength, blob.PartSize, partNumber);
        if (length != expected)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length,
                $"Part {partNumber} of {count} of '{blob.Key}' is {expected} bytes long, not {length}.");
        }

        return (partNumber - 1) * blob.PartSize;
    }

    /// <summary>The parts in order, when they are exactly 1..N with the right lengths; otherwise <see cref="InvalidOperationException"/>.</summary>
    public static StagedPart[] ValidateCompletion(StagedBlob blob, IReadOnlyList<StagedPart> parts)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(parts);
        var count = StagedBlobLimits.PartCount(blob.TotalLength, blob.PartSize);
        var ordered = parts.OrderBy(p => p.PartNumber).ToArray();
        var problems = new List<string>();
        var numbers = ordered.Select(p => p.PartNumber).ToHashSet();
        var missing = Enumerable.Range(1, count).Where(n => !numbers.Contains(n)).ToList();
        if (missing.Count > 0)
        {
            problems.Add($"missing parts {Describe(missing)}");
        }

        var unexpected = ordered.Select(p => p.PartNumber).Where(n => n < 1 || n > count).Distinct().ToList();
        if (unexpected.Count > 0)
        {
            problems.Add($"unexpected parts {Describe(unexpected)}");
        }

        var duplicated = ordered.GroupBy(p => p.PartNumber).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicated.Count > 0)
        {
            problems.Add($"parts given twice {Describe(duplicated)}");
        }

        var wrongLength = ordered
            .Where(p => p.PartNumber >= 1 && p.PartNumber <= count && p.Length != StagedBlobLimits.PartLength(blob.TotalLength, blob.PartSize, p.PartNumber))
            .Select(p => p.PartNumber).Distinct().ToList();
        if (wrongLength.Count > 0)
        {
            problems.Add($"parts of the wrong length {Describe(wrongLength)}");
        }

        return problems.Count == 0
            ? ordered
            : throw new InvalidOperationException($"Cannot complete '{blob.Key}' ({count} parts): {string.Join("; ", problems)}.");
    }

    private static string Describe(IEnumerable<int> numbers)
    {
        var list = numbers.ToList();
        var shown = string.Join(", ", list.Take(20).Select(n => n.ToString(CultureInfo.InvariantCulture)));
        return list.Count > 20 ? $"{shown}, … ({list.Count} in all)" : shown;
    }
}
