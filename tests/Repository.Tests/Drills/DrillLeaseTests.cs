using BackupDr.Repository.Backups;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.Repository.Tests.Drills;

/// <summary>
/// Drill leases as two instances sharing one repository see them: the drill's process writes and renews its lease, any
/// other reader (another replica's prune) sees it until it is deleted or expires, and prune sweeps long-dead ones.
/// </summary>
public sealed class DrillLeaseTests
{
    private const string Target = "acme-prod";
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ReadLiveAsync_LeaseOfAnotherInstance_SeenUntilItExpiresThenSweptOnceLongDead()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var store = new InMemoryObjectStore();
        var drillClock = new FakeTimeProvider(Start);
        var backupId = BackupId.New(new FakeTimeProvider(Start.AddDays(-3))).Value;
        var drillId = BackupId.New(drillClock).Value;

        // The drill's process dies with its lease in place: nothing renews or deletes it (its clock never moves).
        _ = await DrillLease.OpenAsync(store, Target, drillId, backupId, "replica-a", drillClock, cancellationToken);

        var reader = new FakeTimeProvider(Start.AddMinutes(29));
        var live = (await DrillLease.ReadLiveAsync(store, Target, reader, cancellationToken)).ShouldHaveSingleItem();
        live.BackupId.ShouldBe(backupId);
        live.DrillId.ShouldBe(drillId);
        live.Owner.ShouldBe("replica-a");
        live.ExpiresAt.ShouldBe(Start + DrillLease.Duration);
        (await DrillLease.ReadLiveAsync(store, "other-target", reader, cancellationToken)).ShouldBeEmpty();

        reader.Advance(TimeSpan.FromMinutes(2));
        (await DrillLease.ReadLiveAsync(store, Target, reader, cancellationToken)).ShouldBeEmpty("an expired lease holds nothing");
        (await DrillLease.SweepExpiredAsync(store, Target, reader, cancellationToken)).ShouldBeEmpty("recently expired: left for a while");
        (await store.StatAsync(DrillLease.KeyOf(Target, drillId), cancellationToken)).ShouldNotBeNull();

        reader.Advance(DrillLease.Duration);
        (await DrillLease.SweepExpiredAsync(store, Target, reader, cancellationToken)).ShouldBe([DrillLease.KeyOf(Target, drillId)]);
        (await store.StatAsync(DrillLease.KeyOf(Target, drillId), cancellationToken)).ShouldBeNull();
    }

    [Fact]
    public async Task OpenAsync_RenewedWhileHeldAndDeletedOnDispose()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var store = new InMemoryObjectStore();
        var time = new FakeTimeProvider(Start);
        var drillId = BackupId.New(time).Value;
        var backupId = BackupId.New(new FakeTimeProvider(Start.AddHours(-1))).Value;

        await using (var lease = await DrillLease.OpenAsync(store, Target, drillId, backupId, "backupdr drill", time, cancellationToken))
        {
            // Past its first expiry, renewed every RenewEvery on the way: still live for a reader at that instant.
            for (var i = 0; i < 7; i++)
            {
                time.Advance(DrillLease.RenewEvery);
                var expected = time.GetUtcNow() + DrillLease.Duration;
                await WaitUntilAsync(async () => (await DrillLease.ReadLiveAsync(store, Target, time, cancellationToken)).SingleOrDefault()?.ExpiresAt == expected);
            }

            time.GetUtcNow().ShouldBeGreaterThan(Start + DrillLease.Duration);
            lease.RenewalFailure.ShouldBeNull();
        }

        (await store.StatAsync(DrillLease.KeyOf(Target, drillId), cancellationToken)).ShouldBeNull("the lease ends with the drill");
        (await DrillLease.ReadLiveAsync(store, Target, time, cancellationToken)).ShouldBeEmpty();
    }

    [Fact]
    public async Task ReadLiveAsync_ForeignObjectUnderThePrefix_FailsNamingIt()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var store = new InMemoryObjectStore();
        var key = ObjectKey.Parse($"{DrillLease.Prefix(Target)}20261123T120000000Z-abcdef.json");
        using var junk = new MemoryStream("{\"schema\":\"something-else\"}"u8.ToArray());
        await store.PutAsync(key, junk, PutOptions.Default, cancellationToken);

        var error = await Should.ThrowAsync<CorruptObjectException>(() => DrillLease.ReadLiveAsync(store, Target, new FakeTimeProvider(Start), cancellationToken));

        error.Message.ShouldContain(key.Value);
    }

    [Fact]
    public async Task DrillRecords_LeasesUnderTheDrillsPrefix_AreNotTakenForRecords()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var store = new InMemoryObjectStore();
        var time = new FakeTimeProvider(Start);
        await using var lease = await DrillLease.OpenAsync(store, Target, BackupId.New(time).Value, BackupId.New(time).Value, "x", time, cancellationToken);

        (await DrillRecords.ListAsync(store, Target, masterKey: null, cancellationToken)).ShouldBeEmpty();
        (await DrillRecords.ListAsync(store, target: null, masterKey: null, cancellationToken)).ShouldBeEmpty();
    }

    /// <summary>The renewal runs on the lease's own task after the fake clock fires its timer: wait for what it writes.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            waited.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(30), "the lease was not renewed");
            await Task.Delay(10);
        }
    }
}
