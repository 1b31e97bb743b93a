using System.Text;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;
using BackupDr.Repository.Tests.Crypto;

namespace BackupDr.Repository.Tests.Drills;

/// <summary>Drill records: stored create-only under the target, sealed, listed newest first, and never believed when altered.</summary>
public sealed class DrillRecordsTests(CreatedRepositoryFixture repository) : IClassFixture<CreatedRepositoryFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    internal static DrillRecord Record(string drillId, string backupId = "20261123T010000000Z-aaaaaa", string target = "acme-prod") => new()
    {
        DrillId = drillId,
        Target = target,
        Tenant = "acme",
        Environment = "production",
        Tier = "gold",
        BackupId = backupId,
        ManifestSha256 = new string('a', 64),
        RecoveryPoint = new DateTimeOffset(2026, 11, 23, 1, 0, 0, TimeSpan.Zero),
        Selection = "latest",
        StartedAt = new DateTimeOffset(2026, 11, 23, 3, 30, 0, TimeSpan.Zero),
        CompletedAt = new DateTimeOffset(2026, 11, 23, 3, 31, 0, TimeSpan.Zero),
        Outcome = DrillOutcome.Passed,
        Reasons = [],
        Phases = [new DrillPhaseRecord(DrillPhase.Provision, PhaseStatus.Completed, 1.25, "PostgreSQL 15")],
        Probes = [new ProbeRecord("ledger", true, ProbeStatus.Passed, 0.5, "balanced")],
        Rto = new ObjectiveRecord(61.5, 3600, true, null),
        Rpo = new ObjectiveRecord(9000, 3600, false, null),
        Sandbox = new SandboxRecord("local", "sbx-x", "15.18"),
        Tools = new DrillTools("1.0.0", "pg_restore (PostgreSQL) 15.18"),
        Host = "host-1",
    };

    [Fact]
    public async Task Write_ThenList_ReturnsSealedRecordsNewestFirst()
    {
        var store = new InMemoryObjectStore();
        await DrillRecords.WriteAsync(store, repository.MasterKey, Record("20261123T033000000Z-000001"), Token);
        await DrillRecords.WriteAsync(store, repository.MasterKey, Record("20261124T033000000Z-000002"), Token);
        await DrillRecords.WriteAsync(store, repository.MasterKey, Record("20261123T033000000Z-000003", target: "other"), Token);

        var listed = await DrillRecords.ListAsync(store, "acme-prod", repository.MasterKey, Token);

        listed.Select(r => r.Record.DrillId).ShouldBe(["20261124T033000000Z-000002", "20261123T033000000Z-000001"]);
        listed.ShouldAllBe(r => r.SealChecked);
        var first = listed[1].Record;
        first.Seal.ShouldNotBeNull().MasterKeyId.ShouldBe(repository.MasterKey.KeyId);
        DrillRecords.Serialize(first with { Seal = null }).ShouldBe(DrillRecords.Serialize(Record("20261123T033000000Z-000001")));
        (await store.StatAsync(ObjectKey.Parse("targets/acme-prod/drills/20261123T033000000Z-000001.json"), Token)).ShouldNotBeNull();
        (await DrillRecords.ListAsync(store, target: null, repository.MasterKey, Token)).Count.ShouldBe(3);
    }

    [Fact]
    public async Task Write_PhaseStartOffsets_KeptWhenKnownAndLeftOutOtherwiseSoOlderRecordsKeepTheirSeal()
    {
        var store = new InMemoryObjectStore();
        var older = Record("20261123T033000000Z-000001");
        var newer = Record("20261123T033000000Z-000002") with
        {
            Phases = [new DrillPhaseRecord(DrillPhase.Provision, PhaseStatus.Completed, 1.25, "PostgreSQL 15", StartedAtSeconds: 0.125)],
        };
        await DrillRecords.WriteAsync(store, repository.MasterKey, older, Token);
        await DrillRecords.WriteAsync(store, repository.MasterKey, newer, Token);

        Encoding.UTF8.GetString(DrillRecords.Serialize(older)).ShouldNotContain("startedAtSeconds");
        var listed = await DrillRecords.ListAsync(store, "acme-prod", repository.MasterKey, Token);
        listed.ShouldAllBe(r => r.SealChecked);
        listed.Single(r => r.Record.DrillId == newer.DrillId).Record.Phases.Single().StartedAtSeconds.ShouldBe(0.125);
    }

    [Fact]
    public async Task Write_SameDrillIdTwice_IsRefused()
    {
        var store = new InMemoryObjectStore();
        await DrillRecords.WriteAsync(store, repository.MasterKey, Record("20261123T033000000Z-000001"), Token);

        await Should.ThrowAsync<ObjectAlreadyExistsException>(() => DrillRecords.WriteAsync(store, repository.MasterKey, Record("20261123T033000000Z-000001"), Token));
    }

    [Theory]
    [InlineData("\"outcome\": \"Failed\"", "\"outcome\": \"Passed\"")]
    [InlineData("\"achievedSeconds\": 61.5", "\"achievedSeconds\": 6.5")]
    public async Task Read_AlteredRecord_IsReportedDamaged(string original, string forged)
    {
        var store = new InMemoryObjectStore();
        var key = await DrillRecords.WriteAsync(store, repository.MasterKey, Record("20261123T033000000Z-000001") with { Outcome = DrillOutcome.Failed }, Token);
        var text = await ReadTextAsync(store, key);
        var altered = text.Replace(original, forged, StringComparison.Ordinal);
        altered.ShouldNotBe(text);
        await store.PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(altered)), PutOptions.Default, Token);

        var error = await Should.ThrowAsync<CorruptObjectException>(() => DrillRecords.ListAsync(store, "acme-prod", repository.MasterKey, Token));

        error.Message.ShouldContain("seal does not verify");
        (await DrillRecords.ListAsync(store, "acme-prod", masterKey: null, Token)).ShouldHaveSingleItem().SealChecked.ShouldBeFalse();
    }

    [Fact]
    public async Task Read_RecordSealedByAnotherRepository_IsReportedDamaged()
    {
        var store = new InMemoryObjectStore();
        using var other = MasterKey.CreateRandom();
        await DrillRecords.WriteAsync(store, other, Record("20261123T033000000Z-000001"), Token);

        await Should.ThrowAsync<CorruptObjectException>(() => DrillRecords.ListAsync(store, "acme-prod", repository.MasterKey, Token));
    }

    [Fact]
    public async Task Read_RecordMovedToAnotherTarget_IsReportedDamaged()
    {
        var store = new InMemoryObjectStore();
        var key = await DrillRecords.WriteAsync(store, repository.MasterKey, Record("20261123T033000000Z-000001"), Token);
        var moved = ObjectKey.Parse("targets/other/drills/20261123T033000000Z-000001.json");
        await store.PutAsync(moved, new MemoryStream(Encoding.UTF8.GetBytes(await ReadTextAsync(store, key))), PutOptions.Default, Token);

        var error = await Should.ThrowAsync<CorruptObjectException>(() => DrillRecords.ListAsync(store, "other", repository.MasterKey, Token));

        error.Message.ShouldContain("belongs elsewhere");
    }

    private static async Task<string> ReadTextAsync(InMemoryObjectStore store, ObjectKey key)
    {
        await using var stream = await store.OpenReadAsync(key, Token);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync(Token);
    }
}
