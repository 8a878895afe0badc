import Glibc
import Testing
import VigilTestSupport
import VigilJSON

/// One line `vigil watch --format json` wrote, parsed: the event name and the `output_fields` object
/// as a dictionary (dotted keys), plus the top-level `time`.
struct EventLine {
    /// Where it was in the output, counting from 0.
    var index: Int
    var event: String
    var time: String
    var fields: [String: JSONValue]
    var document: JSONValue

    init?(index: Int, document: JSONValue) {
        // Alert lines carry `rule` where event lines carry `event`; they are "alert" here.
        guard let event = document["event"]?.string ?? (document["rule"]?.string).map({ _ in "alert" }),
            let fields = document["output_fields"]?.members
        else {
            return nil
        }
        self.index = index
        self.event = event
        self.time = document["time"]?.string ?? ""
        self.document = document
        var dictionary: [String: JSONValue] = [:]
        for (key, value) in fields { dictionary[key] = value }
        self.fields = dictionary
    }

    func string(_ key: String) -> String? { fields[key]?.string }
    func int(_ key: String) -> Int? { fields[key]?.int }
    /// The field is present and null (as opposed to absent).
    func isNull(_ key: String) -> Bool { fields[key]?.isNull ?? false }
    func strings(_ key: String) -> [String]? { fields[key]?.array?.compactMap(\.string) }

    var fullID: String? { string("container.full_id") }
    var pid: Int? { int("proc.pid") }
    var ppid: Int? { int("proc.ppid") }
    var args: [String]? { strings("proc.args") }
    /// `vigil.missing`, or nil when the line has none.
    var missing: [String]? { strings("vigil.missing") }
    var source: String? { string("vigil.source") }
    var message: String? { string("vigil.message") }

    var isExec: Bool { event == "process_exec" }
    var isExit: Bool { event == "process_exit" }
    var isStatus: Bool { event == "agent_status" }
}

/// A `vigil watch` child process of this test, writing to an unlinked temporary file: started, signalled
/// and stopped by its PID only, and killed (by PID) if a test leaves it running.
final class WatchAgent {
    let pid: pid_t
    let arguments: [String]
    private let stdoutFD: Int32
    private let stderrFD: Int32
    private var exitStatus: Int32?
    /// The agent's own baseline directory (unless the test gave one), removed with it: tests never
    /// learn into, or enforce, the node's real baselines.
    private let ownBaselines: String?

    /// Bytes read so far, and how far they have been cut into lines.
    private var bytes: [UInt8] = []
    private var consumed = 0
    private(set) var lines: [EventLine] = []
    /// Lines that did not parse as a JSON object with `event` and `output_fields`.
    private(set) var malformed: [String] = []

    /// Starts `vigil watch ARGUMENTS`.
    init(_ arguments: [String]) throws {
        let binary = try LiveGate.requireVigil()
        guard let out = LiveGate.openScratchFile() else {
            throw LiveGate.SetupError("cannot make a scratch file: errno \(errno)")
        }
        guard let err = LiveGate.openScratchFile() else {
            close(out)
            throw LiveGate.SetupError("cannot make a scratch file: errno \(errno)")
        }
        stdoutFD = out
        stderrFD = err
        var arguments = arguments
        if !arguments.contains("--baseline-dir") {
            let directory = try LiveGate.makeTemporaryDirectory("baselines")
            arguments += ["--baseline-dir", directory]
            ownBaselines = directory
        } else {
            ownBaselines = nil
        }
        self.arguments = ["watch"] + arguments
        switch LiveGate.spawn([binary] + self.arguments, stdout: out, stderr: err) {
        case .success(let started): pid = started
        case .failure(let error):
            close(out)
            close(err)
            if let ownBaselines { LiveGate.removeTree(ownBaselines) }
            throw LiveGate.SetupError("cannot start \(binary): \(String(cString: strerror(error.value)))")
        }
    }

    deinit {
        if exitStatus == nil {
            // Left running by a failed test: end it (our own child, by PID) and reap it.
            kill(pid, SIGKILL)
            _ = LiveGate.wait(for: pid)
        }
        close(stdoutFD)
        close(stderrFD)
        if let ownBaselines { LiveGate.removeTree(ownBaselines) }
    }

