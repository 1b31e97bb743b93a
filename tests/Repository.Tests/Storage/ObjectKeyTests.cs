using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Tests.Storage;

public sealed class ObjectKeyTests
{
    [Theory]
    [InlineData("manifest.json")]
    [InlineData("targets/acme-prod/backups/20260101T000000Z/database.dump.zst.aes")]
    [InlineData("a=b/c_d/.hidden/x..y")]
    public void Parse_ValidKey_KeepsText(string text) => ObjectKey.Parse(text).Value.ShouldBe(text);

    [Theory]
    [InlineData("", "empty")]
    [InlineData("/a", "starts with '/'")]
    [InlineData("a/", "ends with '/'")]
    [InlineData("a//b", "empty segment")]
    [InlineData("a/./b", "'.' segment")]
    [InlineData("a/../b", "'..' segment")]
    [InlineData("..", "'..' segment")]
    [InlineData("a b", "character ' '")]
    [InlineData("a\\b", "character '\\'")]
    [InlineData("caf\u00e9", "character")]
    [InlineData("a~b", "character '~'")]
    [InlineData("x\n", "\\u000a")]
    public void TryParse_InvalidKey_ReturnsFalseWithReason(string text, string reason)
    {
        ObjectKey.TryParse(text, out _, out var error).ShouldBeFalse();

        error.ShouldContain(reason);
        Should.Throw<ArgumentException>(() => ObjectKey.Parse(text)).Message.ShouldContain(reason);
    }

    [Fact]
    public void TryParse_Null_ReturnsFalse() => ObjectKey.TryParse(null, out _).ShouldBeFalse();

    [Fact]
    public void TryParse_LengthLimit_IsEnforcedAt1024()
    {
        ObjectKey.TryParse(new string('a', 1024), out _).ShouldBeTrue();
        ObjectKey.TryParse(new string('a', 1025), out _).ShouldBeFalse();
    }

    [Fact]
    public void Append_Segment_JoinsWithSlash()
    {
        var key = ObjectKey.Parse("targets") / "acme" / "manifest.json";

        key.Value.ShouldBe("targets/acme/manifest.json");
        key.Name.ShouldBe("manifest.json");
        key.ToString().ShouldBe("targets/acme/manifest.json");
        key.ShouldBe(ObjectKey.Parse("targets/acme/manifest.json"));
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("")]
    public void Append_InvalidSegment_Throws(string segment) =>
        Should.Throw<ArgumentException>(() => ObjectKey.Parse("targets").Append(segment));

    [Fact]
    public void CompareTo_Keys_OrdersOrdinally()
    {
        var keys = new[] { "a/b", "a.b", "B", "a-b", "a" }.Select(ObjectKey.Parse).Order().Select(k => k.Value);

        keys.ShouldBe(["B", "a", "a-b", "a.b", "a/b"]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("targets/")]
    [InlineData("targets/ac")]
    [InlineData("a")]
    public void ValidatePrefix_ValidPrefix_DoesNotThrow(string prefix) => ObjectKey.ValidatePrefix(prefix);

    [Theory]
    [InlineData("/targets")]
    [InlineData("a//")]
    [InlineData("../x")]
    [InlineData("a b")]
    public void ValidatePrefix_InvalidPrefix_Throws(string prefix) => Should.Throw<ArgumentException>(() => ObjectKey.ValidatePrefix(prefix));

    [Theory]
    [InlineData("", "")]
    [InlineData("/", "")]
    [InlineData("backups/fleet-a/", "backups/fleet-a/")]
    [InlineData("/backups", "backups/")]
    public void Normalize_StorePrefix_EndsWithOneSlash(string prefix, string expected) => StorePrefix.Normalize(prefix).ShouldBe(expected);

    [Fact]
    public void Normalize_InvalidStorePrefix_Throws() => Should.Throw<ArgumentException>(() => StorePrefix.Normalize("a b/c"));
}
