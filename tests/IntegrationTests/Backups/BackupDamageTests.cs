using System.Text;
using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Backups;

/// <summary>
/// Damage is found, named and never restored: flipped bits, truncation, objects swapped between backups, an altered
/// manifest, a missing manifest, a wrong passphrase, a restore aimed at the source. Damage is made directly in a local
/// repository's files, as a failing disk or a careless hand would.
/// </summary>
public sealed class BackupDamageTests(PostgresFixture postgres) : IAsyncLifetime
{
    private BackupScenario _scenario = null!;

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        _scenario = await BackupScenario.CreateAsync(postgres, path => Task.FromResult(RepositorySetup.Local(path)), cancellationToken);
        await _scenario.RunJsonAsync("repo", "init");
    }

    public ValueTask DisposeAsync() => _scenario.DisposeAsync();

    private string ObjectPath(string backupId, string name) =>
        Path.Combine(_scenario.LocalRepositoryPath, "targets", BackupScenario.Target, "backups", backupId, name);

    private string DatabaseObject(string backupId) => ObjectPath(backupId, "database.dump.zst.aesgcm");

    private Task<CliResult> VerifyAsync(string backupId) =>
        _scenario.RunAsync("verify", "--target", BackupScenario.Target, "--backup", backupId);

    [Fact]
    public async Task Verify_FlippedBit_NamesTheObjectAndRestoreRefusesIt()
    {
        var backupId = await _scenario.BackupAsync();
        var bytes = await File.ReadAllBytesAsync(DatabaseObject(backupId), TestContext.Current.CancellationToken);
        bytes[bytes.Length / 2] ^= 0x10;
        await File.WriteAllBytesAsync(DatabaseObject(backupId), bytes, TestContext.Current.CancellationToken);

        var verify = await VerifyAsync(backupId);
        var into = _scenario.NewDatabase();
        var restore = await _scenario.RunAsync("restore", "--target", BackupScenario.Target, "--backup", backupId, "--into", into);

        verify.ExitCode.ShouldBe(1, verify.ToString());
        verify.Error.ShouldContain($"DAMAGED targets/{BackupScenario.Target}/backups/{backupId}/database.dump.zst.aesgcm");
        // Which check fires first (segment authentication or the stored SHA-256) depends on read sizes; either names the object.
        verify.Error.ShouldContain("ok      targets/acme-prod/backups/" + backupId + "/evidence.json.zst.aesgcm");
        restore.ExitCode.ShouldBe(1, restore.ToString());
        restore.Error.ShouldContain("is damaged and must not be restored");
        (await _scenario.DatabaseExistsAsync(into, TestContext.Current.CancellationToken)).ShouldBeFalse("a failed restore drops the database it created");
    }

    [Fact]
    public async Task Verify_TruncatedObject_IsDamaged()
    {
        var backupId = await _scenario.BackupAsync();
        await using (var file = new FileStream(DatabaseObject(backupId), FileMode.Open))
        {
            file.SetLength(file.Length - 100);
        }

        var verify = await VerifyAsync(backupId);

        verify.ExitCode.ShouldBe(1);
        verify.Error.ShouldContain("DAMAGED targets/acme-prod/backups/" + backupId + "/database.dump.zst.aesgcm");
    }

    [Fact]
    public async Task Verify_ObjectSwappedFromAnotherBackup_IsDamaged()
    {
        var first = await _scenario.BackupAsync();
        var second = await _scenario.BackupAsync();
        File.Copy(DatabaseObject(second), DatabaseObject(first), overwrite: true);

        var verify = await VerifyAsync(first);

        verify.ExitCode.ShouldBe(1);
        verify.Error.ShouldContain("DAMAGED targets/acme-prod/backups/" + first + "/database.dump.zst.aesgcm");
        (await VerifyAsync(second)).ExitCode.ShouldBe(0);
    }

    [Fact]
    public async Task Verify_ManifestWithRecomputedChecksumsOfSwappedObject_FailsAuthentication()
    {
        // An attacker who also rewrites the manifest's size and SHA-256 still cannot make another backup's object pass.
        var first = await _scenario.BackupAsync();
        var second = await _scenario.BackupAsync();
        var manifestPath = ObjectPath(first, "manifest.json");
        var secondManifest = await File.ReadAllTextAsync(ObjectPath(second, "manifest.json"), TestContext.Current.CancellationToken);
        File.Copy(DatabaseObject(second), DatabaseObject(first), overwrite: true);
        var manifest = await File.ReadAllTextAsync(manifestPath, TestContext.Current.CancellationToken);
        var size = Extract(secondManifest, "\"sizeBytes\": ");
        var sha = Extract(secondManifest, "\"sha256\": \"");
        manifest = manifest.Replace(Extract(manifest, "\"sizeBytes\": "), size, StringComparison.Ordinal)
            .Replace(Extract(manifest, "\"sha256\": \""), sha, StringComparison.Ordinal);
        await File.WriteAllTextAsync(manifestPath, manifest, TestContext.Current.CancellationToken);

        var verify = await VerifyAsync(first);

        verify.ExitCode.ShouldBe(1);
        verify.Error.ShouldContain("DAMAGED targets/acme-prod/backups/" + first + "/manifest.json");
    }

    [Fact]
    public async Task Verify_AlteredManifest_IsDamaged()
    {
        var backupId = await _scenario.BackupAsync();
        var manifestPath = ObjectPath(backupId, "manifest.json");
        var manifest = await File.ReadAllTextAsync(manifestPath, TestContext.Current.CancellationToken);
        var recoveryPoint = Extract(manifest, "\"recoveryPoint\": \"");
        await File.WriteAllTextAsync(manifestPath, manifest.Replace(recoveryPoint, "2026-01-01T00:00:00+00:00", StringComparison.Ordinal), TestContext.Current.CancellationToken);

        var verify = await VerifyAsync(backupId);
        var restore = await _scenario.RunAsync("restore", "--target", BackupScenario.Target, "--backup", backupId, "--into", _scenario.NewDatabase());

        verify.ExitCode.ShouldBe(1);
        verify.Error.ShouldContain("DAMAGED targets/acme-prod/backups/" + backupId + "/manifest.json: its wrapped data key failed authentication");
        restore.ExitCode.ShouldBe(1);
    }

    [Fact]
    public async Task List_MissingManifest_TheBackupDoesNotExist()
    {
        var kept = await _scenario.BackupAsync();
        var lost = await _scenario.BackupAsync();
        File.Delete(ObjectPath(lost, "manifest.json"));

        var list = await _scenario.RunJsonAsync("list");
        var verify = await VerifyAsync(lost);
        var latest = await _scenario.RunJsonAsync("verify", "--target", BackupScenario.Target);

        list["backups"]!.AsArray().Select(b => b!["backupId"]!.GetValue<string>()).ShouldBe([kept]);
        verify.ExitCode.ShouldBe(2);
        verify.Error.ShouldContain($"has no backup {lost}");
        latest["backupId"]!.GetValue<string>().ShouldBe(kept);
    }

    [Fact]
    public async Task AnyCommand_WrongPassphrase_ExitsTwoWithoutTouchingTheRepository()
    {
        var backupId = await _scenario.BackupAsync();
        _scenario.Variables["BackupDr__Repository__PassphraseFile"] = "";
        _scenario.Variables["BackupDr__Repository__Passphrase"] = "this is not the passphrase";

        var backup = await _scenario.RunAsync("backup", "--target", BackupScenario.Target);
        var restore = await _scenario.RunAsync("restore", "--target", BackupScenario.Target, "--into", _scenario.NewDatabase());

        backup.ExitCode.ShouldBe(2);
        backup.Error.ShouldContain("the passphrase does not open this repository");
        restore.ExitCode.ShouldBe(2);
        (await _scenario.RunJsonAsync("list"))["backups"]!.AsArray().Count.ShouldBe(1);
        backupId.ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task Restore_IntoTheSource_IsRefusedAndTheSourceIsUntouched()
    {
        await _scenario.BackupAsync();
        var before = await BackupScenario.FingerprintAllTablesAsync(_scenario.Source.ConnectionString, TestContext.Current.CancellationToken);

        var refused = await _scenario.RunAsync("restore", "--target", BackupScenario.Target, "--into", _scenario.Source.ConnectionString, "--force");

        refused.ExitCode.ShouldBe(2);
        refused.Error.ShouldContain("is the backup's own source");
        (await BackupScenario.FingerprintAllTablesAsync(_scenario.Source.ConnectionString, TestContext.Current.CancellationToken)).ShouldBe(before);
    }

    [Fact]
    public async Task Restore_IntoNonEmptyDatabase_IsRefusedUnlessForced()
    {
        await _scenario.BackupAsync();
        var into = _scenario.NewDatabase();
        await _scenario.RunJsonAsync("restore", "--target", BackupScenario.Target, "--into", into);

        var refused = await _scenario.RunAsync("restore", "--target", BackupScenario.Target, "--into", into);
        var forced = await _scenario.RunJsonAsync("restore", "--target", BackupScenario.Target, "--into", into, "--force");

        refused.ExitCode.ShouldBe(2);
        refused.Error.ShouldContain("is not empty");
        forced["replaced"]!.GetValue<bool>().ShouldBeTrue();
        forced["differences"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task RepoPasswd_NewPassphraseOpensOldBackups_OldOneNoLonger()
    {
        var backupId = await _scenario.BackupAsync();
        var newPassphraseFile = Path.Combine(_scenario.Folder, "new-passphrase");
        await File.WriteAllTextAsync(newPassphraseFile, "a brand new passphrase 2027\n", TestContext.Current.CancellationToken);
        var manifestBefore = await File.ReadAllBytesAsync(ObjectPath(backupId, "manifest.json"), TestContext.Current.CancellationToken);

        await _scenario.RunJsonAsync("repo", "passwd", "--new-passphrase-file", newPassphraseFile);
        var withOld = await VerifyAsync(backupId);
        _scenario.Variables["BackupDr__Repository__PassphraseFile"] = newPassphraseFile;
        var withNew = await VerifyAsync(backupId);

        withOld.ExitCode.ShouldBe(2);
        withNew.ExitCode.ShouldBe(0, withNew.ToString());
        (await File.ReadAllBytesAsync(ObjectPath(backupId, "manifest.json"), TestContext.Current.CancellationToken)).ShouldBe(manifestBefore, "backups are not rewritten");
    }

    [Fact]
    public async Task RepoInit_ExistingRepository_IsRefusedAndLeftAlone()
    {
        var document = Path.Combine(_scenario.LocalRepositoryPath, "repository.json");
        var before = await File.ReadAllBytesAsync(document, TestContext.Current.CancellationToken);

        var again = await _scenario.RunAsync("repo", "init");

        again.ExitCode.ShouldBe(1);
        again.Error.ShouldContain("a repository already exists");
        (await File.ReadAllBytesAsync(document, TestContext.Current.CancellationToken)).ShouldBe(before);
    }

    [Fact]
    public async Task EveryOutputAndStoredObject_NeverContainsThePassphraseOrTheDatabasePassword()
    {
        const string DatabasePassword = "pg-Sup3r-s3cret-pw";
        var withPassword = _scenario.Source.ConnectionString + ";Password=" + DatabasePassword;
        _scenario.WriteConfig(RepositorySetup.Local(_scenario.LocalRepositoryPath).Section.Also("PassphraseFile", Path.Combine(_scenario.Folder, "passphrase")), withPassword);

        var outputs = new StringBuilder();
        foreach (var args in new[]
        {
            new[] { "backup", "--target", BackupScenario.Target }, ["backup", "--target", BackupScenario.Target, "--json"],
            ["list"], ["verify", "--target", BackupScenario.Target], ["config", "check"], ["config", "check", "--json"],
            ["restore", "--target", BackupScenario.Target, "--into", _scenario.NewDatabase() + ";Password=" + DatabasePassword],
            ["restore", "--target", BackupScenario.Target, "--into", _scenario.Source.ConnectionString],
        })
        {
            outputs.Append((await _scenario.RunAsync(args)).All);
        }

        var stored = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(_scenario.LocalRepositoryPath, "*", SearchOption.AllDirectories))
        {
            stored.Append(Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken)));
        }

        foreach (var secret in new[] { BackupScenario.Passphrase, DatabasePassword })
        {
            outputs.ToString().ShouldNotContain(secret);
            stored.ToString().ShouldNotContain(secret);
        }

        outputs.ToString().ShouldContain("password=***");
    }

    private static string Extract(string json, string prefix)
    {
        var start = json.IndexOf(prefix, StringComparison.Ordinal) + prefix.Length;
        var end = json.IndexOfAny(['"', ',', '\n'], start);
        return json[start..end];
    }
}

internal static class JsonObjectExtensions
{
    public static System.Text.Json.Nodes.JsonObject Also(this System.Text.Json.Nodes.JsonObject json, string key, string value)
    {
        json[key] = value;
        return json;
    }
}
