public import VigilKernel
import CVigilShims

/// Converts the kernel's monotonic nanoseconds (connector timestamps) to wall-clock time.
struct BootClock {
    private var offset: Int64 = 0
    let nanosecondsPerTick: UInt64

    init() {
        let ticks = UInt64(max(1, vigil_clock_ticks_per_second()))
        nanosecondsPerTick = 1_000_000_000 / ticks
        refresh()
    }

    mutating func refresh() {
        let wall = Timestamp.now()
        let monotonic = Int64(monotonicNanoseconds())
        offset = wall.seconds * 1_000_000_000 + Int64(wall.nanoseconds) - monotonic
    }

    func wallTime(_ monotonic: UInt64) -> Timestamp {
        let total = Int64(monotonic) + offset
        return Timestamp(seconds: total / 1_000_000_000, nanoseconds: Int32(total % 1_000_000_000))
    }

    /// A process's start in monotonic nanoseconds, from its stat start time in clock ticks since boot.
    func monotonic(fromTicks ticks: UInt64) -> UInt64 { ticks * nanosecondsPerTick }
}

/// Follows every container process on the node: the process table (keyed by pid, checked by start
/// time), the containers, and what changes. Fed by connector events or by cgroup polls; produces the
/// activity events of `vigil watch --events`. Single-threaded: the agent's loop owns it.
public final class Tracker {
    public let paths: NodePaths
    private var proc: ProcReader
    private let layout: CgroupLayout
    private var clock = BootClock()

    /// Container processes by pid (threads are not processes; forked children are, from the fork on).
    public private(set) var processes: [Int32: TrackedProcess] = [:]
    /// Containers by cgroup path.
    public private(set) var containers: [String: ContainerState] = [:]
    /// Names and parents of host processes, for ancestry; cleared at every reconcile so a reused pid
    /// is not named after its previous owner for long.
    private var hostProcesses: [Int32: (comm: String, ppid: Int32)] = [:]
    /// Container cgroups (hierarchy index, path, match) found by the last walk of the tree.
    private var containerPaths: [(Int, String, ContainerMatch)] = []
    /// Pids seen as a runtime's init (runc before it execs the container's entrypoint), by polls.
    private var runtimeInitSightings: [Int32: Int] = [:]
    /// The last reconcile left a runtime init to look at again: poll again soon, not a whole interval later.
    public var wantsEarlyReconcile: Bool { !runtimeInitSightings.isEmpty }
    private static let hostCacheLimit = 4096

    /// Counts forks and thread creations in containers: a change tells the fork-storm detector there is
    /// something to look at (host activity does not).
    public private(set) var containerForks: UInt64 = 0

    /// Reads command lines; may be replaced by one that bounds how long a read may block.
    public var readCommandLine: (Int32) -> (arguments: [String], truncated: Bool)?

    /// A container and its counters.
    public struct ContainerState: Sendable {
        public var identity: ContainerIdentity
        /// Tracked processes now in it.
        public var live: Int
        /// Process forks and thread creations seen since it started (connector only).
        public var forks: UInt64
        public var threads: UInt64
        /// pids.current, pids.max and pids.events as last sampled (at start and at every reconcile).
        public var pids: PidCounters?
    }

    public init(paths: NodePaths) throws(InventoryError) {
        self.paths = paths
        do {
            layout = try CgroupLayout(cgroupRoot: paths.cgroupRoot, recorder: nil)
        } catch {
            throw InventoryError(description: "cannot read the cgroup tree: \(error) (set --cgroup-root?)")
        }
        do {
            proc = try ProcReader(root: paths.procRoot)
        } catch {
            throw InventoryError(description: "cannot read processes: \(error) (set --proc-root?)")
        }
        let procRoot = paths.procRoot
        var cmdlineReader = try? ProcReader(root: procRoot)
        readCommandLine = { pid in cmdlineReader?.readCmdline(pid: pid) }
    }

    // MARK: Start

