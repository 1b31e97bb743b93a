using System.Reflection;

namespace BackupDr.BackupWorker.Tests.Architecture;

/// <summary>Dependencies point one way: BackupWorker -> DrillRunner, Reporting -> Repository.</summary>
public sealed class DependencyTests
{
    private static readonly string[] Ours = ["BackupDr.Repository", "BackupDr.DrillRunner", "BackupDr.Reporting", "backupdr"];

    [Theory]
    [InlineData("BackupDr.Repository", new string[0])]
    [InlineData("BackupDr.DrillRunner", new[] { "BackupDr.Repository" })]
    [InlineData("BackupDr.Reporting", new[] { "BackupDr.Repository" })]
    public void Assembly_ReferencesOnlyAllowedProjects(string assembly, string[] allowed)
    {
        var references = Assembly.Load(assembly).GetReferencedAssemblies().Select(a => a.Name!).Where(Ours.Contains);

        references.ShouldBeSubsetOf(allowed);
    }

    [Fact]
    public void ProjectFiles_ReferenceOnlyAllowedProjects()
    {
        var src = Path.Combine(TestSupport.TestEnvironment.RepositoryRoot, "src");
        string References(string project) => File.ReadAllText(Path.Combine(src, project, project + ".csproj"));

        References("Repository").ShouldNotContain("ProjectReference");
        References("DrillRunner").ShouldNotContain("Reporting.csproj");
        References("DrillRunner").ShouldNotContain("BackupWorker.csproj");
        References("Reporting").ShouldNotContain("DrillRunner.csproj");
        References("Reporting").ShouldNotContain("BackupWorker.csproj");
    }
}
