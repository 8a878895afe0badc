import Glibc
import Testing
import VigilTestSupport
import VigilJSON

/// The `vigil` executable as users and scripts call it: help, exit statuses, messages, fixture replay.
/// Runs the binary `swift build` / `swift test` leave in `.build/debug`.
@Suite(.timeLimit(.minutes(2)))
struct CLITests {
    static func vigil(_ arguments: [String]) throws -> LiveGate.Output {
        LiveGate.run([try LiveGate.requireVigil()] + arguments, timeoutSeconds: 60)
    }

    @Test("--help exits 0 and lists the ps and record subcommands")
    func helpListsSubcommands() throws {
        let result = try Self.vigil(["--help"])
        #expect(result.status == 0, "\(result)")
        let lines = result.text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("  ps ") }, "no `ps` subcommand line in:\n\(result.text)")
        #expect(lines.contains { $0.hasPrefix("  record ") }, "no `record` subcommand line in:\n\(result.text)")
        #expect(result.stderr.isEmpty, "help writes nothing to stderr: \(result.errorText)")
    }

    @Test("ps --help exits 0 and documents the node options and --json", arguments: ["ps", "record"])
    func subcommandHelpDocumentsOptions(_ subcommand: String) throws {
        let result = try Self.vigil([subcommand, "--help"])
        #expect(result.status == 0, "\(result)")
        for option in ["--host-root", "--proc-root", "--cgroup-root", subcommand == "ps" ? "--json" : "--out"] {
            #expect(result.text.contains(option), "\(subcommand) --help does not mention \(option)")
        }
    }

    @Test("vigil ps with a --host-root, --proc-root or --cgroup-root of /nonexistent exits 2 naming the path",
          arguments: ["--host-root", "--proc-root", "--cgroup-root"])
    func missingRootExitsTwo(_ option: String) throws {
        let path = "/nonexistent"
        try #require(access(path, F_OK) != 0, "\(path) exists on this machine")
        let result = try Self.vigil(["ps", option, path])
        #expect(result.status == 2, "\(result)")
        #expect(result.errorText.contains(path), "the message does not name \(path): \(result.errorText)")
        #expect(result.errorText.contains(option), "the message does not name \(option): \(result.errorText)")
        #expect(result.stdout.isEmpty, "nothing on stdout: \(result.text)")
    }

    @Test("a --host-root that is a file, not a directory, exits 2 naming the path")
    func hostRootThatIsAFileExitsTwo() throws {
        let directory = try LiveGate.makeTemporaryDirectory("cli-test")
        defer { LiveGate.removeTree(directory) }
        try LiveGate.writeFile(directory, "plain-file", "x\n")
        let path = directory + "/plain-file"
        let result = try Self.vigil(["ps", "--host-root", path])
        #expect(result.status != 0, "\(result)")
        #expect(result.errorText.contains(path), "the message does not name \(path): \(result.errorText)")
        #expect(result.status == 2, "\(result)")
    }

    @Test("a --cgroup-root that is a directory but not a cgroup tree exits 2 and says why")
    func notACgroupTreeExitsTwo() throws {
        let result = try Self.vigil(["ps", "--cgroup-root", "/proc"])
        #expect(result.status == 2, "\(result)")
        #expect(result.errorText.contains("/proc is not a cgroup tree"), "\(result.errorText)")
    }

    @Test("an unknown flag or subcommand exits 2 and names it",
          arguments: [["ps", "--no-such-flag"], ["--no-such-flag"], ["no-such-command"], ["ps", "--json", "--jsn"]])
    func unknownArgumentExitsTwo(_ arguments: [String]) throws {
        let result = try Self.vigil(arguments)
        #expect(result.status == 2, "\(arguments): \(result)")
        #expect(result.errorText.contains(arguments.last!), "the message does not name \(arguments.last!): \(result.errorText)")
        #expect(result.stdout.isEmpty, "nothing on stdout: \(result.text)")
    }

    @Test("record without --out, or into a directory that is not empty, exits 2 naming the problem")
    func recordBadUsageExitsTwo() throws {
        let missing = try Self.vigil(["record"])
        #expect(missing.status == 2, "\(missing)")
        #expect(missing.errorText.contains("--out"), "\(missing.errorText)")

        let directory = try LiveGate.makeTemporaryDirectory("cli-test")
        defer { LiveGate.removeTree(directory) }
        try LiveGate.writeFile(directory, "already-here", "x\n")
        let occupied = try Self.vigil(["record", "--out", directory])
        #expect(occupied.status == 2, "\(occupied)")
        #expect(occupied.errorText.contains(directory), "the message does not name \(directory): \(occupied.errorText)")
        #expect(LiveGate.listDirectory(directory) == ["already-here"], "record left the occupied directory alone")
    }

    @Test("a host root without a cgroup tree fails with a message naming the missing directory")
    func hostRootWithoutCgroupsFails() throws {
        let directory = try LiveGate.makeTemporaryDirectory("cli-test")
        defer { LiveGate.removeTree(directory) }
        let result = try Self.vigil(["ps", "--json", "--host-root", directory])
        #expect(result.status != 0, "\(result)")
        #expect(result.errorText.contains(directory + "/sys/fs/cgroup"), "\(result.errorText)")
        #expect(result.stdout.isEmpty, "no partial JSON on stdout: \(result.text)")
    }

    // MARK: Fixtures

    /// The fixture directories under Fixtures/ (each a host root laid out like a node).
    static let fixtures: [String] = {
        guard let root = LiveGate.packageRoot else { return [] }
        return LiveGate.listDirectory(root + "/Fixtures").filter { name in
            access(root + "/Fixtures/" + name + "/expected-ps.json", F_OK) == 0
        }.sorted()
    }()

    @Test("the Fixtures directory holds at least one fixture to replay")
    func fixturesExist() {
        #expect(!Self.fixtures.isEmpty, "no Fixtures/*/expected-ps.json under \(LiveGate.packageRoot ?? "?")")
    }

    @Test("vigil ps --json --host-root FIXTURE exits 0 with contract-shaped JSON equal to expected-ps.json",
          arguments: fixtures)
    func fixtureReplaysAsJSON(_ fixture: String) throws {
        let directory = try #require(LiveGate.packageRoot) + "/Fixtures/" + fixture
        let result = try Self.vigil(["ps", "--json", "--host-root", directory])
        #expect(result.status == 0, "\(result)")
        let document = try JSONParser.parse(result.stdout)
        InventoryJSONContract.check(document, label: fixture)

        let expectedBytes = try #require(LiveGate.readFile(directory + "/expected-ps.json"))
        let expected = try JSONParser.parse(expectedBytes)
        let a = JSONComparison.removing("time", from: expected)
        let b = JSONComparison.removing("time", from: document)
        #expect(a == b, "\(fixture): replay differs from expected-ps.json: \(JSONComparison.firstDifference(a, b) ?? "?")")
        if let hostname = LiveGate.readText(directory + "/etc/hostname")?.split(separator: "\n").first {
            #expect(document["hostname"]?.string == String(hostname), "the fixture's own host name")
        }
    }

    @Test("vigil ps --host-root FIXTURE prints a text inventory naming every container", arguments: fixtures)
    func fixtureReplaysAsText(_ fixture: String) throws {
        let directory = try #require(LiveGate.packageRoot) + "/Fixtures/" + fixture
        let result = try Self.vigil(["ps", "--host-root", directory])
        #expect(result.status == 0, "\(result)")
        let expected = try JSONParser.parse(try #require(LiveGate.readFile(directory + "/expected-ps.json")))
        let containers = try #require(expected["containers"]?.array)
        #expect(result.text.hasPrefix("\(expected["hostname"]?.string ?? "?"): \(containers.count) container"))
        for container in containers {
            let short = container["short_id"]?.string ?? "?"
            #expect(result.text.contains("  \(short)  "), "\(fixture): container \(short) not in the text")
        }
    }
}

