import Glibc
import Testing
import VigilTestSupport
import VigilKernel

@testable import VigilAgent

extension SinksTests {
    /// Against a real rsyslogd started by the test (see Support/Rsyslog.swift).
    @Suite("real rsyslogd", .serialized, Rsyslog.needsRsyslog)
    struct RsyslogTests {
        static let inputs = ["imuxsock", "imudp", "imtcp"]

        static func specs(_ daemon: Rsyslog) throws -> [OutputSpec] {
            let loopback = try #require(IPAddress("127.0.0.1"))
            return [
                .localSyslog(path: daemon.socketPath),
                .remoteSyslog(.udp, loopback, port: daemon.udpPort),
                .remoteSyslog(.tcp, loopback, port: daemon.tcpPort),
            ]
        }

        @Test("rsyslogd receives the lines over its unix socket, UDP and TCP, and parses every field")
        func receives() throws {
            let daemon = try Rsyslog()
            defer { daemon.remove() }
            try daemon.start()
            let log = StatusLog()
            let sinks = try SinkSet(
                specs: try Self.specs(daemon), format: .json, hostname: "node1", facility: .authpriv, processID: 4242,
                status: log.handler)
            let total = 100
            for sequence in 0..<total { sinks.publish(SinkTest.record(sequence)) }
            sinks.close(timeout: 5_000_000_000)
            for statistics in sinks.statistics() { #expect(statistics.delivered == UInt64(total), "\(statistics)") }

            let arrived = SinkTest.eventually(within: 15) {
                Self.inputs.allSatisfy { daemon.lines(daemon.rawPath, input: $0).count >= total }
            }
            daemon.stop()
            #expect(arrived, "\(daemon.diagnostics)")
            for input in Self.inputs {
                let raw = daemon.lines(daemon.rawPath, input: input)
                #expect(raw.flatMap { SinkTest.sequences(in: $0) } == Array(0..<total), "\(input)")
            }
            let json = #"{"rule":"test_line","seq":7,"pad":""}"#
            #expect(
                daemon.lines(daemon.rawPath, input: "imtcp")[7]
                    == #"<84>1 2025-11-30T02:30:35.123456Z node1 vigil 4242 test_line [vigil@32473 rule="test_line" seq="7"] "#
                    + json)
            // rsyslog's own parsers agree on every field: PRI, APP-NAME, PROCID, MSGID, structured data, MSG.
            for input in ["imudp", "imtcp"] {
                #expect(
                    daemon.lines(daemon.parsedPath, input: input)[7]
                        == #"84|vigil|4242|test_line|[vigil@32473 rule="test_line" seq="7"]|"# + json, "\(input)")
            }
            // The local socket's form: the tag is parsed into APP-NAME and PROCID; MSG keeps the space after the tag.
            #expect(daemon.lines(daemon.parsedPath, input: "imuxsock")[7] == "84|vigil|4242|-|-| " + json)
            #expect(log.all.isEmpty, "\(log.text)")
        }

        @Test(
            "stopping and restarting rsyslogd mid-stream loses nothing silently: every line arrives or is reported lost",
            arguments: [
                // Held through the outage: everything arrives, late.
                30_000_000_000,
                // Held 0.2 s only: what waited longer is lost, and the recovery report counts it.
                200_000_000,
            ] as [UInt64])
        func restart(holdLimit: UInt64) throws {
            let daemon = try Rsyslog()
            defer { daemon.remove() }
            try daemon.start()
            let log = StatusLog()
            var tuning = SinkTuning()
            tuning.retryMax = 200_000_000
            tuning.lossReportInterval = 200_000_000
            tuning.holdLimit = holdLimit
            let specs = try Self.specs(daemon)
            let sinks = try SinkSet(
                specs: specs, format: .json, hostname: "node1", facility: .authpriv, tuning: tuning, processID: 4242,
                status: log.handler)

            // A line every 5 ms; rsyslogd is stopped after 100 of them, stays down 300 ms after it exited,
            // and is started again while lines keep coming.
            let total = 600
            var stopRequested = false
            var exitedAt: UInt64?
            for sequence in 0..<total {
                sinks.publish(SinkTest.record(sequence))
                LiveGate.pause(milliseconds: 5)
                if sequence == 100 {
                    daemon.requestStop()
                    stopRequested = true
                }
                if stopRequested, exitedAt == nil, daemon.hasExited { exitedAt = SinkTest.now() }
                if let exited = exitedAt, daemon.starts == 1, SinkTest.now() - exited > 300_000_000 {
                    try daemon.start()
                }
            }
            try #require(daemon.starts == 2, "rsyslogd did not stop in time: \(daemon.diagnostics)")
            let settled = SinkTest.eventually(within: 20) {
                sinks.statistics().allSatisfy { $0.delivered + $0.lost + $0.dropped >= UInt64(total) }
            }
            sinks.close(timeout: 5_000_000_000)
            #expect(settled, "\(sinks.statistics())")
            // rsyslogd writes what it took: wait for every line not reported lost.
            func received(_ input: String) -> [Int] {
                daemon.lines(daemon.rawPath, input: input).flatMap { SinkTest.sequences(in: $0) }
            }
            _ = SinkTest.eventually(within: 10) {
                zip(specs, Self.inputs).allSatisfy { spec, input in
                    Set(received(input)).count + Int(log.reportedLosses(spec.description)) >= total
                }
            }
            daemon.stop()

            for (spec, input) in zip(specs, Self.inputs) {
                let label = spec.description
                let sequences = received(input)
                let missing = Set(0..<total).subtracting(sequences)
                let statistics = try #require(sinks.statistics().first { $0.sink == label })
                let reported = log.reportedLosses(label)
                let duplicates = sequences.count - Set(sequences).count
                let summary =
                    "\(input): \(missing.count) missing \(missing.sorted().prefix(20)), \(duplicates) duplicates, \(reported) reported lost; \(statistics); reports: \(log.about(label).map(\.message))"
                #expect(missing.count <= Int(reported), "lines vanished without a report — \(summary)")
                #expect(
                    reported == statistics.lost + statistics.dropped + statistics.undelivered,
                    "every loss is reported — \(summary)")
                #expect(
                    duplicates <= Int(statistics.resent),
                    "every duplicate was a line sent again, and said so — \(summary)")
                #expect(statistics.outages >= 1, "the sink noticed the daemon was gone — \(summary)")
                #expect(Set(sequences).isSuperset(of: 0..<100), "everything before the stop arrived — \(summary)")
                #expect(
                    log.about(label).contains { $0.message.contains("is delivering again") },
                    "the recovery is reported — \(summary)")
                if holdLimit < 1_000_000_000 {
                    #expect(reported > 0, "an outage longer than the hold limit loses lines, and says so — \(summary)")
                } else {
                    #expect(missing.isEmpty, "held lines arrive late — \(summary)")
                }
                print("[rsyslog restart, hold \(holdLimit / 1_000_000) ms] \(summary)")
            }
        }
    }
}
