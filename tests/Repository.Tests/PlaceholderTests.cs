namespace BackupDr.Repository.Tests;

public sealed class PlaceholderTests
{
    [Fact]
    public void Build_Works() => true.ShouldBeTrue();
}
