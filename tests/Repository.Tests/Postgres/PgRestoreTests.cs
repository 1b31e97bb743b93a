using BackupDr.Repository.Postgres;

namespace BackupDr.Repository.Tests.Postgres;

public sealed class PgRestoreTests
{
    [Fact]
    public void Follow_VerboseLines_ReportFinishedItemsAndAreNotKeptForTheErrorMessage()
    {
        var finished = new List<int>();
        string[] progress =
        [
            "pg_restore: connecting to database for restore",
            "pg_restore: launching item 3527 TABLE DATA account_move_line",
            "pg_restore: processing data for table \"public.account_move_line\"",
            "pg_restore: finished item 3527 TABLE DATA account_move_line",
            "pg_restore: finished item 3312 CONSTRAINT account_move account_move_pkey",
            "pg_restore: finished main parallel loop",
        ];

        progress.Select(line => PgRestore.Follow(line, finished.Add)).ShouldAllBe(kept => !kept);
        finished.ShouldBe([3527, 3312]);
    }

    [Fact]
    public void Follow_ErrorsWarningsAndTheirDetails_AreKept()
    {
        var finished = new List<int>();
        string[] said =
        [
            "pg_restore: error: could not execute query: ERROR:  relation \"account_move\" already exists",
            "Command was: CREATE TABLE public.account_move (",
            "pg_restore: warning: errors ignored on restore: 1",
            "pg_restore: detail: finished item 7 TABLE DATA x",
        ];

        said.Select(line => PgRestore.Follow(line, finished.Add)).ShouldAllBe(kept => kept);
        finished.ShouldBeEmpty();
    }
}
