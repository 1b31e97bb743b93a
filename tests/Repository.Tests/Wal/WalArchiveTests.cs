using BackupDr.Repository.Crypto;
using BackupDr.Repository.Storage;
using BackupDr.Repository.Wal;

namespace BackupDr.Repository.Tests.Wal;

public sealed class WalArchiveTests : IDisposable
{
    private const string Segment = "000000010000000000000004";
    private readonly string _folder = Directory.CreateTempSubdirectory("backupdr-wal-").FullName;
    private readonly DataKey _key = DataKey.Create();

    public void Dispose()
    {
        _key.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task ReadCurrent_PartialReplacedAfterListing_ReadsTheNewerPartial()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var archive = new WalArchive(new LocalObjectStore(_folder), "t", _key);
        var listed = await archive.PutAsync(Segment, WalObjectKind.Partial, new byte[] { 1, 2, 3 }, DateTimeOffset.Parse("2026-11-23T10:00:00Z"), cancellationToken);

        // What the archiver does at its next flush, between recovery's listing and its read.
        var newer = await archive.PutAsync(Segment, WalObjectKind.Partial, new byte[] { 1, 2, 3, 4 }, DateTimeOffset.Parse("2026-11-23T10:00:01Z"), cancellationToken);
        await archive.DeleteAsync(listed, cancellationToken);

        var (wal, content) = await archive.ReadCurrentAsync(listed, cancellationToken);

        wal.Key.ShouldBe(newer.Key);
        content.ShouldBe(new byte[] { 1, 2, 3, 4 });
    }

    [Fact]
    public async Task ReadCurrent_PartialReplacedByTheWholeSegment_ReadsTheSegment()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var archive = new WalArchive(new LocalObjectStore(_folder), "t", _key);
        var listed = await archive.PutAsync(Segment, WalObjectKind.Partial, new byte[] { 1 }, DateTimeOffset.Parse("2026-11-23T10:00:00Z"), cancellationToken);
        var whole = await archive.PutAsync(Segment, WalObjectKind.Segment, new byte[] { 1, 9 }, DateTimeOffset.Parse("2026-11-23T10:00:01Z"), cancellationToken);
        await archive.DeleteAsync(listed, cancellationToken);

        var (wal, content) = await archive.ReadCurrentAsync(listed, cancellationToken);

        wal.Key.ShouldBe(whole.Key);
        wal.Kind.ShouldBe(WalObjectKind.Segment);
        content.ShouldBe(new byte[] { 1, 9 });
    }

    [Fact]
    public async Task ReadCurrent_SegmentDeletedAfterListing_IsNotFound()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var archive = new WalArchive(new LocalObjectStore(_folder), "t", _key);
        var listed = await archive.PutAsync(Segment, WalObjectKind.Segment, new byte[] { 1 }, DateTimeOffset.Parse("2026-11-23T10:00:00Z"), cancellationToken);
        await archive.DeleteAsync(listed, cancellationToken);

        await Should.ThrowAsync<ObjectNotFoundException>(() => archive.ReadCurrentAsync(listed, cancellationToken));
    }
}
