public import VigilNode
import VigilKernel

extension EventLineEncoder {
    /// An activity event as a record for the sinks: its JSON line (without the newline), its text line,
    /// its sentence, and structured data naming the event, container, workload and process.
    public func record(_ event: ActivityEvent) -> OutputRecord {
        var json = json(event)
        if json.last == 0x0A { json.removeLast() }
        var params: [(String, String)] = [("event", event.kind.rawValue)]
        if let container = event.container {
            params.append(("container", container.name ?? container.shortID))
            params.append(("container_id", container.shortID))
            params.append(("workload", container.workload.rawValue))
        }
        if let process = event.process {
            params.append(("pid", String(process.pid)))
            if let exe = process.exe, !process.unread { params.append(("exe", exe.display)) }
        }
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
}
