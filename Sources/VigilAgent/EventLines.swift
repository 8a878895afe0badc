import VigilJSON
import VigilKernel
public import VigilNode

/// How lines are written: Falco-shaped JSON, or text for a person at a terminal.
public enum LineFormat: String, Sendable, CaseIterable {
    case json
    case text
}

/// Encodes activity events as the JSON lines of `vigil watch` (Falco's shape: `time`, `source`,
/// `hostname`, `priority`, `output`, `output_fields` with dotted keys; `event` in place of `rule`) or as
/// one readable text line.
public struct EventLineEncoder: Sendable {
    public let hostname: String
    public let format: LineFormat
    private let lastCapability: Int

    public init(hostname: String, format: LineFormat, lastCapability: Int = 40) {
        self.hostname = hostname
        self.format = format
        self.lastCapability = lastCapability
    }

    /// One line, newline included.
    public func encode(_ event: ActivityEvent) -> [UInt8] {
        switch format {
        case .json: return json(event)
        case .text: return Array((text(event) + "\n").utf8)
        }
    }

    // MARK: JSON

    public func json(_ event: ActivityEvent) -> [UInt8] {
        var out = JSONWriter(indent: 0, capacity: 1024)
        out.beginObject()
        out.key("time")
        out.string(event.time.rfc3339)
        out.key("source")
        out.string("vigil")
        out.key("hostname")
        out.string(hostname)
        out.key("event")
        out.string(event.kind.rawValue)
        out.key("priority")
        out.string(event.kind == .agentStatus ? "Notice" : "Informational")
        out.key("output")
        out.string(sentence(event))
        out.key("tags")
        out.strings(["vigil", event.kind == .agentStatus ? "agent" : "activity"])
        out.key("output_fields")
        out.beginObject()
        if let container = event.container { containerFields(container, into: &out) }
        if let process = event.process {
            processFields(process, ancestors: event.ancestors, parentExe: event.parentExe, into: &out)
        }
        if event.kind == .processExit {
            out.key("proc.exit_code")
            out.int(event.exitCode)
            out.key("proc.exit_signal")
            out.int(event.exitSignal)
            out.key("proc.duration_ns")
            out.int(event.duration)
        }
        for (name, value) in event.counters {
            out.key("vigil." + name)
            out.int(value)
        }
        if let message = event.message, event.kind == .agentStatus {
            out.key("vigil.message")
            out.string(message)
        }
        if event.kind != .agentStatus {
            out.key("vigil.source")
            out.string(event.source.rawValue)
        }
        out.key("vigil.count")
        out.int(1)
        out.endObject()
        out.endObject()
        var bytes = out.bytes
        bytes.append(0x0A)
        return bytes
    }

    func containerFields(_ container: ContainerIdentity, into out: inout JSONWriter) {
        out.key("container.id")
        out.string(container.shortID)
        out.key("container.full_id")
        out.string(container.id)
        out.key("container.name")
        out.string(container.name)
        out.key("container.image")
        out.string(container.image)
        out.key("container.runtime")
        out.string(container.runtime.rawValue)
        out.key("k8s.ns.name")
        out.string(container.kubernetes?.namespace)
        out.key("k8s.pod.name")
        out.string(container.kubernetes?.pod)
        out.key("k8s.container.name")
        out.string(container.kubernetes?.container)
        out.key("vigil.workload")
        out.string(container.workload.rawValue)
    }

    func processFields(
        _ process: TrackedProcess, ancestors: [String], parentExe: ExecutablePath?, into out: inout JSONWriter
    ) {
        out.key("proc.pid")
        out.int(process.pid)
        out.key("proc.ppid")
        out.int(process.ppid)
        // A process gone before its new program was read: its own facts are unknown (null); its
        // parent's executable, known from the fork, is given as proc.pexepath.
        let known = !process.unread
        out.key("proc.name")
        out.string(known || !process.missing.contains("name") ? process.comm : nil)
        out.key("proc.exepath")
        out.string(known ? process.exe?.display : nil)
        out.key("proc.cmdline")
        out.string(known && !process.missing.contains("cmdline") ? process.cmdline.joined(separator: " ") : nil)
        out.key("proc.args")
        if known && !process.missing.contains("cmdline") { out.strings(process.cmdline) } else { out.null() }
        out.key("proc.pname")
        out.string(ancestors.first)
        out.key("proc.pexepath")
        out.string(parentExe?.display)
        out.key("proc.aname")
        out.strings(ancestors)
        out.key("proc.tty")
        out.int(known ? process.tty : nil)
        out.key("user.uid")
        out.int(known ? process.uid : nil)
        out.key("user.euid")
        out.int(known ? process.euid : nil)
        out.key("group.gid")
        out.int(known ? process.gid : nil)
        out.key("proc.cap_effective")
        out.string(known ? process.capabilities.effective.names.joined(separator: " ") : nil)
        out.key("proc.start_time")
        out.int(known && process.startTime != 0 ? process.startTime : nil)
        if !process.missing.isEmpty {
            out.key("vigil.missing")
            out.strings(process.missing)
        }
    }