    /// Takes the node as it is: every container and its processes, reported as `container_start`
    /// lines marked initial (processes already running are not reported one by one).
    public func seed(into out: inout [ActivityEvent]) throws(InventoryError) {
        let inventory = try InventoryCollector.collect(paths: paths, commandLine: readCommandLine)
        for warning in inventory.warnings { out.append(.status("warning: \(warning)")) }
        for container in inventory.containers {
            let identity = ContainerIdentity(container)
            containers[container.cgroup] = ContainerState(
                identity: identity, live: container.processes.count, forks: 0, threads: 0, pids: container.pids)
            for record in container.processes {
                var tracked = TrackedProcess(
                    record: record, container: container.cgroup, startedAt: clock.monotonic(fromTicks: record.startTime))
                tracked.reported = true
                processes[record.pid] = tracked
            }
            var event = ActivityEvent(kind: .containerStart, time: .now(), source: .initial)
            event.container = identity
            out.append(event)
        }
    }

    // MARK: Connector events

    /// Applies one connector event. For an exec, `prefetched` is what the source read from /proc the
    /// moment the event arrived (the process may be gone by now); without it the tracker reads itself.
    public func handle(_ message: ConnectorMessage, prefetched: ExecSnapshot? = nil, into out: inout [ActivityEvent]) {
        switch message.event {
        case .fork(_, let parentTgid, let childPid, let childTgid):
            guard let parent = processes[parentTgid] else { return }
            containerForks &+= 1
            if childPid != childTgid {
                containers[parent.container]?.threads += 1
                return
            }
            if let known = processes[childTgid] {
                // Known already: either this very child, taken in by a resync that ran before its fork
                // event was handled (it started within a clock tick of the fork), or an older process
                // whose pid was reused before its exit was seen.
                let tick = clock.nanosecondsPerTick
                if known.startTime != 0, known.startedAt + 2 * tick >= message.timestamp { return }
                retire(known, exitCode: nil, signal: nil, at: message.timestamp, source: .resync, into: &out)
            }
            processes[childTgid] = TrackedProcess(forkedFrom: parent, pid: childTgid, at: message.timestamp)
            containers[parent.container]?.live += 1
            containers[parent.container]?.forks += 1

        case .exec(_, let tgid):
            exec(tgid, at: message.timestamp, prefetched: prefetched, into: &out)

        case .exit(let pid, let tgid, let status, _, _, _):
            guard pid == tgid, let process = processes[tgid] else { return }
            let (code, signal) = Self.decodeWaitStatus(status)
            retire(process, exitCode: code, signal: signal, at: message.timestamp, source: .connector, into: &out)

        case .uid(_, let tgid, let real, let effective):
            guard let process = processes[tgid] else { return }
            processes[tgid]?.uid = real
            processes[tgid]?.euid = effective
            if process.euid != effective, process.reported, let updated = processes[tgid] {
                var event = makeEvent(.credentialsChanged, updated, time: message.timestamp, source: .connector)
                event.previousEffectiveUID = process.euid
                out.append(event)
            }

        case .gid(_, let tgid, let real, _):
            processes[tgid]?.gid = real

        case .comm(let pid, let tgid, let comm):
            if pid == tgid, processes[tgid] != nil {
                processes[tgid]?.comm = comm
                if processes[tgid]?.unread == true {
                    processes[tgid]?.missing.removeAll(where: { $0 == "name" })
                }
            }

        default:
            break
        }
    }

