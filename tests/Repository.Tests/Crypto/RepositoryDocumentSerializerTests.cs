using System.Security.Cryptography;
using System.Text.Json.Nodes;
using BackupDr.Repository.Crypto;

namespace BackupDr.Repository.Tests.Crypto;

/// <summary>Documents here are built by hand (valid shapes, random bytes), so no PBKDF2 runs.</summary>
public sealed class RepositoryDocumentSerializerTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Serialize_ThenParse_RoundTripsEveryField()
    {
        var document = SampleDocument();

        var parsed = RepositoryDocumentSerializer.Parse(RepositoryDocumentSerializer.Serialize(document));

        parsed.Format.ShouldBe(document.Format);
        parsed.FormatVersion.ShouldBe(document.FormatVersion);
        parsed.RepositoryId.ShouldBe(document.RepositoryId);
        parsed.CreatedAt.ShouldBe(document.CreatedAt);
        parsed.MasterKeyId.ShouldBe(document.MasterKeyId);
        parsed.Keys.Count.ShouldBe(2);
        parsed.Keys[1].ShouldBe(document.Keys[1]);
    }

    [Fact]
    public void Serialize_WritesCamelCaseNamesAndPlainBase64()
    {
        var document = SampleDocument();

        var json = JsonNode.Parse(RepositoryDocumentSerializer.Serialize(document))!.AsObject();

        json["format"]!.GetValue<string>().ShouldBe("backupdr-repository");
        json["formatVersion"]!.GetValue<int>().ShouldBe(1);
        json["repositoryId"]!.GetValue<string>().ShouldBe(document.RepositoryId.ToString());
        json["masterKeyId"].ShouldNotBeNull();
        json["createdAt"].ShouldNotBeNull();
        var slot = json["keys"]![0]!.AsObject();
        slot.Select(p => p.Key).ShouldBe(["keyId", "kdf", "wrappedMasterKey", "createdAt"]);
        slot["kdf"]!.AsObject().Select(p => p.Key).ShouldBe(["algorithm", "iterations", "salt"]);
        RepositoryDocumentSerializer.Serialize(document).ShouldNotContain("\\u002B");
    }

    [Fact]
    public void Parse_NewerFormatVersion_ThrowsNamingBothVersions()
    {
        var json = Mutate(SampleDocument(), o => o["formatVersion"] = 2);

        var ex = Should.Throw<RepositoryFormatException>(() => RepositoryDocumentSerializer.Parse(json));

        ex.Message.ShouldBe("repository format 2 is newer than this backupdr understands (1)");
    }

    [Fact]
    public void Parse_NewerFormatWithUnknownShape_ReportsTheVersionNotTheShape()
    {
        const string Json = """{ "format": "backupdr-repository", "formatVersion": 7, "somethingNew": [1, 2] }""";

        Should.Throw<RepositoryFormatException>(() => RepositoryDocumentSerializer.Parse(Json))
            .Message.ShouldBe("repository format 7 is newer than this backupdr understands (1)");
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{ "format": "restic", "formatVersion": 1 }""")]
    [InlineData("""{ "format": "backupdr-repository", "formatVersion": "1" }""")]
    [InlineData("""{ "format": "backupdr-repository", "formatVersion": 0 }""")]
    [InlineData("""{ "format": "backupdr-repository", "formatVersion": 1 }""")]
    public void Parse_NotARepositoryDocument_ThrowsFormatError(string json)
    {
        Should.Throw<RepositoryFormatException>(() => RepositoryDocumentSerializer.Parse(json));
    }

    [Fact]
    public void Parse_UnknownProperty_IsRefused()
    {
        var json = Mutate(SampleDocument(), o => o["passphrase"] = "x");

        Should.Throw<RepositoryFormatException>(() => RepositoryDocumentSerializer.Parse(json)).Message.ShouldContain("passphrase");
    }

    [Fact]
    public void Parse_MissingProperty_IsRefused()
    {
        var json = Mutate(SampleDocument(), o => o.Remove("masterKeyId"));

        Should.Throw<RepositoryFormatException>(() => RepositoryDocumentSerializer.Parse(json)).Message.ShouldContain("masterKeyId");
    }

    [Fact]
    public void Parse_SlotBreakingRules_ReportsEveryProblem()
    {
        var json = Mutate(SampleDocument(), o =>
        {
            var kdf = o["keys"]![0]!["kdf"]!;
            kdf["iterations"] = 1000;
            kdf["salt"] = Convert.ToBase64String(new byte[8]);
            kdf["algorithm"] = "MD5";
            o["keys"]![1]!["wrappedMasterKey"] = "!!";
            o["keys"]![1]!["keyId"] = o["keys"]![0]!["keyId"]!.GetValue<string>();
        });

        var message = Should.Throw<RepositoryFormatException>(() => RepositoryDocumentSerializer.Parse(json)).Message;

        message.ShouldStartWith("repository.json is malformed: ");
        message.ShouldContain("keys[0].kdf.iterations must be between 600000 and 50000000");
        message.ShouldContain("keys[0].kdf.salt must be 32 bytes");
        message.ShouldContain("keys[0].kdf.algorithm must be \"PBKDF2-SHA256\"");
        message.ShouldContain("keys[1].wrappedMasterKey must be 60 bytes");
        message.ShouldContain("appears twice");
    }

    [Fact]
    public void Parse_NoKeySlots_IsRefused()
    {
        var json = Mutate(SampleDocument(), o => o["keys"] = new JsonArray());

        Should.Throw<RepositoryFormatException>(() => RepositoryDocumentSerializer.Parse(json))
            .Message.ShouldContain("at least one key slot");
    }

    [Fact]
    public void Serialize_InvalidDocument_IsRefused()
    {
        var document = SampleDocument() with { Keys = [] };

        Should.Throw<RepositoryFormatException>(() => RepositoryDocumentSerializer.Serialize(document));
    }

    private static RepositoryDocument SampleDocument() => new(
        RepositoryDocument.FormatName,
        RepositoryDocument.CurrentFormatVersion,
        Guid.NewGuid(),
        At,
        RandomNumberGenerator.GetHexString(16, lowercase: true),
        [SampleSlot(), SampleSlot()]);

    private static KeySlot SampleSlot() => new(
        RandomNumberGenerator.GetHexString(16, lowercase: true),
        new KdfParameters(KdfParameters.Pbkdf2Sha256, 600_000, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))),
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(60)),
        At);

    private static string Mutate(RepositoryDocument document, Action<JsonObject> change)
    {
        var json = JsonNode.Parse(RepositoryDocumentSerializer.Serialize(document))!.AsObject();
        change(json);
        return json.ToJsonString();
    }
}
