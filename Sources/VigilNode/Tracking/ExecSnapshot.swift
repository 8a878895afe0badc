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
    /// command line through `commandLine`, which may bound how long it blocks.
    public static func read(
        pid: Int32, proc: inout ProcReader, commandLine: (Int32) -> (arguments: [String], truncated: Bool)?
    ) -> ExecSnapshot {
        guard let memberships = proc.readCgroups(pid: pid), let cgroup = CgroupMembership.primaryPath(memberships) else {
            return ExecSnapshot(record: nil, cgroup: nil, hasCommandLine: false)
        }
        guard ContainerMatcher.match(cgroup) != nil else {
            return ExecSnapshot(record: nil, cgroup: cgroup, hasCommandLine: false)
        }
        guard var (record, _) = proc.read(pid: pid, fields: [.exe]) else {
            return ExecSnapshot(record: nil, cgroup: cgroup, hasCommandLine: false)
        }
        guard let (arguments, truncated) = commandLine(pid) else {
            return ExecSnapshot(record: record, cgroup: cgroup, hasCommandLine: false)
        }
        record.cmdline = arguments
        record.cmdlineTruncated = truncated
        return ExecSnapshot(record: record, cgroup: cgroup, hasCommandLine: true)
    }
}
