namespace Beacon.EndToEnd.Tests;

/// <summary>Files of this repository (examples, docs) that tests run, so that what the docs show keeps working.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Beacon.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Beacon.slnx) was not found above " + AppContext.BaseDirectory);
    }
}
