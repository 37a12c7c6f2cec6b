using System.ComponentModel.DataAnnotations;
using Chat4All.BuildingBlocks.Blobs;

namespace Chat4All.Files;

/// <summary>Upload limits, lifetimes and the background jobs' cadence. Bound from <c>Chat4All:Files</c>.</summary>
public sealed class FilesOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:Files";

    public const long MiB = 1024 * 1024;

    /// <summary>docs/api.md §6.1: 1 .. 2 GiB; 64-bit everywhere.</summary>
    [Range(1L, 2L * 1024 * MiB)]
    public long MaxFileSize { get; set; } = 2L * 1024 * MiB;

    /// <summary>At least the blob stores' smallest part (S3's 5 MiB), or every multi-chunk upload would fail to start.</summary>
    [Range(StagedBlobLimits.MinPartSize, 5L * 1024 * MiB)]
    public long MinChunkSize { get; set; } = 5 * MiB;

    [Range(1L, 5L * 1024 * MiB)]
    public long MaxChunkSize { get; set; } = 50 * MiB;

    [Range(1L, 5L * 1024 * MiB)]
    public long DefaultChunkSize { get; set; } = 8 * MiB;

    /// <summary>How long an upload may take from initiate to complete before the purge removes it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan UploadLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a chunk request's claim holds without renewal; renewed while the bytes flow, so it only matters after a crash.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ChunkClaimLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the purge of expired uploads runs.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often an idle standalone assembly runner looks for due runs (completions in this process wake it at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan AssemblyPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a runner owns an assembly run before another may take it over (a crashed runner's work resumes after this).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan AssemblyLease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Dapr runtime: how often uploads merging without a scheduled workflow (its scheduling failed after the
    /// status commit) are scheduled again, and how long an upload must have been merging to be considered.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan AssemblySweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Attempts of a failing assembly step (a transient blob store or database fault) before the upload fails.</summary>
    [Range(1, 100)]
    public int AssemblyMaxAttempts { get; set; } = 5;

    /// <summary>How long a presigned download URL (S3) stays valid.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan DownloadUrlLifetime { get; set; } = TimeSpan.FromMinutes(15);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MinChunkSize > MaxChunkSize)
        {
            yield return new ValidationResult($"{SectionName}:MinChunkSize must not exceed MaxChunkSize.", [nameof(MinChunkSize), nameof(MaxChunkSize)]);
        }

        if (DefaultChunkSize < MinChunkSize || DefaultChunkSize > MaxChunkSize)
        {
            yield return new ValidationResult($"{SectionName}:DefaultChunkSize must lie within MinChunkSize..MaxChunkSize.", [nameof(DefaultChunkSize)]);
        }
    }
}
