import Testing
import VigilDetect
import VigilKernel

// TrackedProcess, ActivityEvent, ContainerIdentity and Tracker.ContainerState have internal
// initializers only (the tracker makes them); tests build them through @testable (debug builds).
@testable import VigilNode

/// Builds the values the detectors take — a container, its processes and their exec events — with
/// the facts the kernel would give, so each rule can be checked without a kernel.
enum Scenario {
    static let containerID = String(repeating: "ab", count: 32)
    static let cgroup = "/docker/" + containerID
    static let time = Timestamp(seconds: 1_800_000_000, nanoseconds: 0)

    /// A Docker container named `name` from `image` (its workload is `image:<image>`).
    static func container(name: String = "web", image: String = "nginx:1.25", id: String = containerID)
        -> ContainerIdentity
    {
        var metadata = ContainerMetadata()
        metadata.runtime = .docker
        metadata.name = name
        metadata.image = image
        return ContainerIdentity(
            match: ContainerMatch(runtime: .docker, id: id, cgroup: "/docker/" + id), metadata: metadata)
    }

    /// Docker's default effective set for root.
    static let dockerDefault = CapabilitySet.dockerDefault

    /// A container process as the tracker holds it after its exec.
    static func process(
        pid: Int32 = 4242, ppid: Int32 = 4200, comm: String, exe: String? = nil, deleted: Bool = false, argv: [String],
        uid: UInt32 = 0, euid: UInt32? = nil, effective: CapabilitySet? = nil, tty: UInt32 = 0,
        namespacePid: Int32 = 7, stdio: [String] = ["/dev/null", "pipe:[100]", "pipe:[101]"]
    ) -> TrackedProcess {
        var status = ProcStatus()
        let effectiveUID = euid ?? uid
        status.tgid = pid
        status.ppid = ppid
        status.uid = (uid, effectiveUID, effectiveUID, effectiveUID)
        status.gid = (uid, uid, uid, uid)
        let caps = effective ?? (effectiveUID == 0 ? dockerDefault : .empty)
        status.capabilities = CapabilitySets(effective: caps, permitted: caps, bounding: dockerDefault)
        status.namespacePids = [pid, namespacePid]
        var record = ProcessRecord(
            pid: pid, ppid: ppid, startTime: 123_456, comm: comm,
            exe: exe.map { ExecutablePath(path: $0, deleted: deleted) }, cmdline: argv, status: status, tty: tty)
        record.stdio = stdio
        record.state = UInt8(ascii: "R")
        return TrackedProcess(record: record, container: cgroup, startedAt: 1_000_000)
    }

    /// busybox applet `argv[0]` as run through its symlink: exe /bin/busybox, comm the applet's name.
    static func busybox(
        _ argv: [String], comm: String? = nil, uid: UInt32 = 0, euid: UInt32? = nil, tty: UInt32 = 0,
        namespacePid: Int32 = 7, stdio: [String] = ["/dev/null", "pipe:[100]", "pipe:[101]"]
    ) -> TrackedProcess {
        let name = comm ?? String(argv[0].split(separator: "/").last ?? "")
        return process(
            comm: name, exe: "/bin/busybox", argv: argv, uid: uid, euid: euid, tty: tty, namespacePid: namespacePid,
            stdio: stdio)
    }

    /// The process_exec event of `process` in `container`, with its ancestors' names (nearest first).
    static func exec(
        _ process: TrackedProcess, in container: ContainerIdentity = Scenario.container(),
        ancestors: [String] = ["runc", "containerd-shim", "containerd"], parentExe: String? = nil
    ) -> ActivityEvent {
        var event = ActivityEvent(kind: .processExec, time: time, source: .connector)
        event.process = process
        event.container = container
        event.ancestors = ancestors
        event.parentExe = parentExe.map { ExecutablePath(path: $0, deleted: false) }
        return event
    }

    /// A change of user of a running process (a connector uid event).
    static func credentialsChanged(_ process: TrackedProcess, previousEUID: UInt32?, ancestors: [String] = ["sh"])
        -> ActivityEvent
    {
        var event = ActivityEvent(kind: .credentialsChanged, time: time, source: .connector)
        event.process = process
        event.container = container()
        event.ancestors = ancestors
        event.previousEffectiveUID = previousEUID
        return event
    }

    /// Facts for a node where every socket is of `socket` kind and `upper` lists the executables in the
    /// container's writable layer.
    static func facts(socket: SocketKind = .unknown, upper: Set<String> = []) -> ProcessRules.Facts {
        ProcessRules.Facts(socketKind: { _, _ in socket }, inUpperLayer: { _, _, path in upper.contains(path) })
    }

    /// The alerts `process_exec` of `process` raises.
    static func alerts(
        _ process: TrackedProcess, parent: TrackedProcess? = nil,
        ancestors: [String] = ["runc", "containerd-shim", "containerd"],
        container: ContainerIdentity = Scenario.container(),
        configuration: DetectionConfiguration = DetectionConfiguration(),
        facts: ProcessRules.Facts = Scenario.facts()
    ) -> [Alert] {
        ProcessRules.inspectExec(
            exec(process, in: container, ancestors: ancestors), parent: parent, configuration: configuration,
            facts: facts)
    }

    /// A configuration with `change` applied to the settings of `rule`.
    static func configuration(_ rule: RuleID, _ change: (inout DetectionConfiguration.RuleSettings) -> Void)
        -> DetectionConfiguration
    {
        var configuration = DetectionConfiguration()
        var settings = configuration.settings(rule)
        change(&settings)
        configuration.rules[rule] = settings
        return configuration
    }

    /// A container's counters as the tracker keeps them.
    static func state(
        forks: UInt64, threads: UInt64 = 0, pids: PidCounters? = nil,
        container: ContainerIdentity = Scenario.container()
    ) -> Tracker.ContainerState {
        Tracker.ContainerState(identity: container, live: 3, forks: forks, threads: threads, pids: pids)
    }
}

extension [Alert] {
    /// The alerts of one rule.
    func of(_ rule: RuleID) -> [Alert] { filter { $0.rule == rule } }

    var rules: Set<RuleID> { Set(map(\.rule)) }
}

extension Alert {
    /// The rule-specific field `name`, or nil.
    func field(_ name: String) -> FieldValue? { fields.first { $0.0 == name }?.1 }
}
