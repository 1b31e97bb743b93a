using BackupDr.Repository.Heartbeats;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Tests.Heartbeats;

public sealed class HeartbeatStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static Heartbeat Beat(string instance, DateTimeOffset at) =>
        new(instance, "host-" + instance, "1.0.0", at, Now.AddHours(-3), TimeSpan.FromMinutes(1), "Running", Clustered: true, Targets: 200, JobsRunning: 2);

    [Fact]
    public async Task ReadAllAsync_TwoReplicas_NewestFirstAndARewriteReplaces()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var store = new InMemoryObjectStore();
        await HeartbeatStore.WriteAsync(store, Beat("node-a", Now.AddMinutes(-90)), cancellationToken);
        await HeartbeatStore.WriteAsync(store, Beat("node-b", Now.AddMinutes(-1)), cancellationToken);
        await HeartbeatStore.WriteAsync(store, Beat("node-a", Now.AddMinutes(-30)), cancellationToken);

        var all = await HeartbeatStore.ReadAllAsync(store, cancellationToken);

        all.Select(h => h.InstanceId).ShouldBe(["node-b", "node-a"]);
        all[1].ShouldBe(Beat("node-a", Now.AddMinutes(-30)));
        all[1].SilentFor(Now).ShouldBe(TimeSpan.FromMinutes(30));
        (await store.StatAsync(HeartbeatStore.Key("node-a"), cancellationToken)).ShouldNotBeNull();
    }

    [Fact]
    public async Task ReadAllAsync_ForeignObjectUnderThePrefix_IsReportedNotSkipped()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var store = new InMemoryObjectStore();
        using var junk = new MemoryStream("{\"schema\":\"something-else\"}"u8.ToArray());
        await store.PutAsync(ObjectKey.Parse("service/heartbeat/x.json"), junk, PutOptions.Default, cancellationToken);

        var error = await Should.ThrowAsync<InvalidDataException>(() => HeartbeatStore.ReadAllAsync(store, cancellationToken));

        error.Message.ShouldContain("service/heartbeat/x.json");
    }
}
