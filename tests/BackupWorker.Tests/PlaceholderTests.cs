namespace BackupDr.BackupWorker.Tests;

public sealed class PlaceholderTests
{
    [Fact]
    public void Build_Works() => true.ShouldBeTrue();
}
