import Glibc
import Testing
import VigilTestSupport
import VigilBaseline
import VigilDetect
import VigilKernel
import VigilNode

@testable import VigilAgent

/// The learner driven by the tracker over a node laid out in a temporary directory (no kernel, no
/// Docker): what it learns, when it locks, what it writes, and how it takes in edits made by others.
@Suite("Baseline learner: learning, locking, the files, edits by others")
struct BaselineLearnerTests {
    static let web = NodeTree.containerID("b")
    static let workload = WorkloadKey(rawValue: "image:vigil-busybox:latest")
    static let shellArgs = ["sh", "-c", "while :; do sleep 1; done"]

    /// A node whose container "web" runs a shell (pid 100), a tracker seeded from it, and the seed's events.
    final class Setup {
        let node: NodeTree
        let tracker: Tracker
        var seed: [ActivityEvent] = []
        let store: BaselineStore
        var nextPid: Int32 = 200

        init() throws {
            node = try NodeTree()
            try node.addContainerProcess(web, pid: 100, ppid: 50, comm: "sh", args: shellArgs, startTime: 1000)
            try node.addContainer(web, name: "web", pids: [100])
            tracker = try Tracker(paths: node.paths)
            try tracker.seed(into: &seed)
            store = BaselineStore(directory: node.root + "/baselines")
        }

        deinit { node.remove() }

        func learner(learnFor: UInt64 = 3_600_000_000_000, locksItself: Bool = true) throws(BaselineStoreError) -> BaselineLearner {
            try BaselineLearner(
                store: store, learnFor: learnFor, locksItself: locksItself, enforces: true, hostname: "node-a",
                writeInterval: 1_000_000)
        }

        /// The shell forks and its child execs `comm` (busybox applet, or `exe`): the tracker's events.
        func exec(_ comm: String, args: [String], exe: String = "/bin/busybox", parent: Int32 = 100) throws -> [ActivityEvent] {
            let pid = nextPid
            nextPid += 1
            var events: [ActivityEvent] = []
            tracker.handle(
                ConnectorMessage(cpu: 0, sequence: 0, timestamp: 1, event: .fork(parentPid: parent, parentTgid: parent, childPid: pid, childTgid: pid)),
                into: &events)
            try node.addContainerProcess(web, pid: pid, ppid: parent, comm: comm, args: args, startTime: 2000 + UInt64(pid), exe: exe)
            tracker.handle(ConnectorMessage(cpu: 0, sequence: 0, timestamp: 2, event: .exec(pid: pid, tgid: pid)), into: &events)
            return events
        }

        func handle(_ learner: BaselineLearner, _ events: [ActivityEvent]) -> [Alert] {
            var alerts: [Alert] = []
            learner.handle(events, tracker: tracker, configuration: DetectionConfiguration(), into: &alerts)
            return alerts
        }

        func tick(_ learner: BaselineLearner) -> [Alert] {
            var alerts: [Alert] = []
            learner.tick(tracker: tracker, configuration: DetectionConfiguration(), into: &alerts)
            return alerts
        }

        var onDisk: Baseline? { try? store.load(workload) }
    }

    static func kinds(_ baseline: Baseline?) -> Set<String> {
        Set((baseline?.processes.keys).map { $0.map { "\($0.kind) < \($0.parent)" } } ?? [])
    }

    @Test("what runs at the start and every exec are learned, and written once the write interval has passed")
    func learnsAndWrites() throws {
        let setup = try Setup()
        let learner = try setup.learner()
        #expect(setup.handle(learner, setup.seed).isEmpty)
        #expect(Self.kinds(learner.baseline(of: Self.workload)) == ["/bin/busybox[sh] < -"])
        #expect(setup.handle(learner, try setup.exec("sleep", args: ["sleep", "1"])).isEmpty)
        #expect(setup.handle(learner, try setup.exec("busybox", args: ["busybox", "wget", "-q", "http://x/"])).isEmpty)
        let learned = Self.kinds(learner.baseline(of: Self.workload))
        #expect(learned == ["/bin/busybox[sh] < -", "/bin/busybox[sleep] < /bin/busybox[sh]", "/bin/busybox[wget] < /bin/busybox[sh]"])
        #expect(setup.onDisk == nil || Self.kinds(setup.onDisk) != learned, "not written before the interval")
        LiveGate.pause(milliseconds: 5)
        _ = setup.tick(learner)
        #expect(Self.kinds(setup.onDisk) == learned)
        #expect(setup.onDisk?.state == .learning)
        #expect(setup.onDisk?.nodes == ["node-a"])
        #expect(learner.takeNotes().contains { $0.hasPrefix("learning a baseline for \(Self.workload)") })
    }

    @Test("learning time carries over a restart, and the baseline locks after the rest of it; locked, a new kind is unexpected_process")
    func resumesThenLocks() throws {
        let setup = try Setup()
        let first = try setup.learner(learnFor: 400_000_000)
        _ = setup.handle(first, setup.seed)
        LiveGate.pause(milliseconds: 150)
        first.flush()
        let stopped = try #require(setup.onDisk)
        #expect(stopped.state == .learning)
        #expect(stopped.learned >= 150_000_000 && stopped.learned < 400_000_000, "learned \(stopped.learned)")

        // A new agent: it goes on from the file.
        let second = try setup.learner(learnFor: 400_000_000)
        #expect(second.baseline(of: Self.workload)?.learned == stopped.learned)
        _ = setup.handle(second, setup.seed)
        let deadline = second.nextDeadline()
        let remaining = Double(deadline &- monotonicNanoseconds()) / 1e9
        #expect(remaining <= 0.26, "locks in \(remaining) s, not after the whole 0.4 s")
        LiveGate.pause(milliseconds: 300)
        _ = setup.tick(second)
        #expect(second.baseline(of: Self.workload)?.state == .locked)
        #expect(setup.onDisk?.state == .locked)
        #expect(second.takeNotes().contains { $0.hasPrefix("baseline of \(Self.workload) locked") })

        // Only the shell was learned: a sleep, like a cat, is not in the baseline.
        #expect(setup.handle(second, try setup.exec("sleep", args: ["sleep", "1"])).contains { $0.rule == .unexpectedProcess })
        let alerts = setup.handle(second, try setup.exec("cat", args: ["cat", "/etc/passwd"]))
        let alert = try #require(alerts.first { $0.rule == .unexpectedProcess })
        #expect(alert.fields.contains { $0.0 == "vigil.baseline.kind" && $0.1 == .string("/bin/busybox[cat]") })
        #expect(alert.fields.contains { $0.0 == "vigil.baseline.parent" && $0.1 == .string("/bin/busybox[sh]") })
    }

