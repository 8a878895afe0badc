import Glibc
import Testing
import VigilTestSupport

/// A real rsyslogd (Debian's `rsyslog` package) started by a test: its own configuration in a temporary
/// directory, listening on a unix datagram socket there and on 127.0.0.1 UDP and TCP ports picked free,
/// writing what it receives to a file. It never touches the system's /dev/log or configuration, and is
/// stopped by its PID (our child) — never by name.
final class Rsyslog {
    static let binary = "/usr/sbin/rsyslogd"

    static var isInstalled: Bool { access(binary, X_OK) == 0 }

    /// Skips (with the reason) unless rsyslogd is installed; runs anyway under CI, where it must be.
    static var needsRsyslog: ConditionTrait {
        .enabled(if: isInstalled || LiveGate.isCI, "needs rsyslogd (apt-get install rsyslog)")
    }

    let directory: String
    let socketPath: String
    let udpPort: UInt16
    let tcpPort: UInt16
    /// Every message as received: `INPUT RAWMSG` (imuxsock, imudp or imtcp, then the bytes sent).
    let rawPath: String
    /// Every message as rsyslog parsed it: `INPUT|PRI|APP|PROCID|MSGID|SD|MSG`.
    let parsedPath: String
    private let configPath: String
    private let pidPath: String
    private(set) var pid: pid_t?
    private(set) var starts = 0

    init() throws {
        try #require(Self.isInstalled, "\(Self.binary) is missing (CI=true: live tests run and fail rather than skip)")
        directory = try LiveGate.makeTemporaryDirectory("rsyslog")
        socketPath = directory + "/log.sock"
        rawPath = directory + "/raw.log"
        parsedPath = directory + "/parsed.log"
        configPath = directory + "/rsyslog.conf"
        pidPath = directory + "/rsyslogd.pid"
        do {
            udpPort = try Self.freePort(type: Int32(SOCK_DGRAM.rawValue))
            tcpPort = try Self.freePort(type: Int32(SOCK_STREAM.rawValue))
            try LiveGate.makeDirectories(directory, "work")
            try LiveGate.writeFile(directory, "rsyslog.conf", configuration)
        } catch {
            LiveGate.removeTree(directory)
            throw error
        }
    }

    /// The configuration: no system socket, no other inputs or outputs; rsyslogd's own messages go to
    /// `internal.log` for diagnosis. Rate limiting is off and messages up to 64 KiB are taken whole.
    private var configuration: String {
        """
        global(workDirectory="\(directory)/work" maxMessageSize="64k")
        module(load="imuxsock" SysSock.Use="off")
        module(load="imudp")
        module(load="imtcp")
        template(name="vigilRaw" type="string" string="%inputname% %rawmsg%\\n")
        template(name="vigilParsed" type="string" string="%inputname%|%pri%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n")
        ruleset(name="vigil") {
            action(type="omfile" file="\(rawPath)" template="vigilRaw")
            action(type="omfile" file="\(parsedPath)" template="vigilParsed")
        }
        input(type="imuxsock" Socket="\(socketPath)" ruleset="vigil" RateLimit.Interval="0" UseSpecialParser="on")
        input(type="imudp" address="127.0.0.1" port="\(udpPort)" ruleset="vigil")
        input(type="imtcp" address="127.0.0.1" port="\(tcpPort)" ruleset="vigil")
        *.* action(type="omfile" file="\(directory)/internal.log")

        """
    }

    /// Starts rsyslogd in the foreground (`-n`) and waits until it listens on all three inputs.
    func start() throws {
        precondition(pid == nil, "rsyslogd is already running")
        let log = open(directory + "/rsyslogd.stderr", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        defer { if log >= 0 { close(log) } }
        switch LiveGate.spawn([Self.binary, "-n", "-f", configPath, "-i", pidPath], stdout: log, stderr: log) {
        case .success(let child): pid = child
        case .failure(let error): throw LiveGate.SetupError("cannot start rsyslogd: errno \(error.value)")
        }
        starts += 1
        let listening = LiveGate.waitUntil(seconds: 15) {
            guard let pid, waitpid(pid, nil, WNOHANG) == 0 else { return false }
            return access(socketPath, F_OK) == 0
                && Self.isBound(port: udpPort, type: Int32(SOCK_DGRAM.rawValue))
                && Self.accepts(port: tcpPort)
        }
        guard listening else {
            let reason = diagnostics
            stop()
            throw LiveGate.SetupError("rsyslogd did not start listening: \(reason)")
        }
    }

    /// Asks rsyslogd to stop (SIGTERM to its PID) without waiting; `waitForExit` reaps it.
    func requestStop() {
        if let pid { kill(pid, SIGTERM) }
    }

    /// Whether rsyslogd has exited (and is reaped); true when it is not running.
    var hasExited: Bool {
        guard let child = pid else { return true }
        guard waitpid(child, nil, WNOHANG) == child else { return false }
        pid = nil
        return true
    }

    /// Waits for rsyslogd to exit (killing it after `seconds`); true when it had exited by itself.
    @discardableResult
    func waitForExit(seconds: Double = 15) -> Bool {
        guard let child = pid else { return true }
        var status: Int32 = 0
        let exited = LiveGate.waitUntil(seconds: seconds) { waitpid(child, &status, WNOHANG) == child }
        if !exited {
            kill(child, SIGKILL)
            _ = LiveGate.wait(for: child)
        }
        pid = nil
        return exited
    }

    /// Stops rsyslogd and waits for it.
    func stop() {
        requestStop()
        waitForExit()
    }

    /// Stops it if running and removes the directory.
    func remove() {
        stop()
        LiveGate.removeTree(directory)
    }

    /// The lines of `raw.log` or `parsed.log` from `input` (`imuxsock`, `imudp`, `imtcp`), prefix removed.
    func lines(_ path: String, input: String) -> [String] {
        let text = LiveGate.readText(path) ?? ""
        let separator: Character = path == parsedPath ? "|" : " "
        return text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix(input + String(separator)) else { return nil }
            return String(line.dropFirst(input.count + 1))
        }
    }

    /// rsyslogd's own messages and standard error, for failure messages.
    var diagnostics: String {
        let stderr = LiveGate.readText(directory + "/rsyslogd.stderr") ?? ""
        let own = LiveGate.readText(directory + "/internal.log") ?? ""
        return "stderr: \(stderr.suffix(2000)) own messages: \(own.suffix(2000))"
    }

    // MARK: Ports

    /// A port on 127.0.0.1 that is free now: the kernel picks it for a socket bound to port 0.
    private static func freePort(type: Int32) throws -> UInt16 {
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LiveGate.SetupError("socket: errno \(errno)") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw LiveGate.SetupError("bind 127.0.0.1:0: errno \(errno)") }
        let port = UInt16(bigEndian: address.sin_port)
        // The other protocol's port of the same number must be free as well, for the check in isBound.
        guard
            !isBound(
                port: port,
                type: type == Int32(SOCK_DGRAM.rawValue) ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue))
        else {
            return try freePort(type: type)
        }
        return port
    }

    /// Whether something is bound to 127.0.0.1:`port`: binding there ourselves fails with EADDRINUSE.
    private static func isBound(port: UInt16, type: Int32) -> Bool {
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result != 0 && errno == EADDRINUSE
    }

    /// Whether a TCP listener answers on 127.0.0.1:`port` (a bind probe could be fooled by TIME_WAIT).
    private static func accepts(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