    /// An exec: read the new program; a process not yet known is a container process if its cgroup says so.
    private func exec(_ pid: Int32, at time: UInt64, prefetched: ExecSnapshot?, into out: inout [ActivityEvent]) {
        let snapshot = prefetched ?? ExecSnapshot.read(pid: pid, proc: &proc, commandLine: readCommandLine)
        for ancestor in snapshot.ancestors where processes[ancestor.pid] == nil {
            rememberHost(pid: ancestor.pid, comm: ancestor.comm, ppid: ancestor.ppid)
        }
        if var known = processes[pid] {
            if let record = snapshot.record {
                if known.startTime != 0, record.startTime != known.startTime {
                    // Same pid, another process: the old one exited unseen.
                    retire(known, exitCode: nil, signal: nil, at: time, source: .resync, into: &out)
                    exec(pid, at: time, prefetched: snapshot, into: &out)
                    return
                }
                known.update(from: record)
                known.missing = snapshot.missing
            } else {
                // Gone before it could be read: report what the fork told us, and say what is missing.
                known.missing = ["name", "exe", "cmdline", "uid", "capabilities"]
                known.unread = true
            }
            known.reported = true
            processes[pid] = known
            emit(.processExec, known, time: time, source: .connector, into: &out)
            return
        }

        // Not a known container process: is it in a container at all?
        guard let record = snapshot.record, let cgroup = snapshot.cgroup, let match = ContainerMatcher.match(cgroup)
        else { return }
        let state = containerState(for: match, time: time, into: &out)
        adoptParent(of: record, in: state, time: time, into: &out)
        var tracked = TrackedProcess(record: record, container: state, startedAt: clock.monotonic(fromTicks: record.startTime))
        tracked.missing = snapshot.missing
        processes[pid] = tracked
        containers[state]?.live += 1
        // The runtime's own init (runc init, moved into the container before it execs the entrypoint)
        // is followed but not reported: its exec of the entrypoint is, next.
        if Self.isRuntimeInit(record) { return }
        processes[pid]?.reported = true
        tracked.reported = true
        emit(.processExec, tracked, time: time, source: .connector, into: &out)
    }

    private func rememberHost(pid: Int32, comm: String, ppid: Int32) {
        if hostProcesses.count >= Self.hostCacheLimit { hostProcesses.removeAll(keepingCapacity: true) }
        hostProcesses[pid] = (comm, ppid)
    }

    /// A container process whose parent Vigil does not know, though the parent is in the same
    /// container: the parent entered it without an exec there (written into cgroup.procs, or joined
    /// before Vigil started and missed). Take the parent in now, so that its next children are known
    /// from their fork even if they are gone before their exec can be read.
    private func adoptParent(of record: ProcessRecord, in container: String, time: UInt64, into out: inout [ActivityEvent]) {
        guard record.ppid > 1, processes[record.ppid] == nil,
            let (parent, cgroup) = proc.read(pid: record.ppid, fields: [.exe, .cgroup]),
            let cgroup, ContainerMatcher.match(cgroup)?.cgroup == container
        else { return }
        var adopted = TrackedProcess(record: parent, container: container, startedAt: clock.monotonic(fromTicks: parent.startTime))
        if let (arguments, _) = readCommandLine(parent.pid) { adopted.cmdline = arguments } else { adopted.missing = ["cmdline"] }
        adopted.reported = true
        processes[parent.pid] = adopted
        containers[container]?.live += 1
        emit(.processExec, adopted, time: time, source: .resync, into: &out)
    }

    /// The container `match` names, registered (with a `container_start` line) if it is new.
    private func containerState(for match: ContainerMatch, time: UInt64?, source: ActivitySource = .connector, into out: inout [ActivityEvent]) -> String {
        if containers[match.cgroup] != nil { return match.cgroup }
        let reader = MetadataReader(files: HostFiles(root: paths.hostRoot, recorder: nil))
        let identity = ContainerIdentity(match: match, metadata: reader.metadata(for: match))
        for warning in reader.warnings { out.append(.status("warning: \(warning)")) }
        containers[match.cgroup] = ContainerState(
            identity: identity, live: 0, forks: 0, threads: 0, pids: samplePids(match.cgroup))
        var event = ActivityEvent(kind: .containerStart, time: time.map(clock.wallTime) ?? .now(), source: source)
        event.container = identity
        out.append(event)
        return match.cgroup
    }

    /// Removes an exited process, reports its exit if its start was reported, and stops its container
    /// when it was the last one there.
    private func retire(
        _ process: TrackedProcess, exitCode: Int32?, signal: Int32?, at time: UInt64?, source: ActivitySource,
        into out: inout [ActivityEvent]
    ) {
        processes[process.pid] = nil
        containers[process.container]?.live -= 1
        if process.reported {
            var event = makeEvent(.processExit, process, time: time, source: source)
            event.exitCode = exitCode
            event.exitSignal = signal
            let end = time ?? monotonicNanoseconds()
            event.duration = end > process.startedAt ? end - process.startedAt : 0
            out.append(event)
        }
        if let state = containers[process.container], state.live <= 0, !cgroupHasProcesses(process.container) {
            stopContainer(process.container, time: time, source: source, into: &out)
        }
    }

