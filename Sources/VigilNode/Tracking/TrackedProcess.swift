public import VigilKernel

/// Where Vigil learned of a process or an exit.
public enum ActivitySource: String, Sendable {
    /// The kernel's process-events connector, as it happened.
    case connector
    /// The cgroup poll (the fallback when the connector is unavailable, or forced).
    case poll
    /// A resync that repaired what the event source missed (lost events).
    case resync
    /// Already running when Vigil started.
    case initial
}

/// A container process Vigil follows, from its start (or from when Vigil first saw it) to its exit.
public struct TrackedProcess: Sendable {
    public var pid: Int32
    public var ppid: Int32
    /// Clock ticks since boot (stat field 22); 0 until read. With `pid`, the identity.
    public var startTime: UInt64
    public var comm: String
    public var exe: ExecutablePath?
    public var cmdline: [String]
    public var uid: UInt32
    public var euid: UInt32
    public var gid: UInt32
    /// The effective group id.
    public var egid: UInt32 = 0
    /// The executable file's mode, owner and group, as read at exec (setuid and setgid programs).
    public var exeFile: FileAttributes?
    public var capabilities: CapabilitySets
    public var noNewPrivs: Bool
    public var seccomp: SeccompMode
    public var tty: UInt32
    /// The pid inside the container's PID namespace (1 for its init); 0 when unknown.
    public var namespacePid: Int32 = 0
    /// Standard input, output and error at exec (`/dev/pts/0`, `pipe:[1]`, `socket:[2]`); empty when unknown.
    public var stdio: [String] = []
    /// The container's cgroup (its key in the registry).
    public var container: String
    /// Monotonic nanoseconds when the process started (the fork event's time, or derived from start time).
    public var startedAt: UInt64
    /// An exec (or first sighting) line was emitted for it, so its exit is reported too.
    public var reported: Bool
    /// What could not be read because the process was already gone (`exe`, `cmdline`, `uid`, ...).
    public var missing: [String]
    /// The process exec'd but was gone before its new program could be read: its name, exe, command
    /// line, user and capabilities are unknown (the fields above still hold its parent's, from the fork).
    public var unread: Bool = false

    public init(record: ProcessRecord, container: String, startedAt: UInt64) {
        pid = record.pid
        ppid = 0
        startTime = 0
        comm = ""
        cmdline = []
        uid = 0
        euid = 0
        gid = 0
        capabilities = CapabilitySets()
        noNewPrivs = false
        seccomp = .disabled
        tty = 0
        self.container = container
        self.startedAt = startedAt
        reported = false
        missing = []
        update(from: record)
    }

    /// A child just forked from `parent`: a copy of it until it execs.
    init(forkedFrom parent: TrackedProcess, pid: Int32, at time: UInt64) {
        self = parent
        self.pid = pid
        ppid = parent.pid
        startTime = 0
        startedAt = time
        reported = false
        missing = []
        unread = false
    }

    /// Takes what a fresh /proc read says (after an exec).
    mutating func update(from record: ProcessRecord) {
        ppid = record.ppid
        startTime = record.startTime
        comm = record.comm
        exe = record.exe
        cmdline = record.cmdline
        uid = record.status.uid.real
        euid = record.status.uid.effective
        gid = record.status.gid.real
        egid = record.status.gid.effective
        exeFile = record.exeFile
        capabilities = record.status.capabilities
        noNewPrivs = record.status.noNewPrivs
        seccomp = record.status.seccomp
        tty = record.tty
        namespacePid = record.status.namespacePids.last ?? 0
        stdio = record.stdio
        missing = []
        unread = false
    }
}

/// A container as the tracker knows it: identity and metadata, without its processes.
public struct ContainerIdentity: Sendable {
    public var id: String
    public var runtime: Runtime
    public var name: String?
    public var image: String?
    public var cgroup: String
    public var kubernetes: KubernetesIdentity?
    public var isSandbox: Bool
    public var workload: WorkloadKey

    public var shortID: String { String(id.prefix(12)) }

    public init(_ container: Container) {
        id = container.id
        runtime = container.runtime
        name = container.name
        image = container.image
        cgroup = container.cgroup
        kubernetes = container.kubernetes
        isSandbox = container.isSandbox
        workload = container.workload
    }

    init(match: ContainerMatch, metadata: ContainerMetadata) {
        id = match.id
        runtime = metadata.runtime ?? match.runtime
        name = metadata.name
        image = metadata.image
        cgroup = match.cgroup
        kubernetes = metadata.kubernetes
        isSandbox = metadata.isSandbox
        workload = WorkloadKey.forContainer(runtime: runtime, id: match.id, metadata: metadata)
    }
}

/// Something that happened on the node, as one line of `vigil watch --events` reports it.
public struct ActivityEvent: Sendable {
    public enum Kind: String, Sendable {
        case processExec = "process_exec"
        case processExit = "process_exit"
        case containerStart = "container_start"
        case containerStop = "container_stop"
        case agentStatus = "agent_status"
        /// A followed process changed its user (a connector uid event); for detectors, not written
        /// as an event line.
        case credentialsChanged = "credentials_changed"
    }

    public var kind: Kind
    /// Wall-clock time of the event (from the kernel's timestamp when the connector reported it).
    public var time: Timestamp
    public var source: ActivitySource
    public var container: ContainerIdentity?
    public var process: TrackedProcess?
    /// Names of the process's ancestors, nearest first (`proc.aname`).
    public var ancestors: [String]
    /// The parent's executable, when the parent is a followed process (`proc.pexepath`).
    public var parentExe: ExecutablePath?
    /// For credentialsChanged: the effective user id before the change.
    public var previousEffectiveUID: UInt32?
    /// For exits: the exit status (128 + signal when killed), the signal, and how long it ran.
    public var exitCode: Int32?
    public var exitSignal: Int32?
    public var duration: UInt64?
    /// For agent_status: what happened to Vigil itself, and counters (`lost_events`).
    public var message: String?
    public var counters: [(String, UInt64)]

    init(kind: Kind, time: Timestamp, source: ActivitySource) {
        self.kind = kind
        self.time = time
        self.source = source
        ancestors = []
        counters = []
    }

    /// A line about Vigil itself.
    public static func status(_ message: String, counters: [(String, UInt64)] = [], time: Timestamp = .now()) -> ActivityEvent {
        var event = ActivityEvent(kind: .agentStatus, time: time, source: .connector)
        event.message = message
        event.counters = counters
        return event
    }
}