    // MARK: Text

    /// The human sentence of `output`.
    public func sentence(_ event: ActivityEvent) -> String {
        let place = event.container.map { " in container \($0.name ?? $0.shortID) (\($0.shortID))" } ?? ""
        switch event.kind {
        case .processExec:
            guard let process = event.process else { return "Process started\(place)" }
            return "Process started\(place): \(commandText(process)) (pid \(process.pid), parent \(event.ancestors.first ?? "?"), uid \(process.uid))"
        case .processExit:
            guard let process = event.process else { return "Process exited\(place)" }
            var text = "Process exited\(place): \(commandText(process)) (pid \(process.pid))"
            if let signal = event.exitSignal {
                text += " killed by signal \(signal)"
            } else if let code = event.exitCode {
                text += " with status \(code)"
            }
            if let duration = event.duration { text += " after \(seconds(duration))" }
            return text
        case .containerStart:
            guard let container = event.container else { return "Container started" }
            let verb = event.source == .initial ? "Container running" : "Container started"
            return "\(verb): \(container.runtime.rawValue) \(container.name ?? container.shortID) (\(container.shortID)) image \(container.image ?? "unknown"), workload \(container.workload)"
        case .containerStop:
            guard let container = event.container else { return "Container stopped" }
            return "Container stopped: \(container.runtime.rawValue) \(container.name ?? container.shortID) (\(container.shortID))"
        case .agentStatus:
            return event.message ?? "Vigil status"
        case .credentialsChanged:
            guard let process = event.process else { return "User changed\(place)" }
            return "User changed\(place): \(commandText(process)) (pid \(process.pid)) effective uid \(event.previousEffectiveUID.map(String.init) ?? "?") → \(process.euid)"
        }
    }

    public func text(_ event: ActivityEvent) -> String {
        let time = String(event.time.rfc3339.dropFirst(11).prefix(15))
        let kind: String
        switch event.kind {
        case .processExec: kind = "exec "
        case .processExit: kind = "exit "
        case .containerStart: kind = "start"
        case .containerStop: kind = "stop "
        case .agentStatus: kind = "vigil"
        case .credentialsChanged: kind = "uid  "
        }
        var line = "\(time) \(kind) "
        if let container = event.container { line += "\(container.name ?? "-")/\(container.shortID) " }
        guard let process = event.process else { return line + sentence(event) }
        line += "pid \(process.pid) ppid \(process.ppid) uid \(process.uid) "
        line += commandText(process)
        if let exe = process.exe, !process.unread { line += "  [\(exe.display)]" }
        if event.kind == .processExit {
            if let signal = event.exitSignal {
                line += "  signal \(signal)"
            } else if let code = event.exitCode {
                line += "  status \(code)"
            }
            if let duration = event.duration { line += " after \(seconds(duration))" }
        } else if !event.ancestors.isEmpty {
            line += "  ← " + event.ancestors.prefix(4).joined(separator: " ← ")
        }
        if !process.missing.isEmpty { line += "  (gone before read: no \(process.missing.joined(separator: ", ")))" }
        if event.source != .connector { line += "  [\(event.source.rawValue)]" }
        return line
    }

    func commandText(_ process: TrackedProcess) -> String {
        if process.unread { return process.missing.contains("name") ? "(unknown program)" : process.comm }
        return process.cmdline.isEmpty ? process.comm : process.cmdline.joined(separator: " ")
    }

    private func seconds(_ nanoseconds: UInt64) -> String {
        if nanoseconds < 1_000_000 { return "\(nanoseconds / 1000) µs" }
        if nanoseconds < 1_000_000_000 { return "\(nanoseconds / 1_000_000) ms" }
        let tenths = nanoseconds / 100_000_000
        return "\(tenths / 10).\(tenths % 10) s"
    }
}