    @Test("a lock written by someone else is taken in; a learning file edited by someone else keeps their edit and the agent's learning")
    func editsByOthers() throws {
        let setup = try Setup()
        let learner = try setup.learner()
        _ = setup.handle(learner, setup.seed)
        LiveGate.pause(milliseconds: 5)
        _ = setup.tick(learner)
        var theirs = try #require(setup.onDisk)

        // `vigil baseline allow` on the learning baseline, while the agent learns a new kind.
        let allowed = ProcessEntryKey(kind: ProcessKind(parsing: "/usr/bin/curl")!, parent: .any)
        theirs.processes[allowed] = ProcessEntry(users: nil, capabilities: nil, seen: 0)
        try setup.store.save(theirs)
        _ = setup.handle(learner, try setup.exec("sleep", args: ["sleep", "1"]))
        learner.refresh(everything: true)
        LiveGate.pause(milliseconds: 5)
        _ = setup.tick(learner)
        let merged = Self.kinds(setup.onDisk)
        #expect(merged.contains("/usr/bin/curl < *"), "their edit was lost: \(merged)")
        #expect(merged.contains("/bin/busybox[sleep] < /bin/busybox[sh]"), "the agent's learning was lost: \(merged)")
        #expect(setup.onDisk?.processes[ProcessEntryKey(kind: ProcessKind(parsing: "/bin/busybox[sh]")!, parent: .none)]?.seen == 1)

        // `vigil baseline lock`: the agent stops learning and starts checking.
        var locked = try #require(setup.onDisk)
        locked.state = .locked
        locked.lockedAt = .now()
        try setup.store.save(locked)
        learner.refresh(everything: true)
        #expect(learner.baseline(of: Self.workload)?.state == .locked)
        #expect(learner.takeNotes().contains { $0.contains("changed on disk: taken in (locked") })
        let before = setup.store.identity(of: Self.workload)
        let alerts = setup.handle(learner, try setup.exec("id", args: ["id"]))
        #expect(alerts.contains { $0.rule == .unexpectedProcess })
        LiveGate.pause(milliseconds: 5)
        _ = setup.tick(learner)
        learner.flush()
        #expect(setup.store.identity(of: Self.workload) == before, "the agent rewrote a baseline a person locked")
    }

    @Test("a forgotten baseline is learned again from scratch while the workload runs")
    func forgottenStartsOver() throws {
        let setup = try Setup()
        let learner = try setup.learner()
        _ = setup.handle(learner, setup.seed)
        _ = setup.handle(learner, try setup.exec("sleep", args: ["sleep", "1"]))
        LiveGate.pause(milliseconds: 5)
        _ = setup.tick(learner)
        #expect(Self.kinds(setup.onDisk).count == 2)
        try setup.store.remove(Self.workload)
        learner.refresh(everything: true)
        let fresh = try #require(learner.baseline(of: Self.workload))
        #expect(fresh.state == .learning && fresh.processes.isEmpty)
        _ = setup.handle(learner, try setup.exec("date", args: ["date"]))
        #expect(Self.kinds(learner.baseline(of: Self.workload)) == ["/bin/busybox[date] < /bin/busybox[sh]"])
    }

    @Test("a baseline holds at most 4096 kinds: more are not learned, and that is said once")
    func boundedKinds() throws {
        let setup = try Setup()
        var full = Baseline(workload: Self.workload, created: Timestamp(seconds: 1_800_000_000, nanoseconds: 0))
        for index in 0..<BaselineLearner.kindLimit {
            full.processes[ProcessEntryKey(kind: ProcessKind(executable: "/opt/tool\(index)", name: "tool\(index)"), parent: .none)] =
                ProcessEntry(users: [0], capabilities: .empty, seen: 1)
        }
        try setup.store.save(full)
        let learner = try setup.learner()
        _ = setup.handle(learner, setup.seed)
        _ = setup.handle(learner, try setup.exec("sleep", args: ["sleep", "1"]))
        _ = setup.handle(learner, try setup.exec("date", args: ["date"]))
        #expect(learner.baseline(of: Self.workload)?.processes.count == BaselineLearner.kindLimit)
        #expect(learner.takeNotes().filter { $0.contains("the most kept") }.count == 1)
    }

    @Test("a malformed baseline stops the learner's start as bad input, naming the file and line")
    func malformedRefused() throws {
        let setup = try Setup()
        try setup.store.prepare()
        let path = setup.store.path(for: Self.workload)
        try FileSystem.writeFile(path, Array("format 1\nworkload \(Self.workload)\nstate frozen\n".utf8))
        do {
            _ = try setup.learner()
            Issue.record("a malformed baseline was accepted")
        } catch {
            #expect(error.isBadInput)
            #expect(error.description.hasPrefix("\(path):3:"), "\(error)")
        }
    }
}
