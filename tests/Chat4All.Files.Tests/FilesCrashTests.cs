using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.Files.Assembly;
using Npgsql;
using static Chat4All.Files.Tests.FilesClient;

namespace Chat4All.Files.Tests;

/// <summary>
/// The real host binary SIGKILLed twice during one upload: once while a chunk's bytes are flowing,
/// once in the middle of assembly. Nothing accepted is lost, the client resumes from the missing
/// chunks, and the standalone runner resumes the assembly at the step it had recorded.
/// </summary>
public sealed class FilesCrashTests : IAsyncLifetime
{
    private static readonly int MarkCompletedStep = AssemblySteps.Sequence.ToList().IndexOf(AssemblySteps.MarkCompleted);

    private readonly TemporaryDirectory _data = new();
    private TestDatabase _database = null!;
    private Dictionary<string, string> _environment = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _environment = HostProcess.Environment(_database.ConnectionString, await TestInfrastructure.RedisConnectionStringAsync(),
            _data.Path, HostProcess.KeyPrefix("fcrash"));
        _environment["Chat4All__RateLimiting__Enabled"] = "false";
        // A dead request's chunk claim and a dead runner's lease lapse quickly.
        _environment["Chat4All__Files__ChunkClaimLease"] = "00:00:03";
        _environment["Chat4All__Files__AssemblyLease"] = "00:00:03";
        _environment["Chat4All__Files__AssemblyPollInterval"] = "00:00:00.200";
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task AnUploadSurvivesTheHostBeingKilledMidChunkAndMidAssemblyAndResumesWhereItStopped()
    {
        Assert.Equal(0, (await HostProcess.RunAsync(_environment, "migrate")).ExitCode);
        var alice = await HostProcess.CreateUserAsync(_environment);
        var bob = await HostProcess.CreateUserAsync(_environment);
        var content = RandomBytes(18 * MiB);
        Guid uploadId;

        // 1. Two chunks land; the host dies while the third is half sent.
        using (var first = HostProcess.Start(_environment, "--urls", HostProcess.AnyLoopbackPort))
        {
            using var asAlice = new FilesClient(await first.CreateAuthenticatedClientAsync(alice), alice);
            using var bobAsMember = new FilesClient(new HttpClient(), bob); // only bob's id is used
            var conversationId = await asAlice.CreateConversationAsync(bobAsMember);
            (uploadId, var total) = await asAlice.StartUploadAsync(conversationId, content);
            Assert.Equal(4, total);
            foreach (var number in new[] { 1, 2 })
            {
                using var chunk = await asAlice.PutChunkAsync(uploadId, number, Chunk(content, number));
                Assert.Equal(HttpStatusCode.OK, chunk.StatusCode);
            }

            var halfSent = new TaskCompletionSource();
            var rest = new TaskCompletionSource();
            var stalled = asAlice.Http.PostAsync($"/v1/files/{uploadId}/chunks?chunk_number=3", new HalfThenWaitContent(Chunk(content, 3), halfSent, rest.Task));
            await halfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await WaitUntilAsync("chunk 3 is claimed", async db => await ScalarAsync<long>(db,
                $"SELECT count(*) FROM files.upload_chunks WHERE upload_id = '{uploadId}' AND chunk_number = 3 AND state = 'receiving'") == 1);
            first.Kill();
            rest.SetCanceled(); // the rest of the body would never be read by anyone
            await Assert.ThrowsAnyAsync<Exception>(() => stalled.WaitAsync(TimeSpan.FromSeconds(30)));
        }

        // 2. After the restart the client sees what is missing, sends it, and asks for assembly,
        //    which is stopped (a lock on the files table) just as it records the file — and killed.
        await using (var lockHolder = new NpgsqlConnection(_database.ConnectionString))
        {
            await lockHolder.OpenAsync();
            using (var second = HostProcess.Start(_environment, "--urls", HostProcess.AnyLoopbackPort))
            {
                using var asAlice = new FilesClient(await second.CreateAuthenticatedClientAsync(alice), alice);
                var missing = (await asAlice.StatusAsync(uploadId)).GetProperty("missing_chunks").EnumerateArray().Select(e => e.GetInt32());
                Assert.Equal([3, 4], missing);
                foreach (var number in new[] { 3, 4 })
                {
                    await PutUntilStoredAsync(asAlice, uploadId, number, Chunk(content, number));
                }

                await using var blocking = await lockHolder.BeginTransactionAsync();
                await using (var lockFiles = new NpgsqlCommand("LOCK TABLE files.files IN EXCLUSIVE MODE", lockHolder, blocking))
                {
                    await lockFiles.ExecuteNonQueryAsync();
                }

                using (var complete = await asAlice.Http.PostAsync($"/v1/files/{uploadId}/complete", null))
                {
                    Assert.Equal(HttpStatusCode.Accepted, complete.StatusCode);
                }

                await WaitUntilAsync("assembly waits at MarkCompleted", async db =>
                    await ScalarAsync<int>(db, $"SELECT next_step FROM files.assembly_runs WHERE upload_id = '{uploadId}'") == MarkCompletedStep
                    && await ScalarAsync<long>(db, $"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0);
                second.Kill();
                await blocking.RollbackAsync();
            }
        }

        // 3. A fresh host takes the run over once the dead runner's lease lapses, at the recorded step.
        using var third = HostProcess.Start(_environment, "--urls", HostProcess.AnyLoopbackPort);
        using var asBob = new FilesClient(await third.CreateAuthenticatedClientAsync(bob), bob);
        using var asAliceAgain = new FilesClient(await third.CreateAuthenticatedClientAsync(alice), alice);
        var done = await asAliceAgain.WaitUntilAssembledAsync(uploadId);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        var bytes = await asBob.Http.GetByteArrayAsync($"/v1/files/{done.GetProperty("file_id").GetGuid()}/content");
        Assert.Equal(Sha256(content), Sha256(bytes));

        Assert.Contains(third.StandardOutput.Split('\n'), line =>
            line.Contains(uploadId.ToString(), StringComparison.Ordinal) && line.Contains("resumes at step", StringComparison.Ordinal)
            && line.Contains(AssemblySteps.MarkCompleted, StringComparison.Ordinal));
        await using var check = new NpgsqlConnection(_database.ConnectionString);
        await check.OpenAsync();
        Assert.Equal(1, await ScalarAsync<long>(check, $"SELECT count(*) FROM files.files WHERE upload_id = '{uploadId}'"));
        Assert.Equal(1, await ScalarAsync<long>(check, $"SELECT count(*) FROM files.outbox WHERE topic = 'file.uploaded' AND payload::text LIKE '%{uploadId}%'"));
        Assert.False(Directory.Exists(Path.Combine(_data.Path, "blobs", ".staging")) &&
            Directory.EnumerateFileSystemEntries(Path.Combine(_data.Path, "blobs", ".staging")).Any(), "staged parts were left behind");
    }

    // A chunk whose earlier request died is claimed until that claim's lease lapses: 409 with Retry-After, then 200.
    private static async Task PutUntilStoredAsync(FilesClient client, Guid uploadId, int number, ReadOnlyMemory<byte> bytes)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await client.PutChunkAsync(uploadId, number, bytes);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.StatusCode == HttpStatusCode.Conflict && problem.GetProperty("code").GetString() == "chunk_in_progress" && DateTime.UtcNow < deadline,
                $"chunk {number}: {(int)response.StatusCode} {problem}");
            Assert.NotNull(response.Headers.RetryAfter?.Delta);
            await Task.Delay(response.Headers.RetryAfter!.Delta!.Value);
        }
    }

    private async Task WaitUntilAsync(string what, Func<NpgsqlConnection, Task<bool>> condition)
    {
        await using var db = new NpgsqlConnection(_database.ConnectionString);
        await db.OpenAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition(db))
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(50);
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection db, string sql)
    {
        await using var command = new NpgsqlCommand(sql, db);
        return await command.ExecuteScalarAsync() is T value ? value : default!;
    }
}
