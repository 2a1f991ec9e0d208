namespace Ingestion.Bench;

/// <summary>
/// CPU time and page faults from /proc. A neighbour's load on a shared machine stretches wall time much more than
/// the CPU time each process spends, so these let two builds be compared on a noisy machine.
/// </summary>
internal static class ProcessCpu
{
    // Linux reports process times in clock ticks of USER_HZ, 100 a second on every architecture .NET runs on.
    private const double TicksPerSecond = 100;

    /// <summary>User and system CPU seconds of one process over its life.</summary>
    public static double Seconds(int pid) => Read(pid) is { } t ? (t.User + t.System) / TicksPerSecond : 0;

    /// <summary>
    /// CPU seconds and minor page faults of a process and all its children, live or exited: the postmaster's own, those
    /// of its ended children (which the kernel adds to the parent when it reaps them), and those of the children still
    /// running.
    /// </summary>
    public static (double Seconds, long MinorFaults) Tree(int pid)
    {
        if (Read(pid) is not { } parent)
        {
            return (0, 0);
        }
        var ticks = parent.User + parent.System + parent.ChildrenUser + parent.ChildrenSystem;
        var faults = parent.MinorFaults + parent.ChildrenMinorFaults;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var child) && child != pid && Read(child) is { } c && c.Parent == pid)
            {
                ticks += c.User + c.System;
                faults += c.MinorFaults;
            }
        }
        return (ticks / TicksPerSecond, faults);
    }

    private readonly record struct Times(int Parent, long MinorFaults, long ChildrenMinorFaults, long User, long System,
        long ChildrenUser, long ChildrenSystem);

    private static Times? Read(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // gone between listing and reading
        }
        // The command name (field 2) may hold spaces and parentheses; the fields after its closing one are plain.
        var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // f[0] is field 3 (state): ppid is field 4, minflt 10, cminflt 11, utime 14, stime 15, cutime 16, cstime 17.
        return new Times(int.Parse(f[1]), long.Parse(f[7]), long.Parse(f[8]), long.Parse(f[11]), long.Parse(f[12]),
            long.Parse(f[13]), long.Parse(f[14]));
    }
}