    private func stopContainer(_ cgroup: String, time: UInt64?, source: ActivitySource, into out: inout [ActivityEvent]) {
        guard let state = containers.removeValue(forKey: cgroup) else { return }
        var event = ActivityEvent(kind: .containerStop, time: time.map(clock.wallTime) ?? .now(), source: source)
        event.container = state.identity
        out.append(event)
    }

    /// True when the cgroup (or a descendant) still lists a process.
    private func cgroupHasProcesses(_ cgroup: String) -> Bool {
        for hierarchy in layout.walked {
            for path in hierarchy.walk(under: cgroup) where !hierarchy.processes(path).isEmpty {
                return true
            }
        }
        return false
    }

    // MARK: Polling and resync

    /// Compares the cgroup tree with the table: new containers and processes are reported, vanished
    /// ones retired. The poll source calls it every interval; with the connector it repairs lost events.
    ///
    /// - Parameter rewalk: walk the whole cgroup tree for containers; false reads only the container
    ///   cgroups the last walk found (a poller whose directory watcher saw no cgroup appear or go).
    public func reconcile(source: ActivitySource, rewalk: Bool = true, into out: inout [ActivityEvent]) {
        clock.refresh()
        hostProcesses.removeAll(keepingCapacity: true)
        var found: [String: (match: ContainerMatch, pids: [Int32])] = [:]
        if rewalk || containerPaths.isEmpty {
            containerPaths.removeAll(keepingCapacity: true)
            for (index, hierarchy) in layout.walked.enumerated() {
                for path in hierarchy.walk() {
                    guard let match = ContainerMatcher.match(path) else { continue }
                    containerPaths.append((index, path, match))
                    found[match.cgroup, default: (match, [])].pids.append(contentsOf: hierarchy.processes(path))
                }
            }
        } else {
            // One cgroup.procs per container: on a hybrid node the same processes are listed in the
            // unified and the v1 hierarchies, and generating that list is the poll's main cost in the
            // kernel. The walk (on a change, and every few seconds) still unites all hierarchies.
            var read = Set<String>()
            for (index, path, match) in containerPaths where read.insert(match.cgroup).inserted {
                let hierarchy = layout.walked[index]
                let pids = hierarchy.processes(path)
                // Gone since the walk: not found (an empty cgroup that still exists still is).
                if pids.isEmpty && !hierarchy.has(path, "cgroup.procs") { continue }
                found[match.cgroup, default: (match, [])].pids.append(contentsOf: pids)
            }
        }
        var present = Set<Int32>()
        for (cgroup, entry) in found.sorted(by: { $0.key < $1.key }) {
            let pids = InventoryCollector.uniqueSorted(entry.pids)
            guard !pids.isEmpty else { continue }
            for pid in pids {
                present.insert(pid)
                if let known = processes[pid], known.container == cgroup { continue }
                guard var (record, _) = proc.read(pid: pid, fields: [.exe]) else { continue }
                if Self.isRuntimeInit(record), (runtimeInitSightings[pid] ?? 0) < 3 {
                    // The runtime's own init, about to exec the workload: look again next time (a
                    // process that merely names itself so is recorded after three looks).
                    runtimeInitSightings[pid, default: 0] += 1
                    continue
                }
                runtimeInitSightings[pid] = nil
                if let (arguments, truncated) = readCommandLine(pid) {
                    record.cmdline = arguments
                    record.cmdlineTruncated = truncated
                }
                if let known = processes[pid] {
                    // Known under another container: it moved (or the pid was reused); start afresh.
                    retire(known, exitCode: nil, signal: nil, at: nil, source: source, into: &out)
                }
                let state = containerState(for: entry.match, time: nil, source: source, into: &out)
                var tracked = TrackedProcess(record: record, container: state, startedAt: clock.monotonic(fromTicks: record.startTime))
                tracked.reported = true
                processes[pid] = tracked
                containers[state]?.live += 1
                // New pids are the poll's only evidence of forks (PID churn).
                if source == .poll { containers[state]?.forks += 1 }
                // Stamped with when it started, as far as /proc tells, not when the poll found it.
                emit(.processExec, tracked, time: tracked.startedAt, source: source, into: &out)
            }
        }
        runtimeInitSightings = runtimeInitSightings.filter { present.contains($0.key) }
        // Only the gone are sorted (for a stable order of their lines), not the whole table every poll.
        let gone = processes.filter { !present.contains($0.key) }
        for (_, process) in gone.sorted(by: { $0.key < $1.key }) {
            retire(process, exitCode: nil, signal: nil, at: nil, source: source, into: &out)
        }
        for (cgroup, state) in containers where state.live <= 0 && found[cgroup] == nil {
            stopContainer(cgroup, time: nil, source: source, into: &out)
        }
        for cgroup in containers.keys { containers[cgroup]?.pids = samplePids(cgroup) }
    }

