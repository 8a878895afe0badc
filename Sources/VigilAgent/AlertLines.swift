public import VigilDetect
import VigilJSON
import VigilKernel
import VigilNode

extension EventLineEncoder {
    /// An alert as a Falco-shaped JSON line: `rule`, `priority`, `output`, `tags`, and
    /// `output_fields` with the container, the process and its ancestry, the workload, `vigil.count`,
    /// and the rule's own fields.
    public func json(_ alert: Alert) -> [UInt8] {
        var out = JSONWriter(indent: 0, capacity: 1536)
        out.beginObject()
        out.key("time")
        out.string(alert.time.rfc3339)
        out.key("source")
        out.string("vigil")
        out.key("hostname")
        out.string(hostname)
        out.key("rule")
        out.string(alert.rule.rawValue)
        out.key("priority")
        out.string(alert.priority.rawValue)
        out.key("output")
        out.string(alert.output)
        out.key("tags")
        out.strings(alert.rule.tags)
        out.key("output_fields")
        out.beginObject()
        if let container = alert.container { containerFields(container, into: &out) }
        if let process = alert.process {
            processFields(process, ancestors: alert.ancestors, parentExe: alert.parentExe, into: &out)
        }
        for (name, value) in alert.fields {
            out.key(name)
            switch value {
            case .string(let text): out.string(text)
            case .int(let number): out.int(number)
            case .bool(let flag): out.bool(flag)
            case .strings(let list): out.strings(list)
            case .null: out.null()
            }
        }
        out.key("vigil.count")
        out.int(alert.count)
        out.key("vigil.summary")
        out.bool(alert.isSummary)
        out.endObject()
        out.endObject()
        return out.bytes
    }

    /// An alert as one text line.
    public func text(_ alert: Alert) -> String {
        let time = String(alert.time.rfc3339.dropFirst(11).prefix(15))
        let count = alert.isSummary ? " ×\(alert.count)" : ""
        return "\(time) \(alert.priority.rawValue.uppercased()) \(alert.rule.rawValue)\(count): \(alert.output)"
    }

    /// An alert, newline included, in this encoder's format.
    public func encode(_ alert: Alert) -> [UInt8] {
        switch format {
        case .json:
            var bytes = json(alert)
            bytes.append(0x0A)
            return bytes
        case .text:
            return Array((text(alert) + "\n").utf8)
        }
    }
}
