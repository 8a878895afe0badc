import Glibc
import Testing
import VigilTestSupport
import VigilJSON

extension LiveAgentTests {
    /// Without the connector the agent falls back to polling on its own, and says what that loses.
    @Suite("Live fallback: no connector, polling instead", LiveGate.needsRoot)
    struct LiveFallbackTests {
        @Test("in a network namespace of its own (no process events there) the agent polls, and an agent_status line says what is lost")
        func fallsBackToPolling() throws {
            let vigil = try LiveGate.requireVigil()
            // `timeout` ends it with SIGTERM after 3 s: it must flush and exit 0 (passed on by --preserve-status).
            let result = LiveGate.run(
                ["timeout", "--preserve-status", "-s", "TERM", "3", "unshare", "--net", vigil, "watch", "--format", "json"], timeoutSeconds: 30)
            #expect(result.status == 0, "\(result)")
            let lines = result.text.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
            let messages = lines.compactMap { $0["output_fields"]?["vigil.message"]?.string }
            #expect(
                messages.contains { $0.contains("process-events connector unavailable") && $0.contains("may be missed") },
                "\(messages)")
            #expect(messages.contains { $0.hasPrefix("watching by polling the cgroup tree") }, "\(messages)")
            #expect(messages.last == "stopping", "\(messages)")
        }

        @Test("--source connector where the connector cannot work fails at start with a clear message (exit status 1)")
        func connectorRequiredFails() throws {
            let vigil = try LiveGate.requireVigil()
            let result = LiveGate.run(["unshare", "--net", vigil, "watch", "--source", "connector"], timeoutSeconds: 30)
            #expect(result.status == 1, "\(result)")
            #expect(result.errorText.contains("process events"), "\(result.errorText)")
        }
    }
}
