import Testing
import VigilAgent
import VigilDetect
import VigilKernel

extension SinksTests {
    @Suite("syslog message bytes")
    struct SyslogMessageTests {
        /// 2025-11-30T02:30:35.123456789Z, a shell in container "web".
        static let record = OutputRecord(
            time: Timestamp(seconds: 1_764_469_835, nanoseconds: 123_456_789), priority: .warning,
            name: "shell_in_container", json: Array(#"{"rule":"shell_in_container","output":"Shell"}"#.utf8),
            text: "shell", message: "Shell",
            structuredData: [
                (
                    "vigil@32473",
                    [
                        ("rule", "shell_in_container"), ("container", "web"), ("workload", "image:nginx:latest"),
                        ("pid", "123"), ("exe", "/bin/sh"),
                    ]
                )
            ])

        @Test("PRI is facility × 8 + severity: authpriv warning is 84")
        func priArithmetic() {
            #expect(SyslogFacility.authpriv.pri(.warning) == 84)
            #expect(SyslogFacility.kern.pri(.emergency) == 0)
            #expect(SyslogFacility.user.pri(.notice) == 13)
            #expect(SyslogFacility.local7.pri(.debug) == 191)
            #expect(SyslogFacility.auth.pri(.critical) == 34)
            #expect(Priority.allCases.map(\.syslogSeverity) == [0, 1, 2, 3, 4, 5, 6, 7])
            #expect(
                Priority.allCases.map(\.rawValue) == [
                    "Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug",
                ])
        }

        @Test("an RFC 5424 message has the exact expected bytes")
        func rfc5424Bytes() {
            let bytes = SyslogMessage.rfc5424(Self.record, facility: .authpriv, hostname: "node1", processID: 4242)
            let expected =
                #"<84>1 2025-11-30T02:30:35.123456Z node1 vigil 4242 shell_in_container "#
                + #"[vigil@32473 rule="shell_in_container" container="web" workload="image:nginx:latest" pid="123" exe="/bin/sh"] "#
                + #"{"rule":"shell_in_container","output":"Shell"}"#
            #expect(String(decoding: bytes, as: UTF8.self) == expected)
        }

        @Test("the facility changes only the PRI")
        func facilityChangesPRI() {
            let bytes = SyslogMessage.rfc5424(Self.record, facility: .local3, hostname: "node1", processID: 1)
            #expect(
                String(decoding: bytes, as: UTF8.self).hasPrefix("<156>1 2025-11-30T02:30:35.123456Z node1 vigil 1 "))
        }

        @Test("SD values escape quote, backslash and closing bracket; names lose what they may not hold")
        func structuredDataEscaping() {
            var record = Self.record
            record.structuredData = [("vigil@32473", [("exe", #"/tmp/a"b\c]d"#), ("bad name=", "x")]), ("second", [])]
            let text = String(
                decoding: SyslogMessage.rfc5424(record, facility: .authpriv, hostname: "h", processID: 1), as: UTF8.self
            )
            #expect(text.contains(#"[vigil@32473 exe="/tmp/a\"b\\c\]d" bad_name_="x"][second] {"#))
        }

        @Test("empty fields are the NILVALUE, and header fields hold printable ASCII only, cut to the RFC's lengths")
        func headerFields() {
            var record = Self.record
            record.name = ""
            record.structuredData = []
            record.appName = "vigil agent"
            let text = String(
                decoding: SyslogMessage.rfc5424(record, facility: .authpriv, hostname: "", processID: 7), as: UTF8.self)
            #expect(text.hasPrefix("<84>1 2025-11-30T02:30:35.123456Z - vigil_agent 7 - - {"))

            record.name = String(repeating: "m", count: 40)
            record.appName = String(repeating: "a", count: 60)
            let long = String(
                decoding: SyslogMessage.rfc5424(record, facility: .authpriv, hostname: "hôst", processID: 7),
                as: UTF8.self)
            #expect(
                long.hasPrefix(
                    "<84>1 2025-11-30T02:30:35.123456Z h__st \(String(repeating: "a", count: 48)) 7 \(String(repeating: "m", count: 32)) - {"
                ))
        }

        @Test("the timestamp has microseconds (RFC 5424 allows six fraction digits), truncated not rounded")
        func timestamp() {
            #expect(
                SyslogMessage.rfc5424Timestamp(Timestamp(seconds: 0, nanoseconds: 999_999_999))
                    == "1970-01-01T00:00:00.999999Z")
            #expect(
                SyslogMessage.rfc5424Timestamp(Timestamp(seconds: 1_764_469_835, nanoseconds: 5_000))
                    == "2025-11-30T02:30:35.000005Z")
        }

        @Test("octet-counting frames a message as LEN SP MSG, counting bytes not characters")
        func octetCounting() {
            #expect(SyslogMessage.octetCounted(Array("abc".utf8)) == Array("3 abc".utf8))
            #expect(SyslogMessage.octetCounted(Array("é".utf8)) == Array("2 é".utf8))
            let message = SyslogMessage.rfc5424(Self.record, facility: .authpriv, hostname: "node1", processID: 4242)
            let frame = SyslogMessage.octetCounted(message)
            #expect(frame == Array("\(message.count) ".utf8) + message)
        }

        @Test("the local form is <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG, the day padded with a space")
        func localForm() {
            let bytes = SyslogMessage.local(Self.record, facility: .authpriv, processID: 4242, clock: .utc)
            #expect(
                String(decoding: bytes, as: UTF8.self)
                    == #"<84>Nov 30 02:30:35 vigil[4242]: {"rule":"shell_in_container","output":"Shell"}"#)

            var early = Self.record
            early.time = Timestamp(seconds: 1_762_135_445, nanoseconds: 0)  // 2025-11-03T02:04:05Z
            early.priority = .critical
            early.appName = "vig:il[x]"
            let text = String(
                decoding: SyslogMessage.local(early, facility: .auth, processID: 1, clock: .utc), as: UTF8.self)
            #expect(text.hasPrefix("<34>Nov  3 02:04:05 vig_il_x][1]: {"))
        }
    }
}