/// The shape of the inventory JSON (`vigil ps --json`) as DESIGN.md's "Inventory JSON" contract states it.
enum InventoryJSONContract {
    static let runtimes: Set<String> = ["docker", "containerd", "cri-o", "podman", "lxc", "systemd-nspawn"]
    static let capabilitySets = ["effective", "permitted", "bounding", "inheritable", "ambient"]

    /// Records an issue for every way `document` departs from the contract.
    static func check(_ document: JSONValue, label: String) {
        func fail(_ message: String) { Issue.record("\(label): \(message)") }
        func isStringOrNull(_ value: JSONValue?) -> Bool { value?.string != nil || value?.isNull == true }
        func isCountOrNull(_ value: JSONValue?) -> Bool { (value?.int ?? -1) >= 0 || value?.isNull == true }

        guard document.members != nil else { return fail("not an object") }
        if document["hostname"]?.string?.isEmpty != false { fail("hostname missing or empty") }
        if let time = document["time"]?.string {
            // RFC 3339, UTC: 2026-11-30T02:21:33.009788105Z
            let bytes = Array(time.utf8)
            let shapeOK = bytes.count >= 20 && bytes[4] == 0x2D && bytes[7] == 0x2D && bytes[10] == 0x54
                && bytes[13] == 0x3A && bytes[16] == 0x3A && bytes.last == 0x5A
            if !shapeOK { fail("time \(time) is not RFC 3339 UTC") }
        } else {
            fail("time missing")
        }
        if !["unified", "hybrid", "legacy"].contains(document["cgroup_mode"]?.string ?? "") {
            fail("cgroup_mode \(String(describing: document["cgroup_mode"]))")
        }
        guard let containers = document["containers"]?.array else { return fail("containers is not an array") }
        for container in containers {
            let id = container["id"]?.string ?? ""
            let where_ = "container \(id.prefix(12))"
            if id.isEmpty { fail("a container without id") }
            if container["short_id"]?.string != String(id.prefix(12)) { fail("\(where_): short_id") }
            if !runtimes.contains(container["runtime"]?.string ?? "") { fail("\(where_): runtime") }
            if !isStringOrNull(container["name"]) { fail("\(where_): name") }
            if !isStringOrNull(container["image"]) { fail("\(where_): image") }
            if container["cgroup"]?.string?.hasPrefix("/") != true { fail("\(where_): cgroup") }
            if let k8s = container["k8s"], !k8s.isNull {
                for key in ["namespace", "pod", "pod_uid", "container"] where !isStringOrNull(k8s[key]) {
                    fail("\(where_): k8s.\(key)")
                }
            } else if container["k8s"] == nil {
                fail("\(where_): k8s missing (null when not Kubernetes)")
            }
            if container["workload"]?.string?.isEmpty != false { fail("\(where_): workload") }
            guard let pids = container["pids"], pids.members != nil else {
                fail("\(where_): pids")
                continue
            }
            for key in ["current", "max", "events_max"] where !isCountOrNull(pids[key]) { fail("\(where_): pids.\(key)") }
            guard let processes = container["processes"]?.array else {
                fail("\(where_): processes")
                continue
            }
            for process in processes {
                let pid = process["pid"]?.int ?? -1
                let here = "\(where_) pid \(pid)"
                if pid <= 0 { fail("\(here): pid") }
                for key in ["ppid", "start_time", "uid", "euid", "gid"] where (process[key]?.int ?? -1) < 0 {
                    fail("\(here): \(key)")
                }
                if process["name"]?.string == nil { fail("\(here): name") }
                if !isStringOrNull(process["exe"]) { fail("\(here): exe") }
                if process["cmdline"]?.array?.allSatisfy({ $0.string != nil }) != true { fail("\(here): cmdline") }
                for set in capabilitySets {
                    guard let names = process["caps"]?[set]?.array,
                        names.allSatisfy({ $0.string?.hasPrefix("CAP_") == true })
                    else {
                        fail("\(here): caps.\(set)")
                        continue
                    }
                }
                if process["no_new_privs"]?.bool == nil { fail("\(here): no_new_privs") }
                if !["disabled", "strict", "filter"].contains(process["seccomp"]?.string ?? "") { fail("\(here): seccomp") }
            }
        }
    }
}
