import Testing
import VigilBaseline
import VigilKernel
import VigilNode

/// Whatever `BaselineFile.encode` writes, `decode` reads back as the same baseline, and the text is the
/// same every time (baselines live in git: a rewrite with no change must not show up as a diff).
@Suite("Baseline file: round trips and stable order")
struct BaselineFileRoundTripTests {
    static let busyboxSh = kind("/bin/busybox", "sh")
    static let busyboxHttpd = kind("/bin/busybox", "httpd")
    static let nginx = kind("/usr/sbin/nginx")

    /// The small baseline of the golden text below, its entries added in reverse of file order.
    static func small() -> Baseline {
        var baseline = Baseline(
            workload: WorkloadKey(rawValue: "image:web:1.4"), created: referenceTime, node: "node-b")
        baseline.nodes.insert("node-a")
        baseline.state = .locked
        baseline.learned = 3_600_000_000_000
        baseline.changed = time(1872)
        baseline.lockedAt = time(3600)
        baseline.pidsHigh = 7
        baseline.forkRateHigh = 3
        baseline.processes[key(nginx, parent: .outside)] = ProcessEntry(users: nil, capabilities: nil, seen: 4)
        baseline.processes[key(busyboxSh, parent: .none)] = ProcessEntry(
            users: [0], capabilities: caps("dac_override", "chown"), seen: 1)
        baseline.processes[key(busyboxHttpd, parent: .process(busyboxSh))] = ProcessEntry(
            users: [33, 0], capabilities: caps("setuid", "chown"), seen: 2)
        baseline.processes[key(busyboxHttpd, parent: .any)] = ProcessEntry(users: [], capabilities: .empty, seen: 0)
        return baseline
    }

    static let smallText = """
        # Vigil baseline: the processes workload image:web:1.4 normally runs.
        # Format: Baselines/README.md in the Vigil repository. Review it before you lock it.
        format 1
        workload image:web:1.4
        state locked
        learned 1h
        created 2026-11-30T05:10:00Z
        changed 2026-11-30T05:41:12Z
        locked 2026-11-30T06:10:00Z
        pids-high 7
        fork-rate-high 3
        node node-a
        node node-b

        # process KIND parent=PARENT users=UIDS caps=CAPABILITIES seen=COUNT
        process /bin/busybox[httpd] parent=* users=- caps=- seen=0
        process /bin/busybox[httpd] parent=/bin/busybox[sh] users=0,33 caps=chown,setuid seen=2
        process /bin/busybox[sh] parent=- users=0 caps=chown,dac_override seen=1
        process /usr/sbin/nginx parent=outside users=* caps=* seen=4

        """

    @Test(
        "a small baseline is written exactly as the golden text: keys in order, entries, users, caps and nodes sorted")
    func goldenText() {
        #expect(BaselineFile.encode(Self.small()) == Self.smallText)
    }

    @Test("the golden text reads back as the baseline it was written from")
    func goldenTextDecodes() throws {
        let decoded = try BaselineFile.decode(Self.smallText, file: "golden.baseline")
        #expect(decoded == Self.small())
    }

    @Test("an empty learning baseline (no entries, no nodes, zero marks) round-trips")
    func emptyBaseline() throws {
        let baseline = Baseline(workload: WorkloadKey(rawValue: "image:alpine:3.20"), created: referenceTime)
        let decoded = try roundTrip(baseline)
        #expect(decoded == baseline)
        #expect(decoded.state == .learning)
        #expect(decoded.processes.isEmpty)
        #expect(decoded.nodes.isEmpty)
        #expect(decoded.lockedAt == nil)
    }

    @Test("a locked baseline keeps its lock time; a learning one has none")
    func lockedAndLearningStates() throws {
        var locked = Self.small()
        let decodedLocked = try roundTrip(locked)
        #expect(decodedLocked == locked)
        #expect(decodedLocked.state == .locked)
        #expect(decodedLocked.lockedAt == time(3600))

        locked.state = .learning
        locked.lockedAt = nil
        let decodedLearning = try roundTrip(locked)
        #expect(decodedLearning == locked)
        #expect(decodedLearning.state == .learning)
        #expect(!BaselineFile.encode(locked).contains("\nlocked "))
    }

    @Test("every parent kind and every form of users and caps round-trips")
    func manyEntries() throws {
        var baseline = Baseline(
            workload: WorkloadKey(rawValue: "k8s:shop/web/nginx"), created: referenceTime, node: "n1")
        baseline.nodes.formUnion(["n2", "node with space", "ñode"])
        baseline.learned = 90_061_000_000_000  // 1d 1h 1m 1s
        baseline.changed = time(86_400)
        baseline.pidsHigh = .max
        baseline.forkRateHigh = 12_345
        let parents: [ParentKind] = [
            .none, .outside, .any, .process(Self.busyboxSh), .process(Self.nginx), .process(kind("?", "sh")),
        ]
        let users: [Set<UInt32>?] = [nil, [], [0], [0, 33, 1000, .max]]
        let capabilities: [CapabilitySet?] = [
            nil, .empty, caps("net_raw"), .dockerDefault, caps("chown", "sys_admin", "checkpoint_restore"),
        ]
        let kinds = [Self.busyboxSh, Self.busyboxHttpd, Self.nginx, kind("?", "sh"), kind("/app/server", "worker")]
        var seen: UInt64 = 0
        for (k, processKind) in kinds.enumerated() {
            for (p, parent) in parents.enumerated() {
                seen += 1
                baseline.processes[key(processKind, parent: parent)] = ProcessEntry(
                    users: users[(k + p) % users.count], capabilities: capabilities[(k * 2 + p) % capabilities.count],
                    seen: seen == 7 ? .max : seen)
            }
        }
        let decoded = try roundTrip(baseline)
        #expect(decoded == baseline)
        #expect(decoded.processes.count == kinds.count * parents.count)
    }

