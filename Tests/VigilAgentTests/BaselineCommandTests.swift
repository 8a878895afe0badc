import Glibc
import Testing
import VigilTestSupport
import VigilBaseline
import VigilKernel
import VigilNode

/// `vigil baseline list|show|diff|lock|unlock|allow|forget|merge` run as a user runs them, on baseline
/// files in a scratch directory.
@Suite("vigil baseline: review and change baselines from the command line")
struct BaselineCommandTests {
    static let web = """
        format 1
        workload compose:shop/web
        state learning
        learned 10m
        created 2026-11-30T05:00:00Z
        changed 2026-11-30T05:09:00Z
        pids-high 6
        fork-rate-high 3
        node node-a
        process /bin/busybox[sh] parent=- users=0 caps=chown,kill seen=1
        process /bin/busybox[wget] parent=/bin/busybox[sh] users=0 caps=chown seen=40
        process /bin/busybox[sleep] parent=/bin/busybox[sh] users=0 caps=- seen=40

        """

    static let webOtherNode = """
        format 1
        workload compose:shop/web
        state locked
        learned 1h
        created 2026-11-29T05:00:00Z
        changed 2026-11-29T06:00:00Z
        locked 2026-11-29T06:00:00Z
        pids-high 9
        fork-rate-high 2
        node node-b
        process /bin/busybox[sh] parent=- users=0 caps=chown,net_raw seen=1
        process /bin/busybox[wget] parent=/bin/busybox[sh] users=0,1000 caps=chown seen=90
        process /usr/sbin/crond parent=/bin/busybox[sh] users=0 caps=* seen=2

        """

    final class Directory {
        let scratch: ScratchDirectory
        let baselines: String
        init(_ label: String) throws {
            scratch = try ScratchDirectory("cli-\(label)")
            baselines = scratch.path + "/baselines"
            try LiveGate.makeDirectories(scratch.path, "baselines")
        }
        deinit { scratch.remove() }

        var store: BaselineStore { BaselineStore(directory: baselines) }

        @discardableResult
        func install(_ text: String) throws -> String {
            let baseline = try BaselineFile.decode(text, file: "test")
            let path = store.path(for: baseline.workload)
            try LiveGate.writeFile(baselines, BaselineStore.fileName(for: baseline.workload), text)
            return path
        }

        func vigil(_ arguments: [String]) throws -> LiveGate.Output {
            LiveGate.run([try LiveGate.requireVigil(), "baseline"] + arguments + ["--baseline-dir", baselines])
        }

        func load(_ key: String) throws -> Baseline {
            try #require(try store.load(WorkloadKey(rawValue: key)))
        }
    }

