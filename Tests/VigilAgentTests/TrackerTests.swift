import Glibc
import Testing
import VigilAgent
import VigilJSON
import VigilKernel
import VigilNode

/// The tracker driven by synthetic connector messages over a node laid out in a temporary directory: no
/// kernel, no Docker. Each test plays what the kernel would show (files in /proc, cgroup.procs) and what
/// the connector would say (fork, exec, exit), and checks the activity events.
@Suite("Tracker: the process table fed by connector events and cgroup polls")
struct TrackerTests {
    static let web = NodeTree.containerID("a")
    static let shellArgs = ["sh", "-c", "while :; do sleep 1; done"]

    /// A node with one container, "web", whose shell (pid 100, a child of containerd-shim 50) is running.
    static func nodeWithWebShell() throws -> NodeTree {
        let node = try NodeTree()
        try node.addContainerProcess(web, pid: 100, ppid: 50, comm: "sh", args: shellArgs, startTime: 1000)
        try node.addContainer(web, name: "web", pids: [100])
        return node
    }

    /// A tracker seeded from `node`, and what seeding reported.
    static func seededTracker(_ node: NodeTree) throws -> (Tracker, [ActivityEvent]) {
        let tracker = try Tracker(paths: node.paths)
        var events: [ActivityEvent] = []
        try tracker.seed(into: &events)
        return (tracker, events)
    }

    static func message(_ event: ProcessEvent, at nanoseconds: UInt64) -> ConnectorMessage {
        ConnectorMessage(cpu: 0, sequence: 0, timestamp: nanoseconds, event: event)
    }

    static func fork(_ parent: Int32, _ child: Int32, at time: UInt64) -> ConnectorMessage {
        message(.fork(parentPid: parent, parentTgid: parent, childPid: child, childTgid: child), at: time)
    }

    static func exec(_ pid: Int32, at time: UInt64) -> ConnectorMessage {
        message(.exec(pid: pid, tgid: pid), at: time)
    }

    /// An exit; `status` is the kernel's wait status (exit code << 8, or the signal number).
    static func exit(_ pid: Int32, parent: Int32, status: UInt32, at time: UInt64) -> ConnectorMessage {
        message(
            .exit(pid: pid, tgid: pid, exitCode: status, exitSignal: 17, parentPid: parent, parentTgid: parent),
            at: time)
    }

    /// The event as the JSON line `vigil watch --format json` writes, parsed back.
    static func jsonLine(_ event: ActivityEvent) throws -> JSONValue {
        let bytes = EventLineEncoder(hostname: "tracker-node", format: .json).encode(event)
        #expect(bytes.last == 0x0A)
        return try JSONParser.parse(Array(bytes.dropLast()))
    }

    static func kinds(_ events: [ActivityEvent]) -> [ActivityEvent.Kind] { events.map(\.kind) }

    // MARK: Seeding