    // MARK: Output

    /// Reads what was written since the last call and parses the complete lines.
    @discardableResult
    func refresh() -> [EventLine] {
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let offset = off_t(bytes.count)
            let n = chunk.withUnsafeMutableBytes { pread(stdoutFD, $0.baseAddress, $0.count, offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        var start = consumed
        var index = consumed
        while index < bytes.count {
            if bytes[index] == 0x0A {
                let line = Array(bytes[start..<index])
                if let document = try? JSONParser.parse(line),
                    let parsed = EventLine(index: lines.count, document: document)
                {
                    lines.append(parsed)
                } else {
                    malformed.append(String(decoding: line.prefix(500), as: UTF8.self))
                }
                start = index + 1
            }
            index += 1
        }
        consumed = start
        return lines
    }

    /// Everything written to standard output so far.
    var rawOutput: [UInt8] {
        refresh()
        return bytes
    }

    /// Standard error so far.
    var errorText: String {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(stderrFD, $0.baseAddress, $0.count, off_t(result.count)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// Polls the output until `condition` holds for the lines so far or `seconds` pass; whether it held.
    /// Stops early when the agent has exited.
    func waitFor(seconds: Double, _ condition: ([EventLine]) -> Bool) -> Bool {
        LiveGate.waitUntil(seconds: seconds) {
            if condition(refresh()) { return true }
            return !isRunning && condition(refresh())
        }
    }

    /// Waits until the agent says it is watching with the connector (it is subscribed, and has taken
    /// the node as it is); records a failure with its output otherwise.
    func waitUntilWatchingWithConnector(seconds: Double = 60) throws {
        let ready = waitFor(seconds: seconds) { lines in
            lines.contains { $0.isStatus && ($0.message ?? "").hasPrefix("watching with the process-events connector") }
        }
        try #require(
            ready,
            "vigil \(arguments.joined(separator: " ")) did not start watching within \(Int(seconds))s: \(diagnostics())"
        )
    }

    /// The output and standard error, cut short, for failure messages.
    func diagnostics() -> String {
        let text = String(decoding: rawOutput.suffix(3000), as: UTF8.self)
        return "running: \(isRunning); stderr: \(errorText.prefix(2000)); last output: \(text)"
    }

    // MARK: Process

    /// True while the child has not exited (reaps it when it has).
    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            let signal = status & 0x7F
            exitStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            return false
        }
        return true
    }

    func signal(_ number: Int32) {
        if exitStatus == nil { kill(pid, number) }
    }

    /// Sends `signal` (SIGTERM unless told) and waits up to `seconds` for the exit; the exit status
    /// (128 + N when killed by a signal). An agent that does not stop in time is killed, and recorded.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, seconds: Double = 30) -> Int32 {
        if let exitStatus { return exitStatus }
        kill(pid, signal)
        if !LiveGate.waitUntil(seconds: seconds, { !isRunning }) {
            Issue.record("vigil (pid \(pid)) did not exit within \(Int(seconds))s of signal \(signal); killing it")
            kill(pid, SIGKILL)
            _ = LiveGate.waitUntil(seconds: 10) { !isRunning }
        }
        refresh()
        return exitStatus ?? -1
    }

    /// A `/proc/PID/status` value in kB, such as `VmHWM` (peak resident set) or `VmRSS`.
    func statusKilobytes(_ key: String) -> Int? {
        guard isRunning, let text = LiveGate.readText("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let digits = line.dropFirst(key.count + 1).filter { $0.isNumber }
            return Int(digits)
        }
        return nil
    }
}

// MARK: - Reading the lines

extension [EventLine] {
    /// Lines about the container `id` (full id).
    func about(_ id: String) -> [EventLine] { filter { $0.fullID == id } }

    func events(_ name: String) -> [EventLine] { filter { $0.event == name } }

    /// agent_status lines.
    var statuses: [EventLine] { filter(\.isStatus) }
}
