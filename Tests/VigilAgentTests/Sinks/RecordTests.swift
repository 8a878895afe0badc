import Testing
import VigilAgent
import VigilDetect
import VigilKernel
import VigilNode

extension SinksTests {
    @Suite("records from alerts and events")
    struct RecordTests {
        let encoder = EventLineEncoder(hostname: "node1", format: .json)
        let time = Timestamp(seconds: 1_764_469_835, nanoseconds: 0)

        @Test("an alert's record carries its JSON line without the newline, its priority, and the rule as MSGID and SD")
        func alert() {
            var alert = Alert(
                rule: .shellInContainer, priority: .warning, time: time, output: "Shell started", container: nil)
            alert.count = 12
            alert.isSummary = true
            let record = encoder.record(alert)
            #expect(record.json == encoder.json(alert))
            #expect(record.json.last != 0x0A)
            #expect(record.priority == .warning)
            #expect(record.name == "shell_in_container")
            #expect(record.message == "Shell started")
            #expect(record.text == encoder.text(alert))
            let bytes = SyslogMessage.rfc5424(record, facility: .authpriv, hostname: "node1", processID: 1)
            #expect(
                String(decoding: bytes, as: UTF8.self).hasPrefix(
                    #"<84>1 2025-11-30T02:30:35.000000Z node1 vigil 1 shell_in_container [vigil@32473 rule="shell_in_container" count="12"] {"#
                ))
        }

        @Test("a status event's record is a Notice named agent_status, its JSON without the newline")
        func status() {
            let record = encoder.record(
                ActivityEvent.status("sink x dropped 3 lines", counters: [("sink_dropped", 3)], time: time))
            #expect(record.priority == .notice)
            #expect(record.name == "agent_status")
            #expect(record.json.last == 0x7D)  // }
            #expect(String(decoding: record.json, as: UTF8.self).contains(#""vigil.sink_dropped":3"#))
            #expect(record.structuredData.first?.params.first?.0 == "event")
            #expect(record.structuredData.first?.params.first?.1 == "agent_status")
            #expect(record.message == "sink x dropped 3 lines")
        }
    }
}
