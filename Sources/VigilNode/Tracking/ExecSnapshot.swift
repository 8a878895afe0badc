public import VigilKernel

/// What /proc said about a process right after its exec: read as early as possible (by the event
/// source's own thread), because a short-lived process may be gone a millisecond later.
public struct ExecSnapshot: Sendable {
    /// nil when the process was already gone, or is a host process (only its cgroup was read).
    public var record: ProcessRecord?
    /// The cgroup path used for container matching; nil when gone.
    public var cgroup: String?
    /// False when the command line could not be read in time (or the process was gone).
    public var hasCommandLine: Bool
    /// What the record lacks because the process was already exiting when it was read: `exe`
    /// (its memory was released), `cmdline` (empty).
    public var missing: [String] = []
    /// The parent and its ancestors outside the table's reach (runc, containerd-shim), read at once:
    /// they may exit before the event is handled. (pid, comm, ppid), nearest first.
    public var ancestors: [(pid: Int32, comm: String, ppid: Int32)] = []

    public init(record: ProcessRecord?, cgroup: String?, hasCommandLine: Bool) {
        self.record = record
        self.cgroup = cgroup
        self.hasCommandLine = hasCommandLine
    }

    /// Reads the cgroup of `pid` first and stops there for a host process (the common case on a busy
    /// node, kept to one small read); for a container process reads stat, status and exe, then the
    /// command line.
    ///
    /// Reading a command line takes the target's mmap lock, so a process holding it stuck would block
    /// the reader. A process that has just exec'd has one thread; when stat shows that thread running or
    /// in interruptible sleep, nothing can hold the lock for long and the line is read here at once (a
    /// short-lived process would be gone after a hand-off). Otherwise it goes through `commandLine`,
    /// which bounds how long it may block.
    public static func read(
        pid: Int32, proc: inout ProcReader, commandLine: (Int32) -> (arguments: [String], truncated: Bool)?
    ) -> ExecSnapshot {
        guard
            let (record, cgroup, commandLineRead) = proc.readExec(
                pid: pid, isContainer: { ContainerMatcher.match($0) != nil },
                readCommandLineNow: { stat in
                    stat.threads == 1 && (stat.state == UInt8(ascii: "R") || stat.state == UInt8(ascii: "S"))
                })
        else { return ExecSnapshot(record: nil, cgroup: nil, hasCommandLine: false) }
        guard var record else { return ExecSnapshot(record: nil, cgroup: cgroup, hasCommandLine: false) }
        var snapshot = ExecSnapshot(record: record, cgroup: cgroup, hasCommandLine: commandLineRead)
        if !commandLineRead, let (arguments, truncated) = commandLine(pid) {
            record.cmdline = arguments
            record.cmdlineTruncated = truncated
            snapshot.hasCommandLine = true
        }
        // A process caught while exiting (a zombie, or its memory already released) reads as an empty
        // command line and no executable: those are unknowns, not facts.
        if record.cmdline.isEmpty || record.state == UInt8(ascii: "Z") || record.state == UInt8(ascii: "X") {
            snapshot.hasCommandLine = false
        }
        if record.exe == nil { snapshot.missing.append("exe") }
        if !snapshot.hasCommandLine { snapshot.missing.append("cmdline") }
        snapshot.record = record

        // The parent chain, while it still exists: up to eight levels, to pid 1. A parent that has just
        // exited (runc, after starting a `docker exec`) has handed its child to a subreaper
        // (containerd-shim): ask the process for its parent again and follow that one.
        var parent = record.ppid
        var retried = false
        while parent > 1, snapshot.ancestors.count < 8 {
            if let stat = proc.readStat(pid: parent) {
                snapshot.ancestors.append((parent, stat.comm, stat.ppid))
                parent = stat.ppid
            } else if !retried, snapshot.ancestors.isEmpty, let current = proc.readStat(pid: pid), current.ppid != parent {
                retried = true
                parent = current.ppid
                snapshot.record?.ppid = current.ppid
            } else {
                break
            }
        }
        return snapshot
    }
}
