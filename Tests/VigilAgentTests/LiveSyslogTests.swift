import Glibc
import Testing
import VigilTestSupport
import VigilJSON

extension LiveAgentTests {
    /// The agent's alerts reaching a real rsyslogd over the local socket, UDP and TCP at once, read back
    /// from rsyslogd's own output file: the whole path, from a container's exec to a syslog line.
    @Suite("Live syslog: vigil watch to a real rsyslogd", LiveGate.needsRoot, LiveGate.needsDocker, Rsyslog.needsRsyslog)
    struct LiveSyslogTests {
        @Test("an alert from a docker exec arrives at rsyslogd over the local socket, UDP and TCP, with facility, severity and structured data")
        func alertsReachRsyslog() throws {
            try requireLiveAgent()
            let rsyslog = try Rsyslog()
            defer { rsyslog.remove() }
            try rsyslog.start()
            let containers = TestContainers(test: "syslog")
            defer { containers.removeAll() }
            let agent = try WatchAgent([
                "--format", "json", "--output", "stdout", "--output", "syslog:unix:\(rsyslog.socketPath)",
                "--output", "syslog:udp://127.0.0.1:\(rsyslog.udpPort)", "--output", "syslog:tcp://127.0.0.1:\(rsyslog.tcpPort)",
                "--syslog-facility", "local3",
            ])
            try agent.waitUntilWatchingWithConnector()
            let id = try containers.run("syslog", ["sleep", "300"])
            let exec = containers.docker(["exec", id, "sh", "-c", "sleep 0.2; echo syslog-test"])
            #expect(exec.status == 0, "\(exec)")

            // The alert on stdout first, then the same alert at rsyslogd over each input.
            let short = String(id.prefix(12))
            #expect(agent.waitFor(seconds: 30) { lines in lines.contains { $0.event == "alert" && $0.string("container.id") == short } })
            let arrived = LiveGate.waitUntil(seconds: 30) {
                ["imuxsock", "imudp", "imtcp"].allSatisfy { input in
                    rsyslog.lines(rsyslog.parsedPath, input: input).contains { $0.contains("shell_in_container") && $0.contains(short) }
                }
            }
            #expect(arrived, "not every input got the alert: \(rsyslog.diagnostics)")
            for input in ["imuxsock", "imudp", "imtcp"] {
                let line = try #require(
                    rsyslog.lines(rsyslog.parsedPath, input: input).first { $0.contains("shell_in_container") && $0.contains(short) })
                // INPUT|PRI|APP|PROCID|MSGID|SD|MSG, input removed: local3 (19) × 8 + Notice (5) = 157.
                let fields = line.split(separator: "|", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
                #expect(fields.count == 6, "\(line)")
                guard fields.count == 6 else { continue }
                #expect(fields[0] == "157", "PRI over \(input): \(line)")
                #expect(fields[1] == "vigil", "APP-NAME over \(input)")
                #expect(fields[2] == String(agent.pid), "PROCID over \(input)")
                if input != "imuxsock" {
                    #expect(fields[3] == "shell_in_container", "MSGID over \(input)")
                    #expect(fields[4].contains("rule=\"shell_in_container\"") && fields[4].contains(short), "SD over \(input): \(fields[4])")
                }
                let message = fields[5].trimmingPrefix(while: { $0 == " " })
                let document = try JSONParser.parse(String(message))
                #expect(document["rule"]?.string == "shell_in_container", "MSG over \(input)")
                #expect(document["output_fields"]?["container.full_id"]?.string == id)
            }
            #expect(agent.stop() == 0)
        }
    }
}

extension Substring {
    fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring {
        var result = self
        while let first = result.first, predicate(first) { result = result.dropFirst() }
        return result
    }
}
