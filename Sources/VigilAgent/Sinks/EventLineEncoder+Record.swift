public import VigilDetect
import VigilKernel
public import VigilNode

extension EventLineEncoder {
    /// An alert as a record for the sinks: its JSON line (without the newline), its text line, its
    /// sentence, and structured data naming the rule, container, workload and process.
    public func record(_ alert: Alert) -> OutputRecord {
        var params: [(String, String)] = [("rule", alert.rule.rawValue)]
        Self.describe(alert.container, alert.process, into: &params)
        if alert.isSummary || alert.count != 1 { params.append(("count", String(alert.count))) }
        return OutputRecord(
            time: alert.time,
            priority: alert.priority,
            name: alert.rule.rawValue,
            json: json(alert),
            text: text(alert),
            message: alert.output,
            structuredData: [(SyslogMessage.structuredDataID, params)]
        )
    }

    /// An activity event as a record for the sinks: its JSON line (without the newline), its text line,
    /// its sentence, and structured data naming the event, container, workload and process.
    public func record(_ event: ActivityEvent) -> OutputRecord {
        var json = json(event)
        if json.last == 0x0A { json.removeLast() }
        var params: [(String, String)] = [("event", event.kind.rawValue)]
        Self.describe(event.container, event.process, into: &params)
        return OutputRecord(
            time: event.time,
            priority: event.kind == .agentStatus ? .notice : .informational,
            name: event.kind.rawValue,
            json: json,
            text: text(event),
            message: sentence(event),
            structuredData: [(SyslogMessage.structuredDataID, params)]
        )
    }

    /// Structured-data parameters for the container (name, short id, workload) and the process (pid, exe).
    private static func describe(
        _ container: ContainerIdentity?, _ process: TrackedProcess?, into params: inout [(String, String)]
    ) {
        if let container {
            params.append(("container", container.name ?? container.shortID))
            params.append(("container_id", container.shortID))
            params.append(("workload", container.workload.rawValue))
        }
        if let process {
            params.append(("pid", String(process.pid)))
            if let exe = process.exe, !process.unread { params.append(("exe", exe.display)) }
        }
    }
}