    @Test("seeding reports each running container once, marked initial, and takes its processes without a line each")
    func seedReportsContainers() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, events) = try Self.seededTracker(node)

        #expect(Self.kinds(events) == [.containerStart])
        let start = try #require(events.first)
        #expect(start.source == .initial)
        #expect(start.container?.id == Self.web)
        #expect(start.container?.name == "web")
        #expect(start.container?.image == "vigil-busybox:latest")
        #expect(start.container?.workload.rawValue == "image:vigil-busybox:latest")
        #expect(tracker.processes[100]?.cmdline == Self.shellArgs)
        #expect(tracker.containers[NodeTree.cgroup(of: Self.web)]?.live == 1)
    }

    // MARK: Fork, exec, exit

    @Test("fork, exec and exit give one process_exec and one process_exit with the exit status and duration")
    func forkExecExit() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        tracker.handle(Self.fork(100, 101, at: 20_000_000_000), into: &events)
        #expect(events.isEmpty, "a fork alone is not reported")
        #expect(tracker.processes[101]?.ppid == 100)

        try node.addContainerProcess(Self.web, pid: 101, ppid: 100, comm: "true", args: ["/bin/true"], startTime: 2000)
        try node.setProcs(Self.web, [100, 101])
        tracker.handle(Self.exec(101, at: 20_001_000_000), into: &events)
        #expect(Self.kinds(events) == [.processExec])
        let exec = try #require(events.first)
        #expect(exec.source == .connector)
        #expect(exec.process?.pid == 101)
        #expect(exec.process?.ppid == 100)
        #expect(exec.process?.comm == "true")
        #expect(exec.process?.cmdline == ["/bin/true"])
        #expect(exec.process?.exe?.display == "/bin/busybox")
        #expect(exec.process?.missing == [])
        #expect(exec.container?.id == Self.web)
        #expect(exec.ancestors == ["sh", "containerd-shim", "systemd"])

        events.removeAll()
        node.removeProcess(101)
        try node.setProcs(Self.web, [100])
        tracker.handle(Self.exit(101, parent: 100, status: 3 << 8, at: 20_501_000_000), into: &events)
        #expect(Self.kinds(events) == [.processExit], "the container still has its shell: no container_stop")
        let exit = try #require(events.first)
        #expect(exit.exitCode == 3)
        #expect(exit.exitSignal == nil)
        #expect(exit.duration == 501_000_000, "from the fork to the exit")
        #expect(tracker.processes[101] == nil, "an exited process is evicted")

        let line = try Self.jsonLine(exit)
        #expect(line["event"]?.string == "process_exit")
        let fields = try #require(line["output_fields"])
        #expect(fields["proc.exit_code"]?.int == 3)
        #expect(fields["proc.exit_signal"]?.isNull == true)
        #expect(fields["proc.duration_ns"]?.int == 501_000_000)
        #expect(fields["proc.args"] == .array([.string("/bin/true")]))
        #expect(fields["container.id"]?.string == String(Self.web.prefix(12)))
        #expect(fields["container.full_id"]?.string == Self.web)
        #expect(fields["vigil.workload"]?.string == "image:vigil-busybox:latest")
        #expect(fields["vigil.missing"] == nil)
    }

    @Test("a process killed by a signal exits with 128 + the signal, and the signal")
    func killedBySignal() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        tracker.handle(Self.fork(100, 102, at: 30_000_000_000), into: &events)
        try node.addContainerProcess(
            Self.web, pid: 102, ppid: 100, comm: "sleep", args: ["sleep", "60"], startTime: 3000)
        tracker.handle(Self.exec(102, at: 30_000_500_000), into: &events)
        node.removeProcess(102)
        tracker.handle(Self.exit(102, parent: 100, status: 9, at: 31_000_000_000), into: &events)

        #expect(Self.kinds(events) == [.processExec, .processExit])
        let exit = try #require(events.last)
        #expect(exit.exitCode == 137)
        #expect(exit.exitSignal == 9)
        let fields = try #require(try Self.jsonLine(exit)["output_fields"])
        #expect(fields["proc.exit_code"]?.int == 137)
        #expect(fields["proc.exit_signal"]?.int == 9)
    }

    @Test("a child that forks and exits without exec is counted, not reported")
    func forkWithoutExecIsNotReported() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        tracker.handle(Self.fork(100, 106, at: 40_000_000_000), into: &events)
        tracker.handle(Self.exit(106, parent: 100, status: 0, at: 40_001_000_000), into: &events)
        #expect(events.isEmpty)
        #expect(tracker.processes[106] == nil)
        #expect(tracker.containers[NodeTree.cgroup(of: Self.web)]?.forks == 1)
        #expect(tracker.containers[NodeTree.cgroup(of: Self.web)]?.live == 1)
    }

    // MARK: Identity

    @Test("a reused pid (exec with another start time) reports the old process's exit, then the new exec")
    func pidReuseIsANewProcess() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        tracker.handle(Self.fork(100, 101, at: 50_000_000_000), into: &events)
        try node.addContainerProcess(Self.web, pid: 101, ppid: 100, comm: "true", args: ["/bin/true"], startTime: 5000)
        tracker.handle(Self.exec(101, at: 50_000_100_000), into: &events)
        #expect(Self.kinds(events) == [.processExec])

        // Its exit was never seen; now pid 101 belongs to another process, which execs.
        events.removeAll()
        try node.addContainerProcess(
            Self.web, pid: 101, ppid: 100, comm: "sleep", args: ["sleep", "5"], startTime: 6000)
        tracker.handle(Self.exec(101, at: 60_000_000_000), into: &events)
        #expect(Self.kinds(events) == [.processExit, .processExec])
        let oldExit = try #require(events.first)
        #expect(oldExit.process?.startTime == 5000)
        #expect(oldExit.process?.cmdline == ["/bin/true"])
        #expect(oldExit.exitCode == nil, "its status is unknown")
        #expect(oldExit.source == .resync)
        let newExec = try #require(events.last)
        #expect(newExec.process?.startTime == 6000)
        #expect(newExec.process?.cmdline == ["sleep", "5"])
        #expect(newExec.container?.id == Self.web)
        #expect(tracker.processes[101]?.startTime == 6000)
    }

    // MARK: Gone before read

    @Test(
        "an exec whose /proc entry is already gone is still reported, with vigil.missing and the parent's container and exe"
    )
    func execGoneBeforeReadIsReported() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        tracker.handle(Self.fork(100, 104, at: 70_000_000_000), into: &events)
        // No /proc/104: it exec'd and exited before anyone looked.
        tracker.handle(Self.exec(104, at: 70_000_200_000), into: &events)
        #expect(Self.kinds(events) == [.processExec])
        let exec = try #require(events.first)
        let process = try #require(exec.process)
        #expect(process.unread)
        #expect(process.missing.contains("exe") && process.missing.contains("cmdline"))
        #expect(process.pid == 104 && process.ppid == 100)
        #expect(exec.container?.id == Self.web)
        #expect(exec.ancestors.first == "sh")

        let fields = try #require(try Self.jsonLine(exec)["output_fields"])
        #expect(fields["proc.pid"]?.int == 104)
        #expect(fields["proc.ppid"]?.int == 100)
        #expect(fields["proc.exepath"]?.isNull == true)
        #expect(fields["proc.args"]?.isNull == true)
        #expect(fields["proc.cmdline"]?.isNull == true)
        #expect(fields["proc.name"]?.isNull == true)
        #expect(fields["proc.pexepath"]?.string == "/bin/busybox", "the parent's exe, known from the fork")
        #expect(fields["container.full_id"]?.string == Self.web)
        #expect(fields["container.name"]?.string == "web")
        let missing = fields["vigil.missing"]?.array?.compactMap(\.string) ?? []
        #expect(missing.contains("exe") && missing.contains("cmdline"))

        events.removeAll()
        tracker.handle(Self.exit(104, parent: 100, status: 0, at: 70_000_900_000), into: &events)
        #expect(Self.kinds(events) == [.processExit])
        #expect(events.first?.exitCode == 0)
        #expect(events.first?.duration == 900_000)
    }

    @Test(
        "an exec read while the process is already exiting (no exe link, empty cmdline) is marked missing, not reported as an empty command",
        arguments: [Character("Z"), Character("R")])
    func execReadWhileExitingIsMarkedMissing(state: Character) throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        tracker.handle(Self.fork(100, 108, at: 150_000_000_000), into: &events)
        // What /proc shows of a process past exit_mm: stat and status still there, cmdline empty, exe unreadable.
        try node.addProcess(
            pid: 108, ppid: 100, comm: "true", args: [], startTime: 15000, cgroup: NodeTree.cgroup(of: Self.web),
            state: state)
        unlink(node.root + "/proc/108/exe")
        tracker.handle(Self.exec(108, at: 150_000_100_000), into: &events)
        #expect(Self.kinds(events) == [.processExec], "reported, never dropped")
        let exec = try #require(events.first)
        let fields = try #require(try Self.jsonLine(exec)["output_fields"])
        #expect(fields["proc.pid"]?.int == 108)
        let missing = fields["vigil.missing"]?.array?.compactMap(\.string) ?? []
        #expect(
            missing.contains("cmdline"),
            "proc.args is \(fields["proc.args"].map { "\($0)" } ?? "absent") with no vigil.missing")
        #expect(missing.contains("exe"), "proc.exepath is null with no \"exe\" in vigil.missing")
    }

    @Test("a resync that finds a just-forked child before its queued fork event does not report it twice")
    func forkAfterResyncSightingIsTheSameProcess() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        // The child is in cgroup.procs before the loop has handled its fork event (still queued).
        try node.addContainerProcess(Self.web, pid: 109, ppid: 100, comm: "sh", args: Self.shellArgs, startTime: 16000)
        try node.setProcs(Self.web, [100, 109])
        tracker.reconcile(source: .resync, into: &events)
        #expect(Self.kinds(events) == [.processExec])
        events.removeAll()

        // Then the queued fork of that same process (same pid, same start) is handled.
        tracker.handle(Self.fork(100, 109, at: 160_000_000_000), into: &events)
        let kinds = Self.kinds(events)
        #expect(
            kinds.isEmpty, "the same process was ended (a bogus process_exit with no status) on its own fork event")
    }

    @Test("an exec of a process not yet known, in a container's cgroup, registers the container first")
    func execInANewContainerStartsIt() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        let api = NodeTree.containerID("b")
        try node.addContainerProcess(api, pid: 400, ppid: 50, comm: "httpd", args: ["httpd", "-f"], startTime: 8000)
        try node.addContainer(api, name: "api", pids: [400])
        tracker.handle(Self.exec(400, at: 80_000_000_000), into: &events)
        #expect(Self.kinds(events) == [.containerStart, .processExec])
        #expect(events.first?.source == .connector)
        #expect(events.first?.container?.name == "api")
        #expect(events.last?.process?.cmdline == ["httpd", "-f"])
        #expect(events.last?.container?.id == api)
        #expect(events.last?.ancestors == ["containerd-shim", "systemd"])
    }

    @Test("an exec of a host process is not reported")
    func hostExecIsIgnored() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        try node.addProcess(
            pid: 700, ppid: 1, comm: "cron", args: ["cron"], startTime: 9000, cgroup: "/system.slice/cron.service")
        tracker.handle(Self.exec(700, at: 90_000_000_000), into: &events)
        #expect(events.isEmpty)
        #expect(tracker.processes[700] == nil)
    }

    // MARK: Threads

    @Test("a thread (child pid differs from its tgid) is counted but is not a process")
    func threadIsNotAProcess() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        tracker.handle(
            Self.message(.fork(parentPid: 100, parentTgid: 100, childPid: 105, childTgid: 100), at: 100_000_000_000),
            into: &events)
        #expect(events.isEmpty)
        #expect(tracker.processes[105] == nil)
        let state = try #require(tracker.containers[NodeTree.cgroup(of: Self.web)])
        #expect(state.threads == 1)
        #expect(state.forks == 0)
        #expect(state.live == 1)

        // The thread's exit is not the process's.
        tracker.handle(
            Self.message(
                .exit(pid: 105, tgid: 100, exitCode: 0, exitSignal: 0, parentPid: 50, parentTgid: 50),
                at: 100_001_000_000),
            into: &events)
        #expect(events.isEmpty)
        #expect(tracker.processes[100] != nil)
    }

    // MARK: Reconcile

    @Test("reconcile finds processes added to cgroup.procs and retires ones removed, marked with its source")
    func reconcileAddsAndRetires() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        tracker.reconcile(source: .poll, into: &events)
        #expect(events.isEmpty, "nothing changed")

        try node.addContainerProcess(
            Self.web, pid: 200, ppid: 100, comm: "sleep", args: ["sleep", "30"], startTime: 11000)
        try node.setProcs(Self.web, [200, 100, 200])
        tracker.reconcile(source: .poll, into: &events)
        #expect(Self.kinds(events) == [.processExec], "cgroup.procs may repeat a pid; it is one process")
        #expect(events.first?.source == .poll)
        #expect(events.first?.process?.pid == 200)
        #expect(events.first?.process?.cmdline == ["sleep", "30"])
        #expect(events.first?.container?.id == Self.web)

        events.removeAll()
        node.removeProcess(100)
        try node.setProcs(Self.web, [200])
        tracker.reconcile(source: .poll, into: &events)
        #expect(Self.kinds(events) == [.processExit])
        #expect(events.first?.process?.pid == 100)
        #expect(events.first?.source == .poll)
        #expect(events.first?.exitCode == nil, "a poll cannot know the status")
        #expect(tracker.processes[100] == nil)
        #expect(tracker.processes[200] != nil)
    }

    @Test("a reconcile without a walk reads the containers the last walk found: their new and gone processes, a cgroup removed; a new container waits for the next walk")
    func reconcileWithoutWalk() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []
        tracker.reconcile(source: .poll, into: &events)  // the first walk
        #expect(events.isEmpty)

        try node.addContainerProcess(Self.web, pid: 200, ppid: 100, comm: "sleep", args: ["sleep", "30"], startTime: 11000)
        try node.setProcs(Self.web, [100, 200])
        let db = NodeTree.containerID("c")
        try node.addContainerProcess(db, pid: 300, ppid: 50, comm: "sleep", args: ["sleep", "600"], startTime: 12000)
        try node.addContainer(db, name: "db", pids: [300])
        tracker.reconcile(source: .poll, rewalk: false, into: &events)
        #expect(Self.kinds(events) == [.processExec], "the known container's new process, not yet the new container")
        #expect(events.first?.process?.pid == 200)

        events.removeAll()
        tracker.reconcile(source: .poll, rewalk: true, into: &events)
        #expect(Self.kinds(events) == [.containerStart, .processExec], "the walk finds the new container")

        events.removeAll()
        node.removeProcess(100)
        node.removeProcess(200)
        node.removeContainerCgroup(Self.web)
        tracker.reconcile(source: .poll, rewalk: false, into: &events)
        #expect(Self.kinds(events).filter { $0 == .processExit }.count == 2)
        #expect(Self.kinds(events).last == .containerStop, "a removed cgroup ends its container without a walk")
    }

    @Test("reconcile reports a container that appeared and one that emptied, with their processes")
    func reconcileStartsAndStopsContainers() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        let db = NodeTree.containerID("c")
        try node.addContainerProcess(db, pid: 300, ppid: 50, comm: "sleep", args: ["sleep", "600"], startTime: 12000)
        try node.addContainer(db, name: "db", pids: [300])
        tracker.reconcile(source: .poll, into: &events)
        #expect(Self.kinds(events) == [.containerStart, .processExec])
        #expect(events.first?.source == .poll)
        #expect(events.first?.container?.name == "db")

        events.removeAll()
        node.removeProcess(300)
        node.removeContainerCgroup(db)
        tracker.reconcile(source: .poll, into: &events)
        #expect(Self.kinds(events) == [.processExit, .containerStop])
        #expect(events.last?.container?.id == db)
        #expect(tracker.containers[NodeTree.cgroup(of: db)] == nil)
        #expect(tracker.containers[NodeTree.cgroup(of: Self.web)] != nil, "the other container is untouched")
    }

    // MARK: Container stop

    @Test("the exit of a container's last process stops it when its cgroup is empty")
    func lastExitStopsContainer() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        node.removeProcess(100)
        try node.setProcs(Self.web, [])
        tracker.handle(Self.exit(100, parent: 50, status: 0, at: 130_000_000_000), into: &events)
        #expect(Self.kinds(events) == [.processExit, .containerStop])
        #expect(events.last?.container?.name == "web")
        #expect(events.last?.source == .connector)
        #expect(tracker.containers.isEmpty)
        #expect(tracker.processes.isEmpty)
    }

    @Test("the exit of the last tracked process keeps the container while its cgroup still lists a process")
    func lastTrackedExitWithProcsLeftKeepsContainer() throws {
        let node = try Self.nodeWithWebShell()
        defer { node.remove() }
        let (tracker, _) = try Self.seededTracker(node)
        var events: [ActivityEvent] = []

        node.removeProcess(100)
        try node.setProcs(Self.web, [150])
        tracker.handle(Self.exit(100, parent: 50, status: 0, at: 140_000_000_000), into: &events)
        #expect(Self.kinds(events) == [.processExit])
        #expect(tracker.containers[NodeTree.cgroup(of: Self.web)] != nil)
    }
}
