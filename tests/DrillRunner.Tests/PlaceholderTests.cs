namespace BackupDr.DrillRunner.Tests;

public sealed class PlaceholderTests
{
    [Fact]
    public void Build_Works() => true.ShouldBeTrue();
}
