using System.Buffers.Text;
using System.Text;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Tests.Integrity;

namespace BackupDr.Repository.Tests.Crypto;

/// <summary>One repository created once for the class: every PBKDF2 run costs 600,000 iterations.</summary>
public sealed class CreatedRepositoryFixture : IDisposable
{
    public const string Passphrase = "correct horse battery staple";

    public CreatedRepositoryFixture()
    {
        (Document, MasterKey) = RepositoryKeys.Create(Passphrase, new TestStreams.FixedTimeProvider(CreatedAt));
    }

    public static DateTimeOffset CreatedAt { get; } = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    internal RepositoryDocument Document { get; }

    internal MasterKey MasterKey { get; }

    public void Dispose() => MasterKey.Dispose();
}

public sealed class RepositoryKeysTests(CreatedRepositoryFixture repository) : IClassFixture<CreatedRepositoryFixture>
{
    private static readonly TimeProvider Later = new TestStreams.FixedTimeProvider(CreatedRepositoryFixture.CreatedAt.AddDays(30));

    [Fact]
    public void Create_ValidPassphrase_WritesOneSlotWithStrongKdf()
    {
        var document = repository.Document;

        document.Format.ShouldBe("backupdr-repository");
        document.FormatVersion.ShouldBe(1);
        document.RepositoryId.ShouldNotBe(Guid.Empty);
        document.CreatedAt.ShouldBe(CreatedRepositoryFixture.CreatedAt);
        document.MasterKeyId.ShouldBe(repository.MasterKey.KeyId);
        var slot = document.Keys.ShouldHaveSingleItem();
        slot.KeyId.Length.ShouldBe(16);
        slot.Kdf.Algorithm.ShouldBe("PBKDF2-SHA256");
        slot.Kdf.Iterations.ShouldBeGreaterThanOrEqualTo(600_000);
        Convert.FromBase64String(slot.Kdf.Salt).Length.ShouldBe(32);
        Convert.FromBase64String(slot.WrappedMasterKey).Length.ShouldBe(60);
        slot.CreatedAt.ShouldBe(CreatedRepositoryFixture.CreatedAt);
    }

    [Fact]
    public void Unlock_RightPassphrase_ReturnsTheMasterKey()
    {
        using var unlocked = RepositoryKeys.Unlock(repository.Document, CreatedRepositoryFixture.Passphrase);

        unlocked.AsSpan().SequenceEqual(repository.MasterKey.AsSpan()).ShouldBeTrue();
        unlocked.KeyId.ShouldBe(repository.MasterKey.KeyId);
    }

    [Fact]
    public void Unlock_WrongPassphrase_ThrowsNamingSlotsNotSecrets()
    {
        const string Wrong = "incorrect horse battery staple";

        var ex = Should.Throw<WrongPassphraseException>(() => RepositoryKeys.Unlock(repository.Document, Wrong));

        var keyId = repository.Document.Keys[0].KeyId;
        ex.Message.ShouldBe($"the passphrase does not open this repository (key slots tried: {keyId})");
        ex.Message.ShouldNotContain(Wrong);
        ex.KeyIdsTried.ShouldBe([keyId]);
    }

    [Fact]
    public void Unlock_SlotMovedToAnotherRepositoryId_DoesNotOpen()
    {
        var moved = repository.Document with { RepositoryId = Guid.NewGuid() };

        Should.Throw<WrongPassphraseException>(() => RepositoryKeys.Unlock(moved, CreatedRepositoryFixture.Passphrase));
    }

    [Fact]
    public void Unlock_DocumentNamesAnotherMasterKey_ThrowsFormatError()
    {
        var edited = repository.Document with { MasterKeyId = "0123456789abcdef" };

        var ex = Should.Throw<RepositoryFormatException>(
            () => RepositoryKeys.Unlock(edited, CreatedRepositoryFixture.Passphrase));

        ex.Message.ShouldContain("0123456789abcdef");
    }

