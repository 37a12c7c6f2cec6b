using System.Net;
using Amazon.S3.Model;
using Chat4All.BuildingBlocks.Blobs;
using static Chat4All.Files.Tests.FilesClient;

namespace Chat4All.Files.Tests;

/// <summary>
/// The whole upload → assembly → download path with the S3 blob store, over real HTTP against a
/// real moto_server: chunks become multipart-upload parts, completion happens in the store, and the
/// download is a redirect to a presigned URL the store itself serves.
/// </summary>
public sealed class S3UploadTests(S3FilesPlatform platform) : IClassFixture<S3FilesPlatform>
{
    [Fact]
    public async Task AnUploadAssemblesInS3AndDownloadsThroughAPresignedUrlWithRanges()
    {
        using var alice = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        var conversationId = await alice.CreateConversationAsync(bob);
        var content = RandomBytes(12 * MiB + 4321);
        var (uploadId, total) = await alice.StartUploadAsync(conversationId, content, checksum: Sha256(content));
        Assert.Equal(3, total);

        var done = await alice.SendChunksAndCompleteAsync(uploadId, content, [3, 1, 2, 1]);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        var fileId = done.GetProperty("file_id").GetGuid();

        // Bob, the other member, is sent to the store; the service streams none of the bytes.
        using var noRedirects = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = bob.Http.BaseAddress };
        noRedirects.DefaultRequestHeaders.Authorization = bob.Http.DefaultRequestHeaders.Authorization;
        using var redirect = await noRedirects.GetAsync($"/v1/files/{fileId}/content");
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        var presigned = redirect.Headers.Location!;
        Assert.Equal(platform.StorageOptions.ServiceUrl!.Authority, presigned.Authority);
        Assert.Contains("X-Amz-Signature=", presigned.Query, StringComparison.Ordinal);

        using var anonymous = new HttpClient();
        var downloaded = await anonymous.GetByteArrayAsync(presigned);
        Assert.Equal(Sha256(content), Sha256(downloaded));

        using var ranged = new HttpRequestMessage(HttpMethod.Get, presigned);
        ranged.Headers.Range = new(5 * MiB - 10, 5 * MiB + 9);
        using var slice = await anonymous.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, slice.StatusCode);
        Assert.Equal(content.AsSpan(5 * MiB - 10, 20).ToArray(), await slice.Content.ReadAsByteArrayAsync());

        // Assembly left exactly one object and no multipart upload behind.
        using var s3 = S3BlobStore.CreateClient(platform.StorageOptions);
        var pending = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = S3FilesPlatform.Bucket });
        Assert.Empty(pending.MultipartUploads ?? []);
        var objects = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3FilesPlatform.Bucket });
        var stored = Assert.Single(objects.S3Objects ?? [], o => o.Key.Contains(uploadId.ToString("N"), StringComparison.Ordinal));
        Assert.Equal(content.Length, stored.Size);
    }

    [Fact]
    public async Task AnUploadWhoseBytesContradictItsChecksumFailsAndLeavesNothingInTheBucket()
    {
        using var alice = await CreateAsync(platform);
        using var bob = await CreateAsync(platform);
        var conversationId = await alice.CreateConversationAsync(bob);
        var content = RandomBytes(6 * MiB);
        var (uploadId, total) = await alice.StartUploadAsync(conversationId, content, checksum: Sha256(RandomBytes(16)));
        var done = await alice.SendChunksAndCompleteAsync(uploadId, content, Enumerable.Range(1, total));
        Assert.Equal("failed", done.GetProperty("status").GetString());

        using var s3 = S3BlobStore.CreateClient(platform.StorageOptions);
        var objects = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3FilesPlatform.Bucket });
        Assert.DoesNotContain(objects.S3Objects ?? [], o => o.Key.Contains(uploadId.ToString("N"), StringComparison.Ordinal));
        var pending = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = S3FilesPlatform.Bucket });
        Assert.DoesNotContain(pending.MultipartUploads ?? [], u => u.Key.Contains(uploadId.ToString("N"), StringComparison.Ordinal));
    }
}
