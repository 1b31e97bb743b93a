using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Tests.Storage;

public sealed class PartSizingTests
{
    private const long MiB = 1024 * 1024;
    private const long GiB = 1024 * MiB;
    private const long TiB = 1024 * GiB;

    [Fact]
    public void PartSizeBytes_EarlyParts_UseTheConfiguredSize()
    {
        PartSizing.PartSizeBytes(1, 16 * MiB, PartLimits.S3).ShouldBe(16 * MiB);
        PartSizing.PartSizeBytes(625, 16 * MiB, PartLimits.S3).ShouldBe(16 * MiB);
    }

    [Fact]
    public void PartSizeBytes_EveryInterval_Doubles()
    {
        PartSizing.DoublingInterval(PartLimits.S3).ShouldBe(625);
        PartSizing.DoublingInterval(PartLimits.AzureBlockBlob).ShouldBe(3125);
        PartSizing.PartSizeBytes(626, 16 * MiB, PartLimits.S3).ShouldBe(32 * MiB);
        PartSizing.PartSizeBytes(1251, 16 * MiB, PartLimits.S3).ShouldBe(64 * MiB);
        PartSizing.PartSizeBytes(3126, 16 * MiB, PartLimits.AzureBlockBlob).ShouldBe(32 * MiB);
    }

    [Fact]
    public void PartSizeBytes_LastParts_AreClampedToTheBufferCeiling()
    {
        PartSizing.PartSizeBytes(10_000, 16 * MiB, PartLimits.S3).ShouldBe(PartSizing.MaxBufferBytes);
        PartSizing.PartSizeBytes(50_000, 16 * MiB, PartLimits.AzureBlockBlob).ShouldBe(PartSizing.MaxBufferBytes);
        PartSizing.PartSizeBytes(1, 4 * GiB, PartLimits.S3).ShouldBe(PartSizing.MaxBufferBytes);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(5)]
    public void CapacityBytes_S3From16Or5MiB_HoldsA5TiBObject(long initialMiB)
    {
        var capacity = PartSizing.CapacityBytes(initialMiB * MiB, PartLimits.S3);

        capacity.ShouldBeGreaterThanOrEqualTo(5 * TiB);
        PartSizing.MaxObjectSizeBytes(initialMiB * MiB, PartLimits.S3).ShouldBe(5 * TiB);
        PartSizing.PartCount(5 * TiB, initialMiB * MiB, PartLimits.S3).ShouldBeLessThanOrEqualTo(10_000);
    }

    [Fact]
    public void PartCount_5TiBFrom16MiB_FitsIn10000PartsOfAtMost5GiB()
    {
        var parts = PartSizing.PartCount(5 * TiB, 16 * MiB, PartLimits.S3);
        long covered = 0;
        for (var part = 1; part <= parts; part++)
        {
            var size = PartSizing.PartSizeBytes(part, 16 * MiB, PartLimits.S3);
            size.ShouldBeInRange(5 * MiB, 5 * GiB);
            covered += size;
        }

        parts.ShouldBeLessThanOrEqualTo(10_000);
        covered.ShouldBeGreaterThanOrEqualTo(5 * TiB);
    }

    [Fact]
    public void PartCount_SmallAndMediumObjects_UseConstantParts()
    {
        PartSizing.PartCount(0, 16 * MiB, PartLimits.S3).ShouldBe(1);
        PartSizing.PartCount(16 * MiB, 16 * MiB, PartLimits.S3).ShouldBe(1);
        PartSizing.PartCount(16 * MiB + 1, 16 * MiB, PartLimits.S3).ShouldBe(2);

        // A 10 GB dump: 597 parts of 16 MiB, no growth yet, so memory stays (concurrency + 1) * 16 MiB.
        PartSizing.PartCount(10_000_000_000, 16 * MiB, PartLimits.S3).ShouldBe(597);
    }

    [Fact]
    public void CapacityBytes_Azure_HoldsTensOfTiB()
    {
        PartSizing.CapacityBytes(16 * MiB, PartLimits.AzureBlockBlob).ShouldBeGreaterThan(30 * TiB);
        PartSizing.PartCount(10 * TiB, 16 * MiB, PartLimits.AzureBlockBlob).ShouldBeLessThanOrEqualTo(50_000);
        PartSizing.PartSizeBytes(50_000, 16 * MiB, PartLimits.AzureBlockBlob).ShouldBeLessThanOrEqualTo(4000 * MiB);
    }

    [Fact]
    public void Validate_S3PartBelow5MiB_NamesTheFloor()
    {
        var errors = new ObjectStoreSettings { PartSizeBytes = 1 * MiB }.Validate(PartLimits.S3);

        errors.ShouldHaveSingleItem().ShouldContain("between 5242880 and");
        new ObjectStoreSettings { PartSizeBytes = 1 * MiB }.Validate(PartLimits.AzureBlockBlob).ShouldBeEmpty();
        new ObjectStoreSettings { PartSizeBytes = 5 * MiB }.Validate(PartLimits.S3).ShouldBeEmpty();
    }

    [Fact]
    public void Validate_EverythingWrong_ReportsEveryProblem()
    {
        var settings = new ObjectStoreSettings
        {
            PartSizeBytes = 0,
            MaxConcurrency = 0,
            MaxAttempts = 0,
            RetryBaseDelay = TimeSpan.FromSeconds(10),
            RetryMaxDelay = TimeSpan.FromSeconds(1),
            AbortTimeout = TimeSpan.Zero,
        };

        settings.Validate(null).Count.ShouldBe(5);
        Should.Throw<ArgumentException>(() => settings.EnsureValid(null)).Message.ShouldContain("MaxConcurrency");
    }
}
