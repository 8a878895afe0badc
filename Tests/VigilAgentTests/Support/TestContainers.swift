import Glibc
import Testing
import VigilTestSupport
import VigilJSON

/// Docker containers one test starts; `removeAll()` (in a `defer`) removes exactly those, by id,
/// whether the test passed or not.
final class TestContainers {
    let client = LiveGate.dockerClient
    let image = LiveGate.testImage
    /// Unique to this test process and test, so parallel runs and other users' containers never clash.
    let namePrefix: String
    private var ids: [String] = []
    private var names: [String] = []

    init(test label: String) {
        namePrefix = "vigil-agent-test-\(getpid())-\(label)"
    }

    func docker(_ arguments: [String], timeoutSeconds: Int = 120) -> LiveGate.Output {
        LiveGate.run([client] + arguments, timeoutSeconds: timeoutSeconds)
    }

    /// The container's name for `tag`.
    func name(_ tag: String) -> String { "\(namePrefix)-\(tag)" }

    /// `docker run -d --name <prefix>-<tag> OPTIONS IMAGE COMMAND`; the full id.
    func run(_ tag: String, options: [String] = [], _ command: [String]) throws -> String {
        let name = name(tag)
        names.append(name)
        let result = docker(["run", "-d", "--name", name] + options + [image] + command)
        let id = result.line
        try #require(result.status == 0 && id.count == 64, "docker run \(name) failed: \(result)")
        ids.append(id)
        return id
    }

    /// Waits for the container to exit (`docker wait`); its exit status.
    func waitForExit(_ id: String, timeoutSeconds: Int = 300) throws -> Int {
        let result = docker(["wait", id], timeoutSeconds: timeoutSeconds)
        try #require(result.status == 0, "docker wait \(id.prefix(12)) failed or timed out: \(result)")
        return try #require(Int(result.line), "docker wait \(id.prefix(12)): not a status: \(result)")
    }

    /// `State.Pid` of a running container: its first process as the host sees it.
    func mainPid(_ id: String) throws -> Int {
        let result = docker(["inspect", "--format", "{{.State.Pid}}", id])
        let pid = try #require(Int(result.line), "docker inspect \(id.prefix(12)) failed: \(result)")
        try #require(pid > 0, "container \(id.prefix(12)) is not running (State.Pid \(pid))")
        return pid
    }

    /// `docker rm -f` one container now, by id.
    func remove(_ id: String) {
        let result = docker(["rm", "-f", id])
        if result.status != 0 { Issue.record("docker rm -f \(id.prefix(12)) failed: \(result)") }
    }

    /// Removes every container this test started, by id (and by the id its unique name resolves to, for a
    /// `docker run` that failed after creating it), then checks none is left.
    func removeAll() {
        var leftover = ids
        for name in names {
            let lookup = docker(["ps", "-a", "-q", "--no-trunc", "--filter", "name=^/\(name)$"])
            leftover += lookup.text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        }
        var seen = Set<String>()
        leftover = leftover.filter { seen.insert($0).inserted }
        if !leftover.isEmpty {
            let removal = docker(["rm", "-f"] + leftover)
            if removal.status != 0 && !removal.errorText.contains("No such container") {
                Issue.record("docker rm -f \(leftover.joined(separator: " ")) failed: \(removal)")
            }
        }
        let remaining = docker(["ps", "-a", "-q", "--no-trunc", "--filter", "name=^/\(namePrefix)-"])
        if !remaining.text.isEmpty {
            Issue.record("containers left behind by \(namePrefix): \(remaining.text)")
        }
        ids = []
        names = []
    }
}

/// A named pipe in a temporary directory bind-mounted into a container: the container's shell blocks on
/// `read x < /gate/go` until the test opens it, so a test decides exactly when a workload proceeds.
final class Gate {
    let directory: String
    var fifo: String { directory + "/go" }

    init() throws {
        directory = try LiveGate.makeTemporaryDirectory("agent-gate")
        // The container's root user must be able to open it whatever the umask.
        chmod(directory, 0o777)
        guard mkfifo(fifo, 0o666) == 0 else {
            let error = errno
            LiveGate.removeTree(directory)
            throw LiveGate.SetupError("mkfifo \(fifo): \(String(cString: strerror(error)))")
        }
        chmod(fifo, 0o666)
    }

    /// The docker option that mounts the gate at /gate.
    var mountOption: [String] { ["-v", "\(directory):/gate"] }

    /// Lets one `read x < /gate/go` through: waits (up to `seconds`) until a reader has the pipe open,
    /// then writes a line and closes.
    func open(seconds: Double = 60) throws {
        var fd: Int32 = -1
        let opened = LiveGate.waitUntil(seconds: seconds) {
            // Without a reader, a non-blocking open for writing fails with ENXIO.
            fd = Glibc.open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            return fd >= 0
        }
        try #require(opened, "no reader opened \(fifo) within \(Int(seconds))s")
        let line = Array("go\n".utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// True when the container wrote `name` into the gate directory (it says how far it got).
    func has(_ name: String) -> Bool { access(directory + "/" + name, F_OK) == 0 }

    func remove() { LiveGate.removeTree(directory) }
}
