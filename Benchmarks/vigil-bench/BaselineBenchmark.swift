import Glibc
import VigilBaseline
import VigilDetect
import VigilKernel
import VigilNode

/// What baselines add to each exec the agent handles — naming the process's kind and learning it, or
/// checking it against a locked baseline — against what the agent already pays per exec: reading the
/// process from /proc. Also the cost of writing and reading a baseline file.
func runBaselineBenchmark(processes processCount: Int, kinds kindCount: Int, iterations: Int) {
    let workspace = Workspace.shared
    // One container of busybox applets (sh, sleep, cat, ...), each run by a shell, as in a workload.
    let procs = workspace.makeContainer(workspace.containerID(1), pidsMax: 8192)
    // sleep and tail alone, and a shell with a sleep of its own (a child under a parent kind).
    let commands = [["/bin/busybox", "sleep", "3600"], ["/bin/busybox", "tail", "-f", "/dev/null"], ["/bin/busybox", "sh", "-c", "sleep 3600; true"]]
    for index in 0..<processCount {
        let pid = spawn(commands[index % commands.count])
        workspace.track(pid)
        workspace.move(pid, into: procs)
    }
    usleep(300_000)  // let every child exec before it is read
    guard let inventory = try? InventoryCollector.collect(paths: NodePaths()),
        let container = inventory.containers.first(where: { $0.cgroup.contains(workspace.parent) })
    else { fail("inventory failed") }
    let pids = container.processes.map(\.pid)
    guard pids.count >= processCount else { fail("saw \(pids.count) of \(processCount) processes") }

    // Reference: read every process as the agent reads an exec (stat, status, cmdline, exe, cgroup).
    guard var reader = try? ProcReader(root: "/proc") else { fail("cannot open /proc") }
    var records: [ProcessRecord] = []
    var referenceTimes: [UInt64] = []
    for _ in 0..<iterations {
        records.removeAll(keepingCapacity: true)
        let start = monotonicNanoseconds()
        for pid in pids { if let record = reader.read(pid: pid) { records.append(record) } }
        referenceTimes.append(monotonicNanoseconds() - start)
    }
    let tracked = records.map { TrackedProcess(record: $0, container: container.cgroup, startedAt: 0) }
    var table: [Int32: TrackedProcess] = [:]
    for process in tracked { table[process.pid] = process }

    // Learning: name each process's kind under its parent's and add it.
    let workload = WorkloadKey(rawValue: "image:bench:1")
    var learnTimes: [UInt64] = []
    var learned = Baseline(workload: workload)
    for _ in 0..<iterations {
        var baseline = Baseline(workload: workload)
        let start = monotonicNanoseconds()
        for process in tracked {
            guard let key = BaselineRules.key(of: process, parent: table[process.ppid]) else { continue }
            baseline.learn(key, user: process.euid, capabilities: process.capabilities.effective, at: Timestamp(seconds: 0, nanoseconds: 0))
        }
        learnTimes.append(monotonicNanoseconds() - start)
        learned = baseline
    }
    // A locked baseline of `kindCount` kinds: the node's, and made-up ones around them.
    for index in 0..<max(0, kindCount - learned.processes.count) {
        learned.processes[ProcessEntryKey(kind: ProcessKind(executable: "/usr/bin/tool\(index)", name: "tool\(index)"), parent: .none)] =
            ProcessEntry(users: [0], capabilities: .empty, seen: 1)
    }
    learned.state = .locked
    let configuration = DetectionConfiguration()
    let identity = ContainerIdentity(container)
    var checkTimes: [UInt64] = []
    var alerts = 0
    for _ in 0..<iterations {
        alerts = 0
        let start = monotonicNanoseconds()
        for process in tracked {
            guard let key = BaselineRules.key(of: process, parent: table[process.ppid]) else { continue }
            var event = ActivityEvent.status("")
            event.kind = .processExec
            event.container = identity
            event.process = process
            alerts += BaselineRules.inspect(event, key: key, baseline: learned, configuration: configuration).count
        }
        checkTimes.append(monotonicNanoseconds() - start)
    }

    // The file: encode, decode, and an atomic write (fsync) of the locked baseline.
    let directory = workspace.baselineDirectory
    let store = BaselineStore(directory: directory)
    var encodeTimes: [UInt64] = []
    var decodeTimes: [UInt64] = []
    var writeTimes: [UInt64] = []
    var text = ""
    for _ in 0..<iterations {
        var start = monotonicNanoseconds()
        text = BaselineFile.encode(learned)
        encodeTimes.append(monotonicNanoseconds() - start)
        start = monotonicNanoseconds()
        guard (try? BaselineFile.decode(text, file: "bench"))?.processes == learned.processes else { fail("the baseline did not read back") }
        decodeTimes.append(monotonicNanoseconds() - start)
        start = monotonicNanoseconds()
        guard (try? store.save(learned)) != nil else { fail("cannot write into \(directory)") }
        writeTimes.append(monotonicNanoseconds() - start)
    }

    let reference = median(referenceTimes) / Double(pids.count)
    let learning = median(learnTimes) / Double(tracked.count)
    let checking = median(checkTimes) / Double(tracked.count)
    print("baselines: \(pids.count) processes in one container, \(iterations) iterations (medians)")
    print("  reference: reading one process from /proc (as for an exec)   \(Int(reference)) ns")
    print("  learning: kind of the process and its parent, added            \(Int(learning)) ns  = \(percent(learning / reference)) of the reference")
    print("  checking: kind looked up in a locked baseline of \(learned.processes.count) kinds    \(Int(checking)) ns  = \(percent(checking / reference)) of the reference (\(alerts) alerts)")
    print("  file of \(learned.processes.count) kinds (\(text.utf8.count) bytes): encode \(ms(median(encodeTimes))), decode \(ms(median(decodeTimes))), atomic write with fsync \(ms(median(writeTimes)))")
    workspace.cleanUp()
}