    @Test("list shows each workload with its state, kinds and time learned; an empty directory says how baselines come about")
    func list() throws {
        let directory = try Directory("list")
        let empty = try directory.vigil(["list"])
        #expect(empty.status == 0 && empty.text.contains("No baselines"), "\(empty)")
        try directory.install(Self.web)
        try directory.install(Self.webOtherNode.replacingAll("compose:shop/web", with: "image:nginx:1.27"))
        let listed = try directory.vigil(["list"])
        #expect(listed.status == 0, "\(listed)")
        let rows = listed.text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.first == ["WORKLOAD", "STATE", "KINDS", "LEARNED", "CHANGED"])
        #expect(rows.contains { $0.prefix(4) == ["compose:shop/web", "learning", "3", "10m"] }, "\(listed.text)")
        #expect(rows.contains { $0.prefix(4) == ["image:nginx:1.27", "locked", "3", "1h"] }, "\(listed.text)")
    }

    @Test("show prints every kind with its parent, users and capabilities; --raw prints the file")
    func show() throws {
        let directory = try Directory("show")
        try directory.install(Self.web)
        let shown = try directory.vigil(["show", "compose:shop/web"])
        #expect(shown.status == 0, "\(shown)")
        #expect(shown.text.contains("State:     learning"))
        #expect(shown.text.contains("6 PIDs, 3 forks/s"))
        let wget = shown.text.split(separator: "\n").first { $0.hasPrefix("/bin/busybox[wget]") }.map(String.init) ?? ""
        #expect(wget.split(separator: " ", omittingEmptySubsequences: true) == ["/bin/busybox[wget]", "/bin/busybox[sh]", "0", "chown", "40"], "\(wget)")
        let raw = try directory.vigil(["show", "--raw", "compose:shop/web"])
        #expect(try BaselineFile.decode(raw.text, file: "raw") == directory.load("compose:shop/web"))
        let missing = try directory.vigil(["show", "image:nothing:1"])
        #expect(missing.status == 2 && missing.errorText.contains("no baseline for 'image:nothing:1'"), "\(missing)")
    }

    @Test("lock and unlock change the state on disk; unlock relearns for a whole window, keeping the kinds")
    func lockUnlock() throws {
        let directory = try Directory("lock")
        try directory.install(Self.web)
        let locked = try directory.vigil(["lock", "compose:shop/web"])
        #expect(locked.status == 0 && locked.text.contains("locked (3 process kinds)"), "\(locked)")
        let afterLock = try directory.load("compose:shop/web")
        #expect(afterLock.state == .locked && afterLock.lockedAt != nil)
        #expect(try directory.vigil(["lock", "--all"]).text.contains("already locked"))
        let unlocked = try directory.vigil(["unlock", "compose:shop/web"])
        #expect(unlocked.status == 0, "\(unlocked)")
        let afterUnlock = try directory.load("compose:shop/web")
        #expect(afterUnlock.state == .learning && afterUnlock.learned == 0 && afterUnlock.processes.count == 3)
        let unknown = try directory.vigil(["lock", "image:nothing:1"])
        #expect(unknown.status == 2, "\(unknown)")
        let neither = try directory.vigil(["lock"])
        #expect(neither.status == 2, "\(neither)")
    }

    @Test("allow adds a kind without relearning: any parent, user and capability unless narrowed; again, users add up")
    func allow() throws {
        let directory = try Directory("allow")
        try directory.install(Self.web)
        #expect(try directory.vigil(["allow", "compose:shop/web", "/bin/busybox[cat]"]).status == 0)
        #expect(
            try directory.vigil(["allow", "compose:shop/web", "/usr/bin/curl", "--parent", "outside", "--user", "1000", "--cap", "net_raw"]).status == 0)
        #expect(try directory.vigil(["allow", "compose:shop/web", "/usr/bin/curl", "--parent", "outside", "--user", "0"]).status == 0)
        let baseline = try directory.load("compose:shop/web")
        let cat = try #require(baseline.processes[ProcessEntryKey(kind: ProcessKind(executable: "/bin/busybox", name: "cat"), parent: .any)])
        #expect(cat.users == nil && cat.capabilities == nil)
        let curl = try #require(baseline.processes[ProcessEntryKey(kind: ProcessKind(parsing: "/usr/bin/curl")!, parent: .outside)])
        #expect(curl.users == [0, 1000])
        #expect(curl.capabilities == nil, "a second allow without --cap widens to any capability")
        let bad = try directory.vigil(["allow", "compose:shop/web", "cat"])
        #expect(bad.status == 2 && bad.errorText.contains("not a process kind"), "\(bad)")
        let badCap = try directory.vigil(["allow", "compose:shop/web", "/bin/ls", "--cap", "fly"])
        #expect(badCap.status == 2, "\(badCap)")
    }

    @Test("forget deletes the file; forgetting what is not there is an error")
    func forget() throws {
        let directory = try Directory("forget")
        let path = try directory.install(Self.web)
        #expect(try directory.vigil(["forget", "compose:shop/web"]).status == 0)
        #expect(access(path, F_OK) != 0)
        #expect(try directory.vigil(["forget", "compose:shop/web"]).status == 2)
    }

    @Test("merge gives the union of two nodes' baselines of one workload; learning unless both are locked; refuses two workloads")
    func merge() throws {
        let directory = try Directory("merge")
        let a = try directory.scratch.write("a.baseline", Self.web)
        let b = try directory.scratch.write("b.baseline", Self.webOtherNode)
        let merged = try directory.vigil(["merge", a, b])
        #expect(merged.status == 0, "\(merged)")
        let union = try BaselineFile.decode(merged.text, file: "merged")
        #expect(union.processes.count == 4)
        #expect(union.pidsHigh == 9 && union.forkRateHigh == 3)
        #expect(union.nodes == ["node-a", "node-b"])
        #expect(union.state == .learning)
        let wget = try #require(union.processes.first { $0.key.kind.name == "wget" }?.value)
        #expect(wget.users == [0, 1000] && wget.seen == 130)
        let sh = try #require(union.processes.first { $0.key.kind.name == "sh" }?.value)
        #expect(sh.capabilities.map(BaselineFile.formatCapabilities) == "chown,kill,net_raw")
        let crond = try #require(union.processes.first { $0.key.kind.name == "crond" }?.value)
        #expect(crond.capabilities == nil, "`*` stays any")

        #expect(try directory.vigil(["merge", a, b, "--save"]).status == 0)
        #expect(try directory.load("compose:shop/web") == union)
        let out = directory.scratch.path + "/out.baseline"
        #expect(try directory.vigil(["merge", a, b, "--out", out]).status == 0)
        #expect(try BaselineStore.load(file: out) == union)

        let other = try directory.scratch.write("c.baseline", Self.web.replacingAll("compose:shop/web", with: "image:other:1"))
        let mismatch = try directory.vigil(["merge", a, other])
        #expect(mismatch.status == 2 && mismatch.errorText.contains("merge one workload at a time"), "\(mismatch)")
        let broken = try directory.scratch.write("d.baseline", "format 1\nworkload x\nstate maybe\n")
        let refused = try directory.vigil(["merge", a, broken])
        #expect(refused.status == 2 && refused.errorText.contains("\(broken):3:"), "\(refused)")
    }

    @Test("diff of two files marks kinds only in one with - and +, changed users and capabilities with ~; --exit-code exits 3")
    func diffFiles() throws {
        let directory = try Directory("diff")
        let a = try directory.scratch.write("a.baseline", Self.web)
        let b = try directory.scratch.write("b.baseline", Self.webOtherNode)
        let result = try directory.vigil(["diff", a, b])
        #expect(result.status == 0, "\(result)")
        let lines = result.text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("- process /bin/busybox[sleep] parent=/bin/busybox[sh]") }, "\(result.text)")
        #expect(lines.contains { $0.hasPrefix("+ process /usr/sbin/crond parent=/bin/busybox[sh]") }, "\(result.text)")
        #expect(lines.contains { $0.hasPrefix("~ process /bin/busybox[wget] (parent /bin/busybox[sh]): users 0 → 0,1000") }, "\(result.text)")
        #expect(lines.contains("~ pids-high 6 → 9"), "\(result.text)")
        #expect(try directory.vigil(["diff", "--exit-code", a, b]).status == 3)
        let same = try directory.vigil(["diff", "--exit-code", a, a])
        #expect(same.status == 0 && same.text.contains("(no differences)"), "\(same)")
    }

    @Test("diff against the node: processes running now that the baseline would not admit", LiveGate.needsDocker)
    func diffAgainstNode() throws {
        try LiveGate.require(LiveGate.dockerAvailable, "a Docker daemon with the image \(LiveGate.testImage)")
        let directory = try Directory("diff-node")
        let containers = TestContainers(test: "baseline-diff")
        defer { containers.removeAll() }
        let project = "vigildiff\(getpid())"
        let id = try containers.run(
            "web", options: ["--label", "com.docker.compose.project=\(project)", "--label", "com.docker.compose.service=web"],
            ["sleep", "300"])
        try directory.install(
            "format 1\nworkload compose:\(project)/web\nstate locked\nprocess /bin/busybox[sleep] parent=- users=0 caps=*\n")
        let clean = try directory.vigil(["diff", "--exit-code", "compose:\(project)/web"])
        #expect(clean.status == 0 && clean.text.contains("(no differences)"), "\(clean)")
        #expect(containers.docker(["exec", "-d", "-u", "1000", id, "sleep", "100"]).status == 0)
        let found = LiveGate.waitUntil(seconds: 10) {
            ((try? directory.vigil(["diff", "compose:\(project)/web"]))?.text ?? "").contains("+ process /bin/busybox[sleep] parent=outside users=1000")
        }
        let result = try directory.vigil(["diff", "--exit-code", "compose:\(project)/web"])
        #expect(found && result.status == 3, "\(result)")
    }
}
