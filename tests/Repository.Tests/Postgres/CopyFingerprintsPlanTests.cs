using BackupDr.Repository.Postgres;

namespace BackupDr.Repository.Tests.Postgres;

public sealed class CopyFingerprintsPlanTests
{
    private static DumpedTable Table(string name, string columns = "(id, name)") => new("public." + name, columns, 0, "");

    [Fact]
    public void Plan_OneLargeTable_SplitsItIntoContiguousBlockRangesThatCoverItToTheEnd()
    {
        var reads = CopyFingerprints.Plan([(Table("account_move_line"), 48_539), (Table("res_partner"), 729), (Table("res_company"), 1)], sessions: 2, splitByBlocks: true, minPartBlocks: 1);

        var parts = reads.Where(r => r.Table.Table == "public.account_move_line").OrderBy(r => r.FromBlock).ToList();
        parts.Count.ShouldBeGreaterThanOrEqualTo(2 * CopyFingerprints.ReadsPerSession - 1);
        parts[0].FromBlock.ShouldBe(0);
        parts[^1].ToBlock.ShouldBeNull();
        parts.Zip(parts.Skip(1)).ShouldAllBe(pair => pair.First.ToBlock == pair.Second.FromBlock);
        reads.Single(r => r.Table.Table == "public.res_partner").Whole.ShouldBeTrue();
        reads[^1].Table.Table.ShouldBe("public.res_company");
    }

    [Fact]
    public void Plan_BlockRangesNotPossible_ReadsEveryTableWhole()
    {
        var tables = new List<(DumpedTable, long)> { (Table("account_move_line"), 48_539), (Table("zero_columns", ""), 9_000), (Table("res_partner"), 729) };

        CopyFingerprints.Plan(tables, sessions: 2, splitByBlocks: false).ShouldAllBe(r => r.Whole);
        CopyFingerprints.Plan(tables, sessions: 2, splitByBlocks: true, minPartBlocks: 1).Where(r => r.Table.Table == "public.zero_columns").ShouldHaveSingleItem().Whole.ShouldBeTrue();
    }

    [Fact]
    public void Plan_TablesBelowTheSmallestPart_AreReadWholeLargestFirst()
    {
        var reads = CopyFingerprints.Plan([(Table("small"), 10), (Table("large"), 2_000), (Table("medium"), 500)], sessions: 2, splitByBlocks: true);

        reads.Select(r => r.Table.Table).ShouldBe(["public.large", "public.medium", "public.small"]);
        reads.ShouldAllBe(r => r.Whole);
    }

    [Fact]
    public void Statement_BlockRange_SelectsTheDumpsColumnsOfTheTablesOwnRowsInTheRange()
    {
        new FingerprintRead(Table("account_move"), 0, 100).Statement()
            .ShouldBe("""COPY (SELECT id, name FROM ONLY "public"."account_move" WHERE ctid >= '(0,0)'::tid AND ctid < '(100,0)'::tid) TO STDOUT;""");
        new FingerprintRead(Table("account_move"), 100).Statement()
            .ShouldBe("""COPY (SELECT id, name FROM ONLY "public"."account_move" WHERE ctid >= '(100,0)'::tid) TO STDOUT;""");
        new FingerprintRead(Table("account_move")).Statement().ShouldBe("""COPY "public"."account_move" (id, name) TO STDOUT;""");
    }
}
