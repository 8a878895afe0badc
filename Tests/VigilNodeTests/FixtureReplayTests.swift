import Glibc
import Testing
import VigilJSON
import VigilKernel
import VigilNode

/// Replays every node fixture in `Fixtures/` (see Fixtures/README.md) through the inventory and compares the
/// JSON of `vigil ps --json` with the fixture's `expected-ps.json` (and, with host processes, with
/// `expected-ps-all.json` where there is one). A new fixture directory is picked up without code changes.
///
/// Everything is compared except `time`.
@Suite("Fixture replay")
struct FixtureReplayTests {
    @Test("Fixtures/ holds at least eight replayable fixtures")
    func fixturesArePresent() {
        let names = FixtureTree.fixtures(having: FixtureTree.expectedFile)
        #expect(
            names.count >= 8,
            "found \(names.count) fixtures with \(FixtureTree.expectedFile) in \(FixtureTree.root): \(names)")
    }

    @Test(
        "vigil ps --json on a fixture gives its expected-ps.json",
        arguments: FixtureTree.fixtures(having: FixtureTree.expectedFile))
    func inventoryMatchesExpected(fixture: String) throws {
        try compare(fixture, expectedFile: FixtureTree.expectedFile, includeHost: false)
    }

    @Test(
        "vigil ps --json --all on a fixture gives its expected-ps-all.json",
        arguments: FixtureTree.fixtures(having: FixtureTree.expectedAllFile))
    func inventoryWithHostMatchesExpected(fixture: String) throws {
        try compare(fixture, expectedFile: FixtureTree.expectedAllFile, includeHost: true)
    }

    @Test(
        "Every expected file has the members DESIGN.md's inventory contract names",
        arguments: FixtureTree.fixtures(having: FixtureTree.expectedFile))
    func expectedFileFollowsTheContract(fixture: String) throws {
        let expected = try FixtureTree.parse(fixture, FixtureTree.expectedFile)
        let problems = InventoryContract.problems(in: expected)
        #expect(problems.isEmpty, "\(fixture)/\(FixtureTree.expectedFile): \(problems.prefix(5))")
    }

    /// The text form summarises capability sets against the runtime's default: CRI-O's own default set
    /// (0x5fb) reads "cri-o default", not as Docker's default minus five.
    @Test("CRI-O containers with CRI-O's default capabilities read as \"cri-o default\"")
    func crioDefaultCapabilities() throws {
        let inventory = try FixtureTree.inventory("crio-v2")
        let cart = try #require(inventory.containers.first { $0.name == "cart" }, "crio-v2 has a container named cart")
        #expect(cart.runtime == .crio)
        #expect(!cart.processes.isEmpty)
        for process in cart.processes {
            let summary = CapabilitySummary.describe(
                process.status.capabilities.effective, runtime: cart.runtime, lastCapability: inventory.lastCapability)
            #expect(summary == "cri-o default", "pid \(process.pid) (\(process.comm))")
        }
        let dns = try #require(inventory.containers.first { $0.name == "node-cache" })
        let added = try #require(dns.processes.first)
        #expect(
            CapabilitySummary.describe(added.status.capabilities.effective, runtime: .crio, lastCapability: 40)
                == "default +NET_ADMIN")
    }

    @Test("A near-privileged Docker container reads as all capabilities but the one it lacks")
    func nearPrivilegedSummary() throws {
        let inventory = try FixtureTree.inventory("docker-systemd-v2")
        let netdebug = try #require(inventory.containers.first { $0.name == "netdebug" })
        for process in netdebug.processes {
            let summary = CapabilitySummary.describe(
                process.status.capabilities.effective, runtime: .docker, lastCapability: inventory.lastCapability)
            #expect(summary == "all -SYS_RESOURCE", "pid \(process.pid) (\(process.comm))")
        }
    }

    // MARK: Comparing

    private func compare(_ fixture: String, expectedFile: String, includeHost: Bool) throws {
        let directory = FixtureTree.root + "/" + fixture
        let expected = try FixtureTree.parse(fixture, expectedFile)
        let inventory = try InventoryCollector.collect(paths: NodePaths(hostRoot: directory), includeHost: includeHost)
        let actual = try JSONParser.parse(inventory.json())
        let normalizedActual = JSONDifference.removing("time", from: actual)
        let normalizedExpected = JSONDifference.removing("time", from: expected)
        let difference = JSONDifference.first(expected: normalizedExpected, actual: normalizedActual)
        #expect(difference == nil, "\(fixture)/\(expectedFile) differs: \(difference ?? "")")
    }
}

