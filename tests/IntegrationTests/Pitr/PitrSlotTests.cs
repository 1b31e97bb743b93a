using BackupDr.BackupWorker.Pitr;
using BackupDr.Repository.Wal;

namespace BackupDr.IntegrationTests.Pitr;

/// <summary>The archiver's slot checks against a real PostgreSQL 15 source, through the REPLICATION-only role.</summary>
public sealed class PitrSlotTests
{
    [Fact]
    public async Task DropLostSlot_SlotBelowWhereTheSourceSaidWalIsRemoved_IsDropped_OneAtOrAboveIsKept()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await PitrScenario.CreateAsync(cancellationToken);
        await using var source = await PitrSource.OpenAsync(scenario.SourceConnectionString, cancellationToken);
        const string Slot = "backupdr_slot_check";
        (await source.EnsureSlotAsync(Slot, cancellationToken)).ShouldBeTrue();
        var restart = Lsn.Parse((string)(await PitrScenario.ScalarAsync(scenario.AdminConnectionString,
            $"SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = '{Slot}'", cancellationToken))!);

        // A fresh slot reserves WAL the source has: 'reserved', whatever else is known.
        (await source.DropLostSlotAsync(Slot, removedBefore: null, TimeProvider.System, cancellationToken)).ShouldBeFalse();
        (await source.DropLostSlotAsync(Slot, removedBefore: restart, TimeProvider.System, cancellationToken)).ShouldBeFalse(
            "the slot starts where the removed WAL ends: it can stream");
        (await SlotCountAsync()).ShouldBe(1L);

        (await source.DropLostSlotAsync(Slot, removedBefore: new Lsn(restart.Value + 1), TimeProvider.System, cancellationToken)).ShouldBeTrue(
            "the source said WAL above the slot's position is removed, although its wal_status does not say 'lost'");
        (await SlotCountAsync()).ShouldBe(0L);

        async Task<long> SlotCountAsync() => (long)(await PitrScenario.ScalarAsync(scenario.AdminConnectionString,
            $"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{Slot}'", cancellationToken))!;
    }
}