    @Test("random baselines round-trip and encode to the same bytes twice", arguments: [1 as UInt64, 2, 3])
    func randomBaselines(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        // Names here leave out `[` (see ProcessKindTests for the kinds that do not round-trip).
        let nameAlphabet = trickyScalars.filter { $0 != "/" }
        // Workload keys here leave out newlines (see BaselineEscapingTests.workloadWithNewline).
        let workloadAlphabet = trickyScalars.filter { $0 != "\n" }
        for iteration in 0..<100 {
            var baseline = Baseline(
                workload: WorkloadKey(rawValue: "image:" + random.string(from: workloadAlphabet, minLength: 1)),
                created: time(Int64.random(in: -1_000_000...1_000_000, using: &random)))
            baseline.changed = time(Int64.random(in: 0...10_000_000, using: &random))
            baseline.learned = UInt64.random(in: 0...100_000_000, using: &random) * 1_000_000_000
            baseline.pidsHigh = random.next()
            baseline.forkRateHigh = UInt64.random(in: 0...1000, using: &random)
            if Bool.random(using: &random) {
                baseline.state = .locked
                baseline.lockedAt = time(Int64.random(in: 0...10_000_000, using: &random))
            }
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                baseline.nodes.insert(random.string(from: trickyScalars, minLength: 1))
            }
            for _ in 0..<Int.random(in: 0...6, using: &random) {
                let processKind = ProcessKind(
                    executable: "/" + random.string(from: trickyScalars, minLength: 1),
                    name: random.string(from: nameAlphabet, minLength: 1))
                let parent: ParentKind =
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0: .none
                    case 1: .outside
                    case 2: .any
                    default:
                        .process(
                            ProcessKind(
                                executable: "/bin/" + random.string(from: trickyScalars, minLength: 1),
                                name: random.string(from: nameAlphabet, minLength: 1)))
                    }
                var users: Set<UInt32>?
                if Bool.random(using: &random) {
                    users = []
                    for _ in 0..<Int.random(in: 0...3, using: &random) {
                        users?.insert(UInt32.random(in: 0...70_000, using: &random))
                    }
                }
                let everyCapability = CapabilitySet.all(upTo: 40).rawValue
                let capabilities: CapabilitySet? =
                    Bool.random(using: &random) ? nil : CapabilitySet(rawValue: random.next() & everyCapability)
                baseline.processes[key(processKind, parent: parent)] = ProcessEntry(
                    users: users, capabilities: capabilities, seen: random.next() >> 1)
            }
            let text = BaselineFile.encode(baseline)
            #expect(BaselineFile.encode(baseline) == text, "seed \(seed) iteration \(iteration): encoding differs")
            let decoded: Baseline
            do {
                decoded = try BaselineFile.decode(text, file: "random.baseline")
            } catch {
                Issue.record("seed \(seed) iteration \(iteration): \(error)\n\(text)")
                continue
            }
            #expect(decoded == baseline, "seed \(seed) iteration \(iteration):\n\(text)")
        }
    }

    @Test("entries come out sorted whatever order they were added in")
    func insertionOrderDoesNotMatter() {
        let forward = Self.small()
        var backward = Baseline(workload: forward.workload, created: forward.created)
        backward.state = forward.state
        backward.learned = forward.learned
        backward.changed = forward.changed
        backward.lockedAt = forward.lockedAt
        backward.pidsHigh = forward.pidsHigh
        backward.forkRateHigh = forward.forkRateHigh
        for node in forward.nodes.sorted().reversed() { backward.nodes.insert(node) }
        for key in forward.processes.keys.sorted().reversed() { backward.processes[key] = forward.processes[key] }
        #expect(BaselineFile.encode(backward) == BaselineFile.encode(forward))
        #expect(BaselineFile.encode(forward) == BaselineFile.encode(forward))

        let processLines = { (text: String) in text.split(separator: "\n").filter { $0.hasPrefix("process ") } }
        #expect(processLines(BaselineFile.encode(backward)) == processLines(Self.smallText))
    }

    @Test("encode writes times to the second and the learned time to the millisecond, cut, not rounded")
    func wholeSeconds() throws {
        var baseline = Baseline(
            workload: WorkloadKey(rawValue: "w"),
            created: Timestamp(seconds: referenceTime.seconds, nanoseconds: 999_999_999))
        baseline.changed = Timestamp(seconds: referenceTime.seconds + 1, nanoseconds: 500_000_000)
        baseline.learned = 61_999_999_999
        let text = BaselineFile.encode(baseline)
        #expect(text.contains("\ncreated 2026-11-30T05:10:00Z\n"))
        #expect(text.contains("\nchanged 2026-11-30T05:10:01Z\n"))
        #expect(text.contains("\nlearned 1m1s999ms\n"))
        let decoded = try BaselineFile.decode(text, file: "w.baseline")
        #expect(decoded.created == referenceTime)
        #expect(decoded.learned == 61_999_000_000)
        baseline.learned = 3_600_000_000_000
        #expect(BaselineFile.encode(baseline).contains("\nlearned 1h\n"), "whole durations stay short")
    }
}