// MARK: - The fixture tree

/// Where the fixtures are (found from this source file, up to the package root: no bundle resources) and
/// which of them have expected output.
private enum FixtureTree {
    static let expectedFile = "expected-ps.json"
    static let expectedAllFile = "expected-ps-all.json"

    static let root: String = {
        var path = String(#filePath)
        while let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            path = String(path[..<slash])
            if access(path + "/Package.swift", F_OK) == 0 { return path + "/Fixtures" }
        }
        return "/nonexistent: no Package.swift above \(#filePath)"
    }()

    /// Names of the fixture directories that contain `file`, sorted.
    static func fixtures(having file: String) -> [String] {
        guard let directory = opendir(root) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name.hasPrefix(".") { continue }
            if access(root + "/" + name + "/" + file, R_OK) == 0 { names.append(name) }
        }
        return names.sorted()
    }

    static func parse(_ fixture: String, _ file: String) throws -> JSONValue {
        let path = root + "/" + fixture + "/" + file
        let bytes = try #require(readWholeFile(path), "cannot read \(path)")
        return try JSONParser.parse(bytes)
    }

    static func inventory(_ fixture: String) throws -> Inventory {
        try InventoryCollector.collect(paths: NodePaths(hostRoot: root + "/" + fixture))
    }

    /// A whole file, read with plain system calls (not the code under test).
    private static func readWholeFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { return result }
            result.append(contentsOf: chunk[0..<count])
        }
    }
}

// MARK: - Differences between two documents

/// Finds where two JSON documents first differ and says so in a line a person can act on:
/// `$.containers[id=0b743708aaa7].processes[pid=1245].cmdline[0]: expected "nginx", found "sh"`.
private enum JSONDifference {
    /// The document without the top-level member `key`.
    static func removing(_ key: String, from value: JSONValue) -> JSONValue {
        guard let members = value.members else { return value }
        return .object(members.filter { $0.0 != key })
    }

    /// The first difference, or nil when the documents are equal (object member order aside).
    static func first(expected: JSONValue, actual: JSONValue, path: String = "$") -> String? {
        if expected == actual { return nil }
        switch (expected, actual) {
        case (.object(let x), .object(let y)):
            for (key, value) in x {
                guard let other = actual[key] else { return "\(path).\(key): expected \(brief(value)), missing" }
                if let difference = first(expected: value, actual: other, path: "\(path).\(key)") { return difference }
            }
            for (key, value) in y where expected[key] == nil {
                return "\(path).\(key): not expected, found \(brief(value))"
            }
        case (.array(let x), .array(let y)):
            // Containers, processes and host groups are named by their identity, not their index.
            let identity = identityKey(x + y)
            if let identity {
                let xs = x.map { label($0, identity) }
                let ys = y.map { label($0, identity) }
                if xs != ys {
                    let missing = xs.filter { !ys.contains($0) }
                    let extra = ys.filter { !xs.contains($0) }
                    if missing.isEmpty && extra.isEmpty && xs.count == ys.count {
                        return "\(path): the same \(identity)s in another order: expected \(xs), found \(ys)"
                    }
                    return "\(path): \(identity)s differ: expected \(xs), found \(ys)"
                        + (missing.isEmpty ? "" : "; missing \(missing)") + (extra.isEmpty ? "" : "; extra \(extra)")
                }
            }
            for (index, (left, right)) in zip(x, y).enumerated() {
                let element = identity.map { "[\($0)=\(label(left, $0))]" } ?? "[\(index)]"
                if let difference = first(expected: left, actual: right, path: path + element) { return difference }
            }
            if x.count != y.count {
                return "\(path): expected \(x.count) elements, found \(y.count): \(brief(actual))"
            }
        default:
            break
        }
        return "\(path): expected \(brief(expected)), found \(brief(actual))"
    }

    private static func identityKey(_ elements: [JSONValue]) -> String? {
        guard !elements.isEmpty else { return nil }
        for key in ["id", "pid", "cgroup"] where elements.allSatisfy({ $0[key] != nil }) {
            return key
        }
        return nil
    }

    private static func label(_ value: JSONValue, _ key: String) -> String {
        guard let member = value[key] else { return "?" }
        if let string = member.string { return key == "id" ? String(string.prefix(12)) : string }
        if let int = member.int { return String(int) }
        return brief(member)
    }

