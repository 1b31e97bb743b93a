using System.Text.RegularExpressions;

namespace BackupDr.Repository.Filestore;

/// <summary>A file of the source filestore to back up.</summary>
/// <param name="Name">The store_fname, <c>&lt;sha1[0:2]&gt;/&lt;sha1&gt;</c>.</param>
/// <param name="Sha1">The SHA-1 its name promises.</param>
/// <param name="SizeBytes">Its size on disk when the backup listed the folder.</param>
/// <param name="Referenced">False for a file no row references (backed up only with IncludeUnreferencedFiles).</param>
internal sealed record SourceFile(string Name, string Sha1, long SizeBytes, bool Referenced);

/// <summary>What a backup must do about the source filestore, before any content is read.</summary>
internal sealed record SourcePlan(
    IReadOnlyList<SourceFile> Files, IReadOnlyList<FileProblem> Problems, long UnreferencedFiles, long UnreferencedBytes);

/// <summary>
/// Lists the source filestore once (Odoo's layout: <c>&lt;root&gt;/&lt;sha1[0:2]&gt;/&lt;sha1&gt;</c>; other folders such as Odoo's
/// <c>checklist/</c> are not content) and matches it with the store_fname list read in the backup's snapshot:
/// referenced files missing on disk are problems, files no row references are counted (and backed up only when the
/// target asks for it). One directory walk replaces a stat per file.
/// </summary>
internal static partial class SourceFiles
{
    public static SourcePlan Plan(string root, IReadOnlyCollection<string> storeFnames, bool includeUnreferenced)
    {
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException(
                $"the filestore folder '{root}' does not exist; check the target's FilestorePath (Odoo keeps it in <data_dir>/filestore/<database>)");
        }

        var onDisk = ListOnDisk(root);
        var files = new List<SourceFile>(storeFnames.Count);
        var problems = new List<FileProblem>();
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in storeFnames)
        {
            if (!referenced.Add(name))
            {
                continue;
            }

            if (!IsContentAddressed(name))
            {
                problems.Add(new FileProblem(name, FileProblemKind.UnsupportedName,
                    "not Odoo's content-addressed name <sha1[0:2]>/<sha1>; the file was not backed up"));
            }
            else if (!onDisk.TryGetValue(name, out var size))
            {
                problems.Add(new FileProblem(name, FileProblemKind.Missing, "referenced by ir_attachment but not on disk"));
            }
            else
            {
                files.Add(new SourceFile(name, name[3..], size, Referenced: true));
            }
        }

        long unreferencedFiles = 0;
        long unreferencedBytes = 0;
        foreach (var (name, size) in onDisk)
        {
            if (referenced.Contains(name))
            {
                continue;
            }

            unreferencedFiles++;
            unreferencedBytes += size;
            if (includeUnreferenced)
            {
                if (IsContentAddressed(name))
                {
                    files.Add(new SourceFile(name, name[3..], size, Referenced: false));
                }
                else
                {
                    problems.Add(new FileProblem(name, FileProblemKind.UnsupportedName,
                        "unreferenced file whose name is not <sha1[0:2]>/<sha1>; not backed up"));
                }
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        problems.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new SourcePlan(files, problems, unreferencedFiles, unreferencedBytes);
    }

    /// <summary>True for <c>ab/ab…</c> with 40 lower-case hex digits whose first two are the folder.</summary>
    public static bool IsContentAddressed(string name) =>
        ContentAddressedName().IsMatch(name) && name[0] == name[3] && name[1] == name[4];

    /// <summary>Regular files in two-hex-digit folders directly under <paramref name="root"/>, by relative name.</summary>
    private static Dictionary<string, long> ListOnDisk(string root)
    {
        var files = new Dictionary<string, long>(StringComparer.Ordinal);
        var options = new EnumerationOptions { RecurseSubdirectories = false, IgnoreInaccessible = false, AttributesToSkip = 0 };
        foreach (var folder in new DirectoryInfo(root).EnumerateDirectories("*", options))
        {
            // Attributes come with the enumeration; LinkTarget would cost a readlink per entry.
            if (!TwoHexDigits().IsMatch(folder.Name) || folder.Attributes.HasFlag(FileAttributes.ReparsePoint))
            {
                continue;
            }

            foreach (var file in folder.EnumerateFiles("*", options))
            {
                if (!file.Attributes.HasFlag(FileAttributes.ReparsePoint))
                {
                    files[$"{folder.Name}/{file.Name}"] = file.Length;
                }
            }
        }

        return files;
    }

    [GeneratedRegex("^[0-9a-f]{2}/[0-9a-f]{40}$", RegexOptions.CultureInvariant)]
    private static partial Regex ContentAddressedName();

    [GeneratedRegex("^[0-9a-f]{2}$", RegexOptions.CultureInvariant)]
    private static partial Regex TwoHexDigits();
}
