using System.Text;
using BackupDr.Repository.Audit;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.Repository.Tests.Audit;

public sealed class AuditTrailTests : IDisposable
{
    private readonly InMemoryObjectStore _store = new();
    private readonly MasterKey _masterKey = MasterKey.CreateRandom();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));

    public void Dispose() => _masterKey.Dispose();

    [Fact]
    public async Task AppendAsync_EmptyTrail_NumbersFromOneAndChainsEachRecordToThePrevious()
    {
        using var trail = Trail();
        var first = await trail.AppendAsync(Entry("b1"), Ct);
        _time.Advance(TimeSpan.FromMinutes(1));
        var second = await trail.AppendAsync(Entry("b2"), Ct);

        first.Sequence.ShouldBe(1);
        first.Previous.ShouldBe("");
        second.Sequence.ShouldBe(2);
        second.Previous.ShouldBe(first.Mac);
        second.At.ShouldBe(_time.GetUtcNow());
        (await _store.StatAsync(AuditTrail.KeyOf(2), Ct)).ShouldNotBeNull();
        var verification = await trail.VerifyAsync(Ct);
        verification.IsIntact.ShouldBeTrue();
        verification.Count.ShouldBe(2);
        verification.Last!.Subject.ShouldBe("b2");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(37)]
    public async Task FindTailAsync_AnyLength_FindsTheNewestRecord(int length)
    {
        using var trail = Trail();
        for (var i = 0; i < length; i++)
        {
            await trail.AppendAsync(Entry($"b{i}"), Ct);
        }

        (await trail.FindTailAsync(Ct)).ShouldBe(length);
    }

    [Fact]
    public async Task AppendAsync_TwoTrailsOnOneRepository_NeverForkTheChain()
    {
        using var one = Trail();
        using var two = Trail();
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? one : two).AppendAsync(Entry($"b{i}"), Ct)));

        var verification = await one.VerifyAsync(Ct);
        verification.Problems.ShouldBeEmpty();
        verification.Count.ShouldBe(20);
    }

    [Fact]
    public async Task VerifyAsync_AlteredRecord_ReportsItsMacAndBreaksNoOtherLink()
    {
        using var trail = await TrailWithRecordsAsync(3);
        var key = AuditTrail.KeyOf(2);
        var json = await ReadTextAsync(key);
        await WriteTextAsync(key, json.Replace("\"b1\"", "\"forged\"", StringComparison.Ordinal));

        var verification = await trail.VerifyAsync(Ct);

        verification.Problems.ShouldHaveSingleItem().Key.ShouldBe(key.Value);
        verification.Problems[0].Message.ShouldContain("MAC does not match");
    }

    [Fact]
    public async Task VerifyAsync_RecordReplacedByAValidOneFromAnotherPosition_ReportsTheMove()
    {
        using var trail = await TrailWithRecordsAsync(3);
        await WriteTextAsync(AuditTrail.KeyOf(2), await ReadTextAsync(AuditTrail.KeyOf(3)));

        var verification = await trail.VerifyAsync(Ct);

        verification.Problems.Select(p => p.Key).ShouldContain(AuditTrail.KeyOf(2).Value);
        verification.Problems.First(p => p.Key == AuditTrail.KeyOf(2).Value).Message.ShouldContain("holds record 3");
    }

    [Fact]
    public async Task VerifyAsync_MissingMiddleRecord_ReportsTheCut()
    {
        using var trail = await TrailWithRecordsAsync(4);
        await _store.DeleteAsync(AuditTrail.KeyOf(2), Ct);

        var verification = await trail.VerifyAsync(Ct);

        verification.Problems.ShouldHaveSingleItem().Message.ShouldContain("records 2 to 2 are missing");
    }

    [Fact]
    public async Task VerifyAsync_RecordsWrittenWithAnotherRepositoryKey_AreRejected()
    {
        using (var foreign = await TrailWithRecordsAsync(2))
        {
        }

        using var otherKey = MasterKey.CreateRandom();
        using var trail = new AuditTrail(_store, otherKey, _time);

        var verification = await trail.VerifyAsync(Ct);

        verification.Problems.Count.ShouldBe(2);
        await Should.ThrowAsync<CorruptObjectException>(() => trail.AppendAsync(Entry("b9"), Ct));
    }

    [Fact]
    public async Task VerifyAsync_ForeignObjectUnderAudit_IsReported()
    {
        using var trail = await TrailWithRecordsAsync(1);
        await WriteTextAsync(ObjectKey.Parse("audit/notes.txt"), "hello");

        var verification = await trail.VerifyAsync(Ct);

        verification.Problems.ShouldHaveSingleItem().Key.ShouldBe("audit/notes.txt");
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static AuditEntry Entry(string subject) =>
        new(AuditEventKind.BackupCreated, "acme-prod", subject, new Dictionary<string, string> { ["manifestSha256"] = new string('a', 64) });

    private AuditTrail Trail() => new(_store, _masterKey, _time);

    private async Task<AuditTrail> TrailWithRecordsAsync(int count)
    {
        var trail = Trail();
        for (var i = 0; i < count; i++)
        {
            await trail.AppendAsync(Entry($"b{i}"), Ct);
        }

        return trail;
    }

    private async Task<string> ReadTextAsync(ObjectKey key)
    {
        await using var stream = await _store.OpenReadAsync(key, Ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(Ct);
    }

    private async Task WriteTextAsync(ObjectKey key, string text)
    {
        using var body = new MemoryStream(Encoding.UTF8.GetBytes(text));
        await _store.PutAsync(key, body, PutOptions.Default, Ct);
    }
}