    /// The value as compact JSON, cut to a readable length.
    private static func brief(_ value: JSONValue) -> String {
        var writer = JSONWriter(indent: 0)
        writer.value(value)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        return text.count > 240 ? String(text.prefix(240)) + "…" : text
    }
}

// MARK: - The inventory contract

/// The members DESIGN.md's "Inventory JSON" contract requires, checked on an expected file, so a fixture's
/// expectations cannot drift from the contract unnoticed.
private enum InventoryContract {
    static let runtimes: Set<String> = ["docker", "containerd", "cri-o", "podman", "lxc", "systemd-nspawn"]

    static func problems(in document: JSONValue) -> [String] {
        var problems: [String] = []
        func require(_ value: JSONValue?, _ path: String, _ check: (JSONValue) -> Bool, _ what: String) {
            guard let value else { return problems.append("\(path): missing") }
            if !check(value) { problems.append("\(path): not \(what)") }
        }
        let isString: (JSONValue) -> Bool = { $0.string != nil }
        let isStringOrNull: (JSONValue) -> Bool = { $0.string != nil || $0.isNull }
        let isInt: (JSONValue) -> Bool = { $0.int != nil }
        let isIntOrNull: (JSONValue) -> Bool = { $0.int != nil || $0.isNull }
        let isStrings: (JSONValue) -> Bool = { $0.array?.allSatisfy { $0.string != nil } ?? false }

        require(document["hostname"], "$.hostname", isString, "a string")
        require(document["time"], "$.time", isString, "a string")
        require(
            document["cgroup_mode"], "$.cgroup_mode", { ["unified", "hybrid", "legacy"].contains($0.string ?? "") },
            "unified, hybrid or legacy")
        guard let containers = document["containers"]?.array else {
            problems.append("$.containers: not an array")
            return problems
        }
        for (index, container) in containers.enumerated() {
            let at = "$.containers[\(index)]"
            require(container["id"], at + ".id", isString, "a string")
            let id = container["id"]?.string ?? ""
            require(
                container["short_id"], at + ".short_id", { $0.string == String(id.prefix(12)) }, "the id's first 12")
            require(container["runtime"], at + ".runtime", { runtimes.contains($0.string ?? "") }, "a known runtime")
            require(container["name"], at + ".name", isStringOrNull, "a string or null")
            require(container["image"], at + ".image", isStringOrNull, "a string or null")
            require(container["cgroup"], at + ".cgroup", { $0.string?.hasPrefix("/") ?? false }, "an absolute path")
            require(container["workload"], at + ".workload", isString, "a string")
            require(
                container["k8s"], at + ".k8s",
                { value in
                    value.isNull
                        || ["namespace", "pod", "pod_uid", "container"].allSatisfy {
                            value[$0].map(isStringOrNull) ?? false
                        }
                }, "null or {namespace, pod, pod_uid, container}")
            require(
                container["pids"], at + ".pids",
                { pids in
                    (pids["current"].map(isIntOrNull) ?? false) && (pids["max"].map(isIntOrNull) ?? false)
                        && (pids["events_max"].map(isIntOrNull) ?? false)
                }, "{current, max, events_max}")
            guard let processes = container["processes"]?.array, !processes.isEmpty else {
                problems.append(at + ".processes: not a non-empty array")
                continue
            }
            for (number, process) in processes.enumerated() {
                let p = at + ".processes[\(number)]"
                for key in ["pid", "ppid", "start_time", "uid", "euid", "gid"] {
                    require(process[key], p + "." + key, isInt, "an integer")
                }
                require(process["name"], p + ".name", isString, "a string")
                require(process["exe"], p + ".exe", isStringOrNull, "a string or null")
                require(process["cmdline"], p + ".cmdline", isStrings, "an array of strings")
                require(
                    process["caps"], p + ".caps",
                    { caps in
                        ["effective", "permitted", "bounding", "inheritable", "ambient"].allSatisfy {
                            guard let names = caps[$0]?.array else { return false }
                            return names.allSatisfy { $0.string?.hasPrefix("CAP_") ?? false }
                        }
                    }, "five arrays of CAP_ names")
                require(process["no_new_privs"], p + ".no_new_privs", { $0.bool != nil }, "a boolean")
                require(
                    process["seccomp"], p + ".seccomp", { ["disabled", "strict", "filter"].contains($0.string ?? "") },
                    "disabled, strict or filter")
            }
        }
        return problems
    }
}
