using System.ComponentModel.DataAnnotations;

namespace Chat4All.BuildingBlocks.Blobs;

/// <summary>Where blobs live (docs/architecture.md §3), independent of the runtime.</summary>
public enum BlobStoreProvider
{
    /// <summary>A local directory (<see cref="FileSystemBlobStore"/>); the default.</summary>
    Directory,

    /// <summary>An S3-compatible object store: AWS S3, MinIO, moto (<see cref="S3BlobStore"/>).</summary>
    S3,
}

/// <summary>Blob-store settings. Bound from <c>Chat4All:Storage</c>; see docs/adr/0012-blob-store.md.</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string SectionName = "Chat4All:Storage";

    /// <summary><c>directory</c> (default) or <c>s3</c>.</summary>
    public BlobStoreProvider Provider { get; set; } = BlobStoreProvider.Directory;

    public DirectoryStorageOptions Directory { get; set; } = new();

    public S3StorageOptions S3 { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // Only the chosen provider's section must be complete; nested sections are validated here
        // because ValidateDataAnnotations does not descend into them.
        var (section, name, value) = Provider switch
        {
            BlobStoreProvider.S3 => ($"{SectionName}:S3", nameof(S3), (object)S3),
            _ => ($"{SectionName}:Directory", nameof(Directory), Directory),
        };
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true);
        if (value is IValidatableObject validatable && results.Count == 0)
        {
            results.AddRange(validatable.Validate(new ValidationContext(value)));
        }

        foreach (var result in results)
        {
            yield return new ValidationResult($"{section}: {result.ErrorMessage}", [.. result.MemberNames.Select(m => $"{name}.{m}")]);
        }
    }
}

/// <summary>The directory adapter's settings (<c>Chat4All:Storage:Directory</c>).</summary>
public sealed class DirectoryStorageOptions
{
    /// <summary>
    /// Root folder of the objects; staged objects live under its <c>.staging</c> folder, on the same
    /// file system, so completing one is a rename. Defaults to <c>{Chat4All:DataDirectory}/blobs</c>.
    /// </summary>
    [Required(ErrorMessage = "Path is required: set Chat4All:Storage:Directory:Path, or Chat4All:DataDirectory to keep blobs under its 'blobs' folder.")]
    public string? Path { get; set; }
}

/// <summary>The S3 adapter's settings (<c>Chat4All:Storage:S3</c>).</summary>
public sealed class S3StorageOptions : IValidatableObject
{
    /// <summary>Endpoint of an S3-compatible store (MinIO, moto), e.g. <c>http://127.0.0.1:9000</c>; unset for AWS itself.</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>Region requests are signed for (and AWS's endpoint when <see cref="ServiceUrl"/> is unset).</summary>
    [Required]
    [RegularExpression("^[a-z0-9-]+$")]
    public string Region { get; set; } = "us-east-1";

    /// <summary>The one bucket every object goes to.</summary>
    [Required]
    [RegularExpression("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", ErrorMessage = "Bucket must be a valid S3 bucket name (3–63 lowercase letters, digits, '.' or '-').")]
    public string? Bucket { get; set; }

    /// <summary>Static credentials; leave both unset to use the SDK's default chain (environment, instance role).</summary>
    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>Path-style URLs (<c>{endpoint}/{bucket}/{key}</c>), which MinIO and moto need.</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Create the bucket on first use when it is missing (development and tests).</summary>
    public bool CreateBucket { get; set; }

    /// <summary>The longest a presigned download URL may live; a caller asking for longer gets this.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan PresignedUrlLifetime { get; set; } = TimeSpan.FromMinutes(15);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ServiceUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            yield return new ValidationResult($"ServiceUrl '{url}' must be an absolute http or https URL.", [nameof(ServiceUrl)]);
        }

        if (string.IsNullOrEmpty(AccessKey) != string.IsNullOrEmpty(SecretKey))
        {
            yield return new ValidationResult("AccessKey and SecretKey go together: set both, or neither to use the default credential chain.",
                [nameof(AccessKey), nameof(SecretKey)]);
        }
    }
}
