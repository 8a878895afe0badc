import Glibc
import Testing
import VigilTestSupport
import VigilJSON

/// Starts Docker containers for one test and removes exactly those, by id, when the test ends
/// (`defer { docker.removeAll() }`), whether it passed or not.
final class DockerHarness {
    /// What `docker inspect` says about a running container: the truth Vigil is checked against.
    struct Running {
        var id: String
        /// Without Docker's leading `/`.
        var name: String
        /// `Config.Image`, as given to `docker run`.
        var image: String
        /// `State.Pid`: the container's first process, as the host sees it.
        var pid: Int32
        /// `HostConfig.PidsLimit`; nil when unlimited (null, 0 or negative).
        var pidsLimit: UInt64?
        var inspect: JSONValue
    }

    let client = LiveGate.dockerClient
    let image = LiveGate.testImage
    /// Unique to this test process and test, so parallel runs and other users' containers never clash.
    let namePrefix: String
    private var ids: [String] = []
    private var names: [String] = []

    init(test label: String) {
        namePrefix = "vigil-test-\(getpid())-\(label)"
    }

    /// Runs `docker` with `arguments`.
    func docker(_ arguments: [String], timeoutSeconds: Int = 120) -> LiveGate.Output {
        LiveGate.run([client] + arguments, timeoutSeconds: timeoutSeconds)
    }

    /// `docker run -d --name <prefix>-<tag> OPTIONS IMAGE COMMAND`, then waits until the container's first
    /// process has `children` children whose `comm` is `childName` (so a shell's `&` jobs have exec'd).
    func start(
        _ tag: String, options: [String], command: [String], image: String? = nil, children: Int = 0, childName: String = "sleep"
    ) throws -> Running {
        let name = "\(namePrefix)-\(tag)"
        names.append(name)
        let result = docker(["run", "-d", "--name", name] + options + [image ?? self.image] + command)
        let id = result.line
        try #require(result.status == 0 && id.count == 64, "docker run \(name) failed: \(result)")
        ids.append(id)
        let running = try inspect(id)
        let ready = LiveGate.waitUntil(seconds: 20) {
            LiveGate.children(of: running.pid).filter { LiveGate.comm($0) == childName }.count == children
        }
        try #require(
            ready,
            "container \(name): pid \(running.pid) did not get \(children) \(childName) children within 20s (has \(LiveGate.children(of: running.pid)))"
        )
        return running
    }

    /// `docker inspect ID`, as the fields the tests compare with.
    func inspect(_ id: String) throws -> Running {
        let result = docker(["inspect", id])
        try #require(result.status == 0, "docker inspect \(id) failed: \(result)")
        let document = try JSONParser.parse(result.stdout)
        let object = try #require(document.array?.first, "docker inspect \(id): not an array of one object")
        let fullID = try #require(object["Id"]?.string)
        let name = try #require(object["Name"]?.string)
        let image = try #require(object["Config"]?["Image"]?.string)
        let pid = try #require(object["State"]?["Pid"]?.int)
        try #require(pid > 0, "docker inspect \(id): State.Pid is \(pid) (not running?)")
        let limit = object["HostConfig"]?["PidsLimit"]?.int
        return Running(
            id: fullID, name: name.hasPrefix("/") ? String(name.dropFirst()) : name, image: image,
            pid: Int32(pid), pidsLimit: limit.flatMap { $0 > 0 ? UInt64($0) : nil }, inspect: object)
    }

    /// Ids of every running container (`docker ps`), full length.
    func runningIDs() -> Set<String> {
        let result = docker(["ps", "-q", "--no-trunc", "--filter", "status=running"])
        return Set(result.text.split(separator: "\n").map(String.init))
    }

    /// Removes every container this harness started, by id (and, for a `docker run` that failed after
    /// creating its container, by the id its unique name resolves to), then checks none is left.
    func removeAll() {
        var leftover = ids
        for name in names {
            let lookup = docker(["ps", "-a", "-q", "--no-trunc", "--filter", "name=^/\(name)$"])
            leftover += lookup.text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        }
        var seen = Set<String>()
        leftover = leftover.filter { seen.insert($0).inserted }
        guard !leftover.isEmpty else { return }
        let removal = docker(["rm", "-f"] + leftover)
        if removal.status != 0 {
            Issue.record("docker rm -f \(leftover.joined(separator: " ")) failed: \(removal)")
        }
        let remaining = docker(["ps", "-a", "-q", "--no-trunc", "--filter", "name=^/\(namePrefix)-"])
        if !remaining.text.isEmpty {
            Issue.record("containers left behind by \(namePrefix): \(remaining.text)")
        }
        ids = []
        names = []
    }

    /// The Docker daemon's version, such as `20.10.24+dfsg1`.
    func serverVersion() -> String {
        docker(["version", "--format", "{{.Server.Version}}"]).line
    }

    // MARK: Cgroup files, read independently of Vigil

    /// The file `name` (such as `pids.current`) of the pids cgroup `pid` is in: the v1 pids hierarchy on a
    /// hybrid or legacy node, the cgroup2 tree on a pure v2 node. Trimmed text; nil when absent.
    static func pidsFile(of pid: Int32, _ name: String) -> String? {
        guard let text = LiveGate.readText("/proc/\(pid)/cgroup") else { return nil }
        var path: String?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[1].split(separator: ",").contains("pids") {
                path = "/sys/fs/cgroup/pids" + fields[2]
            } else if fields[0] == "0", fields[1].isEmpty, path == nil,
                access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
            {
                path = "/sys/fs/cgroup" + fields[2]
            }
        }
        guard let path, let value = LiveGate.readText(path + "/" + name) else { return nil }
        return value.split(separator: "\n").first.map(String.init) ?? ""
    }

    /// Every cgroup path in `/proc/PID/cgroup` (one per hierarchy).
    static func cgroupPaths(of pid: Int32) -> [String] {
        guard let text = LiveGate.readText("/proc/\(pid)/cgroup") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            return fields.count == 3 ? String(fields[2]) : nil
        }
    }
}

// MARK: - Comparing JSON documents

enum JSONComparison {
    /// The document without the top-level member `key`.
    static func removing(_ key: String, from value: JSONValue) -> JSONValue {
        guard let members = value.members else { return value }
        return .object(members.filter { $0.0 != key })
    }

    /// Where two documents first differ, as a path and the two values; nil when equal.
    static func firstDifference(_ a: JSONValue, _ b: JSONValue, path: String = "$") -> String? {
        if a == b { return nil }
        switch (a, b) {
        case (.object(let x), .object(let y)):
            for (key, value) in x {
                guard let other = b[key] else { return "\(path).\(key): only in the first" }
                if let difference = firstDifference(value, other, path: "\(path).\(key)") { return difference }
            }
            for (key, _) in y where a[key] == nil { return "\(path).\(key): only in the second" }
        case (.array(let x), .array(let y)):
            for (index, (left, right)) in zip(x, y).enumerated() {
                if let difference = firstDifference(left, right, path: "\(path)[\(index)]") { return difference }
            }
            if x.count != y.count { return "\(path): \(x.count) elements against \(y.count)" }
        default:
            break
        }
        return "\(path): \(brief(a)) against \(brief(b))"
    }

    private static func brief(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .number(let n): return "\(n)"
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "array of \(a.count)"
        case .object(let o): return "object with \(o.map(\.0))"
        }
    }
}