    [Fact]
    public void ChangePassphrase_NewSlotWrapsSameMasterKeyAndOldPassphraseStopsWorking()
    {
        const string NewPassphrase = "a new passphrase of some length";
        var original = repository.Document;

        var changed = RepositoryKeys.ChangePassphrase(original, CreatedRepositoryFixture.Passphrase, NewPassphrase, Later);

        var slot = changed.Keys.ShouldHaveSingleItem();
        slot.KeyId.ShouldNotBe(original.Keys[0].KeyId);
        slot.Kdf.Salt.ShouldNotBe(original.Keys[0].Kdf.Salt);
        slot.CreatedAt.ShouldBe(CreatedRepositoryFixture.CreatedAt.AddDays(30));
        changed.RepositoryId.ShouldBe(original.RepositoryId);
        changed.CreatedAt.ShouldBe(original.CreatedAt);
        changed.MasterKeyId.ShouldBe(original.MasterKeyId);
        using (var unlocked = RepositoryKeys.Unlock(changed, NewPassphrase))
        {
            unlocked.AsSpan().SequenceEqual(repository.MasterKey.AsSpan()).ShouldBeTrue();
        }

        Should.Throw<WrongPassphraseException>(() => RepositoryKeys.Unlock(changed, CreatedRepositoryFixture.Passphrase));
    }

    [Fact]
    public void ChangePassphrase_DataKeyWrappedBefore_StillUnwrapsAfter()
    {
        const string Context = "backup:acme-prod/20261123T020000Z";
        using var dataKey = DataKey.Create();
        var token = RepositoryKeys.WrapDataKey(repository.MasterKey, dataKey, Context);
        var changed = RepositoryKeys.ChangePassphrase(
            repository.Document, CreatedRepositoryFixture.Passphrase, "yet another long passphrase", Later);

        using var masterKey = RepositoryKeys.Unlock(changed, "yet another long passphrase");
        using var unwrapped = RepositoryKeys.UnwrapDataKey(masterKey, token, Context);

        unwrapped.AsSpan().SequenceEqual(dataKey.AsSpan()).ShouldBeTrue();
    }

    [Fact]
    public void ChangePassphrase_WrongOldPassphrase_Throws()
    {
        Should.Throw<WrongPassphraseException>(() => RepositoryKeys.ChangePassphrase(
            repository.Document, "not the passphrase at all", "a perfectly good new one", Later));
    }

    [Theory]
    [InlineData("")]
    [InlineData("            ")]
    [InlineData("short")]
    [InlineData("elevenchars")]
    public void ChangePassphrase_WeakNewPassphrase_ThrowsRuleWithoutValue(string weak)
    {
        var ex = Should.Throw<WeakPassphraseException>(() => RepositoryKeys.ChangePassphrase(
            repository.Document, CreatedRepositoryFixture.Passphrase, weak, Later));

        ex.ParamName.ShouldBe("newPassphrase");
        if (weak.Trim().Length > 0)
        {
            ex.Message.ShouldNotContain(weak);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \t\n")]
    [InlineData("hunter2")]
    public void Create_WeakPassphrase_ThrowsArgumentExceptionNamingTheRule(string weak)
    {
        var ex = Should.Throw<WeakPassphraseException>(() => RepositoryKeys.Create(weak, TimeProvider.System));

        ex.ShouldBeAssignableTo<ArgumentException>();
        ex.Message.ShouldContain("passphrase must");
        if (weak.Trim().Length > 0)
        {
            ex.Message.ShouldNotContain(weak);
        }
    }

    [Fact]
    public void PassphrasePolicy_TwelveCharactersCountedAsCharactersNotBytes_IsAccepted()
    {
        Should.NotThrow(() => PassphrasePolicy.EnsureStrong("pässwörtérüé", "p"));
        Should.Throw<WeakPassphraseException>(() => PassphrasePolicy.EnsureStrong("pässwörtéü", "p"));
    }

    [Fact]
    public void Create_IterationsBelowFloor_IsRefused()
    {
        Should.Throw<ArgumentOutOfRangeException>(
            () => RepositoryKeys.Create(CreatedRepositoryFixture.Passphrase, TimeProvider.System, kdfIterations: 100_000));
    }

    [Fact]
    public void SerializedDocument_HoldsNeitherPassphraseNorMasterKey()
    {
        var json = RepositoryDocumentSerializer.Serialize(repository.Document);
        var key = repository.MasterKey.AsSpan();

        json.ShouldNotContain(CreatedRepositoryFixture.Passphrase);
        json.ShouldNotContain(Convert.ToBase64String(key));
        json.ShouldNotContain(Base64Url.EncodeToString(key));
        json.ShouldNotContain(Convert.ToHexStringLower(key), Case.Insensitive);
        json.ShouldNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(CreatedRepositoryFixture.Passphrase)));
        json.ShouldContain("\"iterations\": 600000");
    }

