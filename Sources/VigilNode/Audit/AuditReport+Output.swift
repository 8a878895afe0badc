import VigilJSON
import VigilKernel

extension AuditReport {
    /// The audit JSON of `vigil audit --json` (DESIGN.md, "Audit JSON").
    public func json(indent: Int = 2) -> [UInt8] {
        var out = JSONWriter(indent: indent)
        out.beginObject()
        out.key("hostname")
        out.string(hostname)
        out.key("time")
        out.string(time.rfc3339)
        out.key("containers")
        out.beginArray()
        for audit in containers {
            let container = audit.container
            out.beginObject()
            out.key("id")
            out.string(container.id)
            out.key("short_id")
            out.string(container.shortID)
            out.key("runtime")
            out.string(container.runtime.rawValue)
            out.key("name")
            out.string(container.name)
            out.key("image")
            out.string(container.image)
            out.key("workload")
            out.string(container.workload.rawValue)
            out.key("findings")
            out.beginArray()
            for finding in audit.findings {
                out.beginObject()
                out.key("check")
                out.string(finding.check.rawValue)
                out.key("severity")
                out.string(finding.severity.rawValue)
                out.key("cis")
                out.string(finding.cis)
                out.key("evidence")
                out.string(finding.evidence)
                out.key("remediation")
                out.string(finding.remediation)
                out.endObject()
            }
            out.endArray()
            out.endObject()
        }
        out.endArray()
        out.key("summary")
        out.beginObject()
        out.key("containers")
        out.int(containers.count)
        out.key("findings")
        out.beginObject()
        for severity in Severity.allCases.reversed() {
            out.key(severity.rawValue)
            out.int(count(severity))
        }
        out.endObject()
        out.endObject()
        out.endObject()
        var bytes = out.bytes
        bytes.append(0x0A)
        return bytes
    }

    /// A table per container (severity, check, CIS id, evidence) and a summary of findings by severity.
    public func text() -> String {
        var lines: [String] = []
        for audit in containers {
            let container = audit.container
            let title = [container.runtime.rawValue, container.shortID, container.name ?? "-", container.image ?? "-"]
            lines.append(title.joined(separator: "  ") + "  (init pid \(audit.initPid))")
            if audit.findings.isEmpty {
                lines.append("  no findings")
            } else {
                let ordered = audit.findings.enumerated().sorted { a, b in
                    a.element.severity != b.element.severity
                        ? a.element.severity > b.element.severity : a.offset < b.offset
                }.map(\.element)
                let checkWidth = max(5, ordered.map(\.check.rawValue.count).max() ?? 0)
                lines.append("  " + pad("SEVERITY", 9) + pad("CHECK", checkWidth + 1) + pad("CIS", 6) + "EVIDENCE")
                for finding in ordered {
                    lines.append(
                        "  " + pad(finding.severity.rawValue, 9) + pad(finding.check.rawValue, checkWidth + 1)
                            + pad(finding.cis ?? "-", 6) + finding.evidence)
                    lines.append("  " + String(repeating: " ", count: 16 + checkWidth) + "fix: " + finding.remediation)
                }
            }
            lines.append("")
        }
        let totals = Severity.allCases.reversed().map { "\(count($0)) \($0.rawValue)" }.joined(separator: ", ")
        let affected = containers.filter { !$0.findings.isEmpty }.count
        lines.append("\(containers.count) containers, \(affected) with findings: \(totals)")
        for note in notApplicable { lines.append("not applicable: \(note)") }
        return lines.joined(separator: "\n") + "\n"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
