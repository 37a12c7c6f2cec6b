using System.Net;
using System.Security.Cryptography;
using System.Xml;
using System.Xml.Linq;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Blobs;

/// <summary>
/// The S3 adapter (AWS S3, MinIO, moto) over AWSSDK.S3: a staged object is a multipart upload
/// (handle = UploadId), each part an UploadPart streamed straight from the caller's stream, and
/// completing it is CompleteMultipartUpload — S3 assembles the object, no byte passes through us
/// again. Downloads can be presigned GET URLs. See docs/adr/0012-blob-store.md.
/// </summary>
public sealed class S3BlobStore(
    [FromKeyedServices(S3BlobStore.ClientKey)] IAmazonS3 client,
    IOptions<StorageOptions> options,
    TimeProvider time,
    ILogger<S3BlobStore> logger) : IBlobStore, IBlobStoreProbe, IDisposable
{
    /// <summary>The DI key of the blob store's <see cref="IAmazonS3"/>, so it cannot clash with another S3 client.</summary>
    public const string ClientKey = "chat4all-blobs";

    private static readonly TimeSpan PartUrlLifetime = TimeSpan.FromMinutes(15);

    private readonly S3StorageOptions _options = options.Value.S3;
    private readonly SemaphoreSlim _bucketGate = new(1, 1);
    // Part bodies go out through this client (see WritePartAsync); deadlines come from the callers' tokens.
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
    private volatile bool _bucketReady;

    private string Bucket => _options.Bucket!;

    private Protocol Scheme => _options.ServiceUrl?.Scheme == Uri.UriSchemeHttp ? Protocol.HTTP : Protocol.HTTPS;

    /// <summary>An S3 client for <paramref name="options"/>: endpoint, path style, region and credentials.</summary>
    public static AmazonS3Client CreateClient(S3StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        if (options.ServiceUrl is { } url)
        {
            config.ServiceURL = url.ToString();
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        return string.IsNullOrEmpty(options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    public async Task<StagedBlob> BeginStagedAsync(string key, long totalLength, long partSize, CancellationToken cancellationToken)
    {
        BlobKeys.Validate(key);
        StagedBlobRules.ValidateBegin(totalLength, partSize);
        await EnsureBucketAsync(cancellationToken);
        var response = await client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = Bucket, Key = key }, cancellationToken);
        return new StagedBlob(key, response.UploadId, totalLength, partSize);
    }

    /// <summary>
    /// Streams the part with an UploadPart request that the SDK presigns and <see cref="HttpClient"/>
    /// sends: AWSSDK.S3 4.1 only streams a forward-only body when payload signing is off, which it
    /// refuses over plain HTTP (MinIO or moto on loopback), and otherwise needs a seekable stream —
    /// the whole part in memory. A presigned UploadPart is the same S3 operation with an unsigned
    /// payload, over HTTP or HTTPS alike; the body goes out as it is read, with its Content-Length.
    /// </summary>
    public async Task<StagedPart> WritePartAsync(StagedBlob blob, int partNumber, Stream content, long length, CancellationToken cancellationToken)
    {
        StagedBlobRules.ValidatePart(blob, partNumber, length);
        ArgumentNullException.ThrowIfNull(content);
        var url = await client.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = Bucket,
            Key = blob.Key,
            Verb = HttpVerb.PUT,
            UploadId = blob.Handle,
            PartNumber = partNumber,
            Expires = (time.GetUtcNow() + PartUrlLifetime).UtcDateTime, // checked when the request starts, not when it ends
            Protocol = Scheme,
        });

        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var body = new PartContentStream(content, length, sha256);
        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = new StreamContent(body) };
        request.Content.Headers.ContentLength = length;
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (Exception ex) when (body.Mismatch is { } mismatch && ex is not BlobLengthMismatchException)
        {
            // HttpClient wraps what our stream threw; the mismatch is what the caller must see.
            throw new BlobLengthMismatchException(mismatch.Expected, mismatch.Actual);
        }

        string? etag;
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw await UploadPartFailedAsync(blob, partNumber, response, cancellationToken);
            }

            etag = response.Headers.ETag?.ToString() ?? (response.Headers.TryGetValues("ETag", out var values) ? values.FirstOrDefault() : null);
        }

        // S3 stops at Content-Length; a body that goes on is caught here, after the part was stored.
        // The caller then does not record the part, and rewriting it replaces it.
        await body.EnsureEndedAsync(cancellationToken);
        return new StagedPart(partNumber, length, body.Sha256(), etag ?? throw new AmazonS3Exception($"UploadPart of '{blob.Key}' part {partNumber} returned no ETag."));
    }

    public async Task CompleteStagedAsync(StagedBlob blob, IReadOnlyList<StagedPart> parts, CancellationToken cancellationToken)
    {
        var ordered = StagedBlobRules.ValidateCompletion(blob, parts);
        if (ordered.FirstOrDefault(p => string.IsNullOrEmpty(p.ETag)) is { } untagged)
        {
            throw new InvalidOperationException($"Part {untagged.PartNumber} of '{blob.Key}' has no ETag; S3 needs the ETag of every part.");
        }

        try
        {
            await client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = Bucket,
                Key = blob.Key,
                UploadId = blob.Handle,
                PartETags = [.. ordered.Select(p => new PartETag(p.PartNumber, p.ETag))],
            }, cancellationToken);
            BlobStoreLog.Completed(logger, blob.Key, blob.TotalLength, ordered.Length);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "InvalidPart" or "InvalidPartOrder" or "EntityTooSmall")
        {
            throw new InvalidOperationException($"S3 refused to complete '{blob.Key}': {ex.Message}", ex);
        }
        catch (AmazonS3Exception ex)
        {
            // S3 forgets a completed upload (NoSuchUpload; moto answers 500 instead): completed before
            // when the object is there with the expected length, otherwise aborted.
            if (ex.ErrorCode != "NoSuchUpload" && await UploadExistsAsync(blob, cancellationToken))
            {
                throw;
            }

            var properties = await GetPropertiesAsync(blob.Key, cancellationToken);
            if (properties?.Length != blob.TotalLength)
            {
                throw new InvalidOperationException(
                    $"'{blob.Key}' ({blob.Handle}) has no multipart upload and no completed object of {blob.TotalLength} bytes: it was aborted, or never begun here.", ex);
            }

            BlobStoreLog.AlreadyCompleted(logger, blob.Key);
        }
    }

    public async Task AbortStagedAsync(StagedBlob blob, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        try
        {
            await client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Bucket, Key = blob.Key, UploadId = blob.Handle }, cancellationToken);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchUpload")
        {
            BlobStoreLog.AlreadyAborted(logger, blob.Key, blob.Handle);
        }
    }

    public async Task<BlobProperties?> GetPropertiesAsync(string key, CancellationToken cancellationToken)
    {
        BlobKeys.Validate(key);
        await EnsureBucketAsync(cancellationToken);
        try
        {
            var metadata = await client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = key }, cancellationToken);
            return new BlobProperties(metadata.ContentLength);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        BlobKeys.Validate(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is { } count)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count, nameof(length));
        }

        await EnsureBucketAsync(cancellationToken);
        var request = new GetObjectRequest { BucketName = Bucket, Key = key };
        if (length is { } l)
        {
            request.ByteRange = new ByteRange(offset, offset + l - 1);
        }
        else if (offset > 0)
        {
            request.ByteRange = new ByteRange(FormattableString.Invariant($"bytes={offset}-"));
        }

        try
        {
            var response = await client.GetObjectAsync(request, cancellationToken);
            return new BoundedReadStream(response.ResponseStream, length, owner: response);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new BlobNotFoundException(key);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"'{key}' is shorter than the offset. {ex.Message}");
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        BlobKeys.Validate(key);
        await EnsureBucketAsync(cancellationToken);
        await client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = key }, cancellationToken); // S3 deletes are idempotent
    }

    /// <summary>
    /// A presigned GET that lives for <paramref name="lifetime"/>, at most <see cref="S3StorageOptions.PresignedUrlLifetime"/>,
    /// and makes S3 answer with <c>Content-Disposition: attachment</c> (RFC 6266) and <paramref name="contentType"/>.
    /// Signing is local: no request is made.
    /// </summary>
    public async Task<Uri?> GetDownloadUrlAsync(string key, string fileName, string contentType, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        BlobKeys.Validate(key);
        ArgumentException.ThrowIfNullOrEmpty(contentType);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        var request = new GetPreSignedUrlRequest
        {
            BucketName = Bucket,
            Key = key,
            Verb = HttpVerb.GET,
            Expires = (time.GetUtcNow() + TimeSpan.FromTicks(Math.Min(lifetime.Ticks, _options.PresignedUrlLifetime.Ticks))).UtcDateTime,
            Protocol = Scheme,
            ResponseHeaderOverrides = { ContentDisposition = ContentDispositionHeader.Attachment(fileName), ContentType = contentType },
        };
        return new Uri(await client.GetPreSignedURLAsync(request));
    }

    /// <summary>Ready when the bucket answers (HeadBucket), after creating it when configured to.</summary>
    async Task IBlobStoreProbe.ProbeAsync(CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        await client.HeadBucketAsync(new HeadBucketRequest { BucketName = Bucket }, cancellationToken);
    }

    public void Dispose()
    {
        _http.Dispose();
        _bucketGate.Dispose();
    }

    /// <summary>
    /// What a failed presigned UploadPart means: the upload is gone (<see cref="InvalidOperationException"/>),
    /// or S3's error as an <see cref="AmazonS3Exception"/>. S3 says NoSuchUpload; not every S3-compatible
    /// store does (moto answers 500), so on any other error we ask whether the upload still exists.
    /// </summary>
    private async Task<Exception> UploadPartFailedAsync(StagedBlob blob, int partNumber, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        string? code = null, message = null, requestId = null;
        try
        {
            var error = XDocument.Parse(text).Root;
            (code, message, requestId) = (error?.Element("Code")?.Value, error?.Element("Message")?.Value, error?.Element("RequestId")?.Value);
        }
        catch (XmlException)
        {
        }

        var failure = new AmazonS3Exception(
            $"UploadPart of '{blob.Key}' part {partNumber} failed: {(int)response.StatusCode} {code} {message}".TrimEnd(),
            (int)response.StatusCode >= 500 ? ErrorType.Receiver : ErrorType.Sender, code, requestId, response.StatusCode);
        var gone = code == "NoSuchUpload" || !await UploadExistsAsync(blob, cancellationToken);
        return gone ? NotStaged(blob, failure) : failure;
    }

    private async Task<bool> UploadExistsAsync(StagedBlob blob, CancellationToken cancellationToken)
    {
        try
        {
            await client.ListPartsAsync(new ListPartsRequest { BucketName = Bucket, Key = blob.Key, UploadId = blob.Handle, MaxParts = 1 }, cancellationToken);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchUpload")
        {
            return false;
        }
    }

    private static InvalidOperationException NotStaged(StagedBlob blob, Exception inner) =>
        new($"'{blob.Key}' ({blob.Handle}) is no longer staged: it was completed or aborted.", inner);

    /// <summary>With <see cref="S3StorageOptions.CreateBucket"/>, creates the bucket once (idempotent across instances).</summary>
    private async ValueTask EnsureBucketAsync(CancellationToken cancellationToken)
    {
        if (_bucketReady || !_options.CreateBucket)
        {
            return;
        }

        await _bucketGate.WaitAsync(cancellationToken);
        try
        {
            if (_bucketReady)
            {
                return;
            }

            try
            {
                var request = new PutBucketRequest { BucketName = Bucket };
                if (_options.Region != "us-east-1")
                {
                    request.BucketRegionName = _options.Region; // us-east-1 takes no location constraint
                }

                await client.PutBucketAsync(request, cancellationToken);
                BlobStoreLog.BucketCreated(logger, Bucket);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "BucketAlreadyOwnedByYou")
            {
            }

            _bucketReady = true;
        }
        finally
        {
            _bucketGate.Release();
        }
    }
}
