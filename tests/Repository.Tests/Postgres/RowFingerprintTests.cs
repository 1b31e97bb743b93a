using System.Text;
using BackupDr.Repository.Postgres;

namespace BackupDr.Repository.Tests.Postgres;

public sealed class RowFingerprintTests
{
    private static string Fingerprint(params string[] chunks)
    {
        var fingerprint = new RowFingerprint();
        foreach (var chunk in chunks)
        {
            fingerprint.Append(Encoding.UTF8.GetBytes(chunk));
        }

        fingerprint.Complete();
        return fingerprint.Value;
    }

    [Fact]
    public void Value_RowsInAnotherOrder_IsTheSame() =>
        Fingerprint("1\tAcme\n2\tGlobex\n3\tInitech\n").ShouldBe(Fingerprint("3\tInitech\n1\tAcme\n", "2\tGlobex\n"));

    [Fact]
    public void Value_RowsSplitAtEveryPosition_IsTheSame()
    {
        const string Data = "1\tAcme\n2\tGlobex, \\\\ with a backslash\n3\t\\N\n";
        var whole = Fingerprint(Data);

        for (var split = 0; split <= Data.Length; split++)
        {
            Fingerprint(Data[..split], Data[split..]).ShouldBe(whole, $"split at {split}");
        }
    }

    [Fact]
    public void Add_PartsOfTheRows_GivesTheFingerprintOfAllOfThem()
    {
        var first = new RowFingerprint();
        first.Append("3\tInitech\n1\tAcme\n"u8);
        var second = new RowFingerprint();
        second.Append("2\tGlobex\n"u8);

        first.Add(second);

        first.Rows.ShouldBe(3);
        first.Value.ShouldBe(Fingerprint("1\tAcme\n2\tGlobex\n3\tInitech\n"));
    }

    [Fact]
    public void Value_ChangedValue_Differs() =>
        Fingerprint("1\t100.00\n").ShouldNotBe(Fingerprint("1\t100.01\n"));

    [Fact]
    public void Rows_CopyTerminator_EndsTheData()
    {
        var fingerprint = new RowFingerprint();
        fingerprint.Append("1\tAcme\n2\tGlobex\n\\.\n\n\n"u8);
        fingerprint.Complete();

        fingerprint.Rows.ShouldBe(2);
        fingerprint.Value.ShouldBe(Fingerprint("2\tGlobex\n1\tAcme\n"));
    }

    [Fact]
    public void Rows_EscapedBackslashDot_IsARow()
    {
        var fingerprint = new RowFingerprint();
        fingerprint.Append("\\\\.\n"u8);
        fingerprint.Complete();

        fingerprint.Rows.ShouldBe(1);
    }

    [Fact]
    public void Value_RowLongerThanTheCarryBuffer_SplitAcrossManyChunks_IsTheSame()
    {
        var row = "7\t" + new string('x', 300_000) + "\n";
        var chunks = Enumerable.Range(0, (row.Length + 4095) / 4096).Select(i => row.Substring(i * 4096, Math.Min(4096, row.Length - (i * 4096)))).ToArray();

        Fingerprint(chunks).ShouldBe(Fingerprint(row));
    }

    [Fact]
    public void AppendUntilTerminator_TerminatorSplitAcrossChunks_ConsumesThroughItAndStops()
    {
        var fingerprint = new RowFingerprint();

        fingerprint.AppendUntilTerminator("1\ta\n2\tb\n\\"u8).ShouldBe(9);
        fingerprint.Ended.ShouldBeFalse();
        fingerprint.AppendUntilTerminator(".\n3\tc\n"u8).ShouldBe(2);

        fingerprint.Ended.ShouldBeTrue();
        fingerprint.Rows.ShouldBe(2);
        fingerprint.Value.ShouldBe(Fingerprint("1\ta\n2\tb\n"));
    }
}
