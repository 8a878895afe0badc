import Glibc
import Testing
import VigilTestSupport

extension LiveAgentTests.LiveRulesTests {
    @Test("a near-privileged container raises one insecure_container alert listing its findings; a hardened one raises none")
    func insecureContainer() throws {
        try requireLiveAgent()
        let scratch = try ScratchDirectory("posture")
        defer { scratch.remove() }
        let containers = TestContainers(test: "rules-posture")
        defer { containers.removeAll() }
        let (agent, reader) = try Self.startAgent(nil, in: scratch, posture: true)
        let risky = try containers.run(
            "risky", options: ["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined"],
            ["sleep", "300"])
        let hardened = try containers.run(
            "hardened",
            options: [
                "--user", "1000", "--cap-drop", "ALL", "--read-only", "--security-opt", "no-new-privileges",
                "--pids-limit", "64", "--memory", "64m", "--cpus", "0.5",
            ], ["sleep", "300"])

        #expect(
            reader.waitFor(risky, seconds: 30) { !$0.rule("insecure_container").isEmpty },
            "no insecure_container for the near-privileged container")
        // The hardened one was audited too (a second after its start): give it the same time.
        LiveGate.pause(milliseconds: 3000)
        let alerts = reader.about(risky).rule("insecure_container")
        #expect(alerts.count == 1, "one alert when it starts, not more: \(alerts.briefs)")
        if let alert = alerts.first {
            #expect(alert.priority == "Critical")
            let findings = alert.strings("vigil.findings") ?? []
            #expect(findings.contains("privileged:critical"), "\(findings)")
            #expect(findings.contains("seccomp_disabled:high"), "\(findings)")
        }
        #expect(reader.about(hardened).rule("insecure_container").isEmpty, "\(reader.about(hardened).briefs)")
        Self.finish(agent, reader, ids: [risky, hardened])
    }
}
