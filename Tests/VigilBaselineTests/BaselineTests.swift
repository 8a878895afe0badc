import Testing
import VigilBaseline
import VigilKernel
import VigilNode

/// What a baseline learns from sightings and marks, how two nodes' baselines merge, and which entry
/// admits a process or is named as the nearest when none does.
@Suite("Baseline: learning, marks, merging, lookup")
struct BaselineTests {
    static let workload = WorkloadKey(rawValue: "image:web:1.4")
    static let sh = kind("/bin/busybox", "sh")
    static let wget = kind("/bin/busybox", "wget")
    static let nginx = kind("/usr/sbin/nginx")

    // MARK: learn

    @Test("learn is true for a new kind, user or capability and false for a repeat; seen counts every sighting")
    func learn() {
        var baseline = Baseline(workload: Self.workload, created: referenceTime)
        let entry = key(Self.wget, parent: .process(Self.sh))
        var isNew = baseline.learn(entry, user: 0, capabilities: caps("chown"), at: time(1))
        #expect(isNew)
        #expect(baseline.changed == time(1))
        isNew = baseline.learn(entry, user: 0, capabilities: caps("chown"), at: time(2))
        #expect(!isNew)
        #expect(baseline.changed == time(1), "a repeat does not move `changed`")
        isNew = baseline.learn(entry, user: 1000, capabilities: caps("chown"), at: time(3))
        #expect(isNew)
        #expect(baseline.changed == time(3))
        isNew = baseline.learn(entry, user: 0, capabilities: caps("net_raw"), at: time(4))
        #expect(isNew)
        isNew = baseline.learn(entry, user: 1000, capabilities: .empty, at: time(5))
        #expect(!isNew, "a subset is nothing new")
        #expect(
            baseline.processes[entry]
                == ProcessEntry(users: [0, 1000], capabilities: caps("chown", "net_raw"), seen: 5))
        #expect(baseline.changed == time(4))