    /// The container's PID counters now, from the hierarchy with the pids controller.
    public func samplePids(_ cgroup: String) -> PidCounters? {
        guard let index = layout.pidsIndex else { return nil }
        return layout.walked[index].pidCounters(cgroup)
    }

    /// The cgroup directories in which a container could appear (every one not inside a container),
    /// as absolute paths, for a directory watcher.
    public func directoriesWhereContainersAppear() -> [String] {
        var result: [String] = []
        for hierarchy in layout.walked {
            for path in hierarchy.walk() where ContainerMatcher.match(path) == nil {
                result.append(path == "/" ? hierarchy.root : NodePaths.join(hierarchy.root, path))
            }
        }
        return result
    }

    // MARK: Lines

    private func emit(_ kind: ActivityEvent.Kind, _ process: TrackedProcess, time: UInt64?, source: ActivitySource, into out: inout [ActivityEvent]) {
        out.append(makeEvent(kind, process, time: time, source: source))
    }

    private func makeEvent(_ kind: ActivityEvent.Kind, _ process: TrackedProcess, time: UInt64?, source: ActivitySource) -> ActivityEvent {
        var event = ActivityEvent(kind: kind, time: time.map(clock.wallTime) ?? .now(), source: source)
        event.process = process
        event.container = containers[process.container]?.identity
        event.ancestors = ancestors(of: process)
        // An unread process still carries its parent's facts from the fork.
        event.parentExe = process.unread ? process.exe : processes[process.ppid]?.exe
        return event
    }

    /// Ancestor names, nearest first, through container processes and then host ones, up to pid 1.
    public func ancestors(of process: TrackedProcess, limit: Int = 16) -> [String] {
        var names: [String] = []
        var pid = process.ppid
        while pid > 0, names.count < limit {
            if let parent = processes[pid] {
                names.append(parent.comm)
                pid = parent.ppid
            } else if let host = hostProcesses[pid] {
                names.append(host.comm)
                pid = host.ppid
            } else if let stat = proc.readStat(pid: pid) {
                rememberHost(pid: pid, comm: stat.comm, ppid: stat.ppid)
                names.append(stat.comm)
                pid = stat.ppid
            } else {
                break
            }
        }
        return names
    }

    /// runc, crun and youki start a container as their own `init`, which then execs the entrypoint.
    static func isRuntimeInit(_ record: ProcessRecord) -> Bool {
        record.comm.hasPrefix("runc") || record.comm == "crun" || record.comm == "youki"
            || record.exe?.path == "/" || (record.exe?.isMemfd == true && record.comm.hasPrefix("runc"))
    }

    /// Splits a wait status into (exit status, signal): 128 + signal when killed, as shells report it.
    static func decodeWaitStatus(_ status: UInt32) -> (code: Int32, signal: Int32?) {
        let signal = Int32(status & 0x7F)
        if signal == 0 { return (Int32((status >> 8) & 0xFF), nil) }
        return (128 + signal, signal)
    }
}