    [Fact]
    public void SerializedDocument_ParsedAgain_StillUnlocks()
    {
        var parsed = RepositoryDocumentSerializer.Parse(RepositoryDocumentSerializer.SerializeToUtf8Bytes(repository.Document));

        using var unlocked = RepositoryKeys.Unlock(parsed, CreatedRepositoryFixture.Passphrase);

        unlocked.KeyId.ShouldBe(repository.MasterKey.KeyId);
    }

    [Fact]
    public void MasterKey_ToStringAndDispose_NeverExposeBytes()
    {
        var copy = MasterKey.FromBytes(repository.MasterKey.AsSpan());

        copy.ToString().ShouldBe($"MasterKey {copy.KeyId} (redacted)");
        copy.Dispose();

        Should.Throw<ObjectDisposedException>(() => copy.AsSpan().ToArray());
    }

    [Fact]
    public void WrapDataKey_SameContext_UnwrapsToSameKey()
    {
        using var dataKey = DataKey.Create();

        var token = RepositoryKeys.WrapDataKey(repository.MasterKey, dataKey, "backup:acme-prod/b1");
        using var unwrapped = RepositoryKeys.UnwrapDataKey(repository.MasterKey, token, "backup:acme-prod/b1");

        token.ShouldStartWith($"dk1.{repository.MasterKey.KeyId}.");
        token.Length.ShouldBe(101);
        token.ShouldNotContain(Convert.ToBase64String(dataKey.AsSpan()));
        unwrapped.AsSpan().SequenceEqual(dataKey.AsSpan()).ShouldBeTrue();
    }

    [Fact]
    public void UnwrapDataKey_OtherContext_ThrowsCorruptObject()
    {
        using var dataKey = DataKey.Create();
        var token = RepositoryKeys.WrapDataKey(repository.MasterKey, dataKey, "backup:acme-prod/b1");

        var ex = Should.Throw<CorruptObjectException>(
            () => RepositoryKeys.UnwrapDataKey(repository.MasterKey, token, "backup:acme-prod/b2", "targets/acme-prod/backups/b2/manifest.json"));

        ex.ObjectName.ShouldBe("targets/acme-prod/backups/b2/manifest.json");
        ex.Reason.ShouldContain("failed authentication");
    }

    [Fact]
    public void UnwrapDataKey_TamperedToken_ThrowsCorruptObject()
    {
        using var dataKey = DataKey.Create();
        var token = RepositoryKeys.WrapDataKey(repository.MasterKey, dataKey, "backup:t/b");
        var bytes = Base64Url.DecodeFromChars(token.Split('.')[2]);
        bytes[20] ^= 0x04;
        var tampered = $"dk1.{repository.MasterKey.KeyId}.{Base64Url.EncodeToString(bytes)}";

        Should.Throw<CorruptObjectException>(() => RepositoryKeys.UnwrapDataKey(repository.MasterKey, tampered, "backup:t/b"))
            .ObjectName.ShouldBe("backup:t/b");
    }

    [Theory]
    [InlineData("")]
    [InlineData("dk1")]
    [InlineData("dk2.0123456789abcdef.AAAA")]
    [InlineData("dk1.0123456789abcdef.not*base64")]
    public void UnwrapDataKey_MalformedToken_ThrowsCorruptObject(string token)
    {
        Should.Throw<CorruptObjectException>(() => RepositoryKeys.UnwrapDataKey(repository.MasterKey, token, "backup:t/b"))
            .Reason.ShouldContain("not a valid dk1 token");
    }

    [Fact]
    public void UnwrapDataKey_OtherMasterKey_ThrowsNamingBothKeyIds()
    {
        using var other = MasterKey.CreateRandom();
        using var dataKey = DataKey.Create();
        var token = RepositoryKeys.WrapDataKey(other, dataKey, "backup:t/b");

        var ex = Should.Throw<CorruptObjectException>(() => RepositoryKeys.UnwrapDataKey(repository.MasterKey, token, "backup:t/b"));

        ex.Reason.ShouldContain(other.KeyId);
        ex.Reason.ShouldContain(repository.MasterKey.KeyId);
    }
}
