using System.Text.Json;
using System.Text.Json.Nodes;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts.Events;

namespace Chat4All.Messaging.Tests;

public sealed class EventSchemaTests
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>docs/events holds one JSON Schema per topic; set CHAT4ALL_UPDATE_SCHEMAS=1 to regenerate.</summary>
    [Fact]
    public void ThePublishedEventSchemasMatchTheContractRecords()
    {
        var folder = Path.Combine(RepositoryRoot(), "docs", "events");
        var regenerate = Environment.GetEnvironmentVariable("CHAT4ALL_UPDATE_SCHEMAS") == "1";
        foreach (var (topic, type) in EventCatalog.Events)
        {
            var schema = ContractSchemas.Of(type);
            var document = new JsonObject
            {
                ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
                ["$id"] = $"https://chat4all.example/events/{topic}.schema.json",
                ["title"] = type.Name,
                ["description"] = $"Payload (CloudEvent data) of topic '{topic}'. Partition key: the conversation id (user id for user.created).",
            };
            foreach (var (key, value) in schema.AsObject())
            {
                document[key] = value?.DeepClone();
            }

            var expected = document.ToJsonString(Indented) + "\n";
            var path = Path.Combine(folder, topic + ".schema.json");
            if (regenerate)
            {
                Directory.CreateDirectory(folder);
                File.WriteAllText(path, expected);
            }

            Assert.True(File.Exists(path), $"{path} is missing; run the tests with CHAT4ALL_UPDATE_SCHEMAS=1.");
            Assert.Equal(expected, File.ReadAllText(path));
        }
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Chat4All.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Chat4All.sln not found above " + AppContext.BaseDirectory);
    }
}
