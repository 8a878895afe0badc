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
        if commandLineRead { return ExecSnapshot(record: record, cgroup: cgroup, hasCommandLine: true) }
        guard let (arguments, truncated) = commandLine(pid) else {
            return ExecSnapshot(record: record, cgroup: cgroup, hasCommandLine: false)
        }
        record.cmdline = arguments
        record.cmdlineTruncated = truncated
        return ExecSnapshot(record: record, cgroup: cgroup, hasCommandLine: true)
    }
}