        // The same kind under another parent is a new entry.
        isNew = baseline.learn(key(Self.wget, parent: .outside), user: 0, capabilities: .empty, at: time(6))
        #expect(isNew)
        #expect(baseline.processes.count == 2)
        #expect(baseline.processes[key(Self.wget, parent: .outside)]?.seen == 1)
    }

    @Test("an entry that admits any user or capability stays so, and learns nothing new from sightings")
    func learnIntoWildcardEntry() {
        var baseline = Baseline(workload: Self.workload, created: referenceTime)
        let entry = key(Self.nginx, parent: .none)
        baseline.processes[entry] = ProcessEntry(users: nil, capabilities: nil, seen: 0)
        let isNew = baseline.learn(entry, user: 33, capabilities: .dockerDefault, at: time(1))
        #expect(!isNew)
        #expect(baseline.processes[entry] == ProcessEntry(users: nil, capabilities: nil, seen: 1))
        #expect(baseline.changed == referenceTime)
    }

    // MARK: observe

    @Test("observe raises the high-water marks and is true only when one rose")
    func observe() {
        var baseline = Baseline(workload: Self.workload, created: referenceTime)
        var rose = baseline.observe(pids: 5, forkRate: nil, at: time(1))
        #expect(rose)
        #expect(baseline.pidsHigh == 5 && baseline.forkRateHigh == 0)
        rose = baseline.observe(pids: 3, forkRate: 0, at: time(2))
        #expect(!rose)
        rose = baseline.observe(pids: 5, forkRate: nil, at: time(2))
        #expect(!rose)
        #expect(baseline.changed == time(1))
        rose = baseline.observe(pids: 4, forkRate: 9, at: time(3))
        #expect(rose)
        #expect(baseline.pidsHigh == 5 && baseline.forkRateHigh == 9)
        rose = baseline.observe(pids: nil, forkRate: nil, at: time(4))
        #expect(!rose)
        #expect(baseline.changed == time(3))
    }

    // MARK: merge

    static func nodeA() -> Baseline {
        var a = Baseline(workload: workload, created: time(100), node: "node-a")
        a.learned = 60_000_000_000
        a.changed = time(200)
        a.pidsHigh = 10
        a.forkRateHigh = 2
        a.processes[key(sh, parent: .none)] = ProcessEntry(users: [0], capabilities: caps("chown"), seen: 3)
        a.processes[key(wget, parent: .process(sh))] = ProcessEntry(users: [0], capabilities: .empty, seen: 1)
        a.processes[key(nginx, parent: .any)] = ProcessEntry(users: nil, capabilities: caps("setuid"), seen: 0)
        return a
    }

    static func nodeB() -> Baseline {
        var b = Baseline(workload: workload, created: time(50), node: "node-b")
        b.learned = 30_000_000_000
        b.changed = time(300)
        b.pidsHigh = 4
        b.forkRateHigh = 8
        b.processes[key(sh, parent: .none)] = ProcessEntry(users: [1000], capabilities: caps("net_raw"), seen: 2)
        b.processes[key(nginx, parent: .any)] = ProcessEntry(users: [101], capabilities: nil, seen: 5)
        b.processes[key(nginx, parent: .none)] = ProcessEntry(users: [101], capabilities: .empty, seen: 1)
        return b
    }

    @Test("merge is the union of entries, users and capabilities, with the higher marks and every node")
    func merge() {
        var merged = Self.nodeA()
        merged.merge(Self.nodeB())
        #expect(merged.processes.count == 4)
        #expect(
            merged.processes[key(Self.sh, parent: .none)]
                == ProcessEntry(users: [0, 1000], capabilities: caps("chown", "net_raw"), seen: 5))
        #expect(
            merged.processes[key(Self.wget, parent: .process(Self.sh))]
                == Self.nodeA().processes[key(Self.wget, parent: .process(Self.sh))])
        #expect(
            merged.processes[key(Self.nginx, parent: .none)] == Self.nodeB().processes[key(Self.nginx, parent: .none)])
        // Any (nil) wins over a list on either side.
        #expect(merged.processes[key(Self.nginx, parent: .any)] == ProcessEntry(users: nil, capabilities: nil, seen: 5))
        #expect(merged.pidsHigh == 10)
        #expect(merged.forkRateHigh == 8)
        #expect(merged.learned == 60_000_000_000)
        #expect(merged.created == time(50))
        #expect(merged.changed == time(300))
        #expect(merged.nodes == ["node-a", "node-b"])
        #expect(merged.workload == Self.workload)
    }

    @Test("merge is symmetric in what it learns")
    func mergeSymmetric() {
        var ab = Self.nodeA()
        ab.merge(Self.nodeB())
        var ba = Self.nodeB()
        ba.merge(Self.nodeA())
        #expect(ab == ba)
    }

    @Test("merging a baseline into itself learns nothing but doubles the counts")
    func mergeWithItself() {
        var merged = Self.nodeA()
        merged.merge(Self.nodeA())
        for (entryKey, entry) in Self.nodeA().processes {
            #expect(merged.processes[entryKey]?.users == entry.users)
            #expect(merged.processes[entryKey]?.capabilities == entry.capabilities)
            #expect(merged.processes[entryKey]?.seen == entry.seen * 2)
        }
    }

    @Test(
        "merge is locked only when both are, with the later lock time",
        arguments: [
            (Baseline.State.locked, Baseline.State.locked, Baseline.State.locked), (.locked, .learning, .learning),
            (.learning, .locked, .learning), (.learning, .learning, .learning),
        ])
    func mergeStates(mine: Baseline.State, theirs: Baseline.State, expected: Baseline.State) {
        var a = Self.nodeA()
        var b = Self.nodeB()
        a.state = mine
        a.lockedAt = mine == .locked ? time(1000) : nil
        b.state = theirs
        b.lockedAt = theirs == .locked ? time(2000) : nil
        a.merge(b)
        #expect(a.state == expected)
        #expect(a.lockedAt == (expected == .locked ? time(2000) : nil))
    }

    // MARK: lookup

    @Test("entry(for:) finds the exact entry first, then one with a `*` parent, else none")
    func entryLookup() throws {
        var baseline = Baseline(workload: Self.workload, created: referenceTime)
        let exact = key(Self.wget, parent: .process(Self.sh))
        let any = key(Self.wget, parent: .any)
        baseline.processes[any] = ProcessEntry(users: nil, capabilities: nil, seen: 0)
        let viaAny = try #require(baseline.entry(for: key(Self.wget, parent: .outside)))
        #expect(viaAny.key == any)

        baseline.processes[exact] = ProcessEntry(users: [0], capabilities: .empty, seen: 1)
        let found = try #require(baseline.entry(for: exact))
        #expect(found.key == exact)
        #expect(found.entry.users == [0])

        #expect(baseline.entry(for: key(Self.sh, parent: .none)) == nil)
        #expect(baseline.entry(for: key(kind("/bin/busybox", "wget2"), parent: .process(Self.sh))) == nil)
    }

    @Test(
        "closest prefers the same kind under another parent, then the same name, then the same parent, then the same program"
    )
    func closest() {
        var baseline = Baseline(workload: Self.workload, created: referenceTime)
        let unknown = key(Self.wget, parent: .process(Self.sh))
        let sameProgram = key(kind("/bin/busybox", "nc"), parent: .outside)
        let sameParent = key(kind("/usr/bin/curl"), parent: .process(Self.sh))
        let sameName = key(kind("/usr/bin/wget"), parent: .none)
        let sameKind = key(Self.wget, parent: .outside)
        let nothingShared = key(Self.nginx, parent: .none)

        #expect(baseline.closest(to: unknown) == nil)
        baseline.processes[nothingShared] = ProcessEntry(users: nil, capabilities: nil, seen: 1)
        #expect(baseline.closest(to: unknown) == nil, "an entry sharing nothing is not named")
        // Each entry added is nearer than all before it, so it becomes the answer.
        for nearer in [sameProgram, sameParent, sameName, sameKind] {
            baseline.processes[nearer] = ProcessEntry(users: nil, capabilities: nil, seen: 1)
            #expect(baseline.closest(to: unknown) == nearer)
        }
        // Adding weaker candidates afterwards does not displace the best.
        baseline.processes[key(kind("/usr/bin/wget"), parent: .process(Self.sh))] = ProcessEntry(
            users: nil, capabilities: nil, seen: 1)
        #expect(baseline.closest(to: unknown) == sameKind)
    }

    @Test("closest breaks ties by entry order, whatever order entries were added in")
    func closestTies() {
        let unknown = key(kind("/bin/busybox", "nc"), parent: .process(kind("/bin/busybox", "sh")))
        let first = key(kind("/bin/busybox", "ash"), parent: .none)
        let second = key(kind("/bin/busybox", "wget"), parent: .none)
        var forward = Baseline(workload: Self.workload, created: referenceTime)
        var backward = forward
        for entryKey in [first, second] {
            forward.processes[entryKey] = ProcessEntry(users: nil, capabilities: nil, seen: 1)
        }
        for entryKey in [second, first] {
            backward.processes[entryKey] = ProcessEntry(users: nil, capabilities: nil, seen: 1)
        }
        #expect(forward.closest(to: unknown) == first)
        #expect(backward.closest(to: unknown) == first)
    }

    @Test("a new baseline is learning, empty, and records the node it was made on")
    func newBaseline() {
        let baseline = Baseline(workload: Self.workload, created: referenceTime, node: "node-a")
        #expect(baseline.state == .learning)
        #expect(baseline.changed == referenceTime)
        #expect(baseline.nodes == ["node-a"])
        #expect(Baseline(workload: Self.workload, created: referenceTime).nodes.isEmpty)
    }
}
