import Glibc
import Testing
import VigilTestSupport

extension LiveAgentTests {
    @Suite("The agent confines itself once set up", LiveGate.needsRoot, LiveGate.needsDocker)
    struct LiveConfinementTests {
        /// `Seccomp:` and `NoNewPrivs:` of every thread of `pid`.
        static func threadStates(_ pid: pid_t) -> [(seccomp: String, noNewPrivs: String)] {
            LiveGate.listDirectory("/proc/\(pid)/task").compactMap { task in
                guard let status = LiveGate.readText("/proc/\(pid)/task/\(task)/status") else { return nil }
                func value(_ key: String) -> String {
                    status.split(separator: "\n").first { $0.hasPrefix(key + ":") }.map { String($0.dropFirst(key.count + 1).filter { !$0.isWhitespace }) } ?? ""
                }
                return (value("Seccomp"), value("NoNewPrivs"))
            }
        }

        @Test("every thread runs under its seccomp filter with no_new_privs, and the agent still sees and reports everything")
        func confinedAndWorking() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("confine")
            defer { scratch.remove() }
            let containers = TestContainers(test: "confine")
            defer { containers.removeAll() }
            let agent = try WatchAgent(["--format", "json"] + LiveRules.configuration("[alerts]\ndedup_window = 0\n", in: scratch))
            try agent.waitUntilWatchingWithConnector()
            #expect(agent.refresh().statuses.contains { ($0.message ?? "").hasPrefix("confined: ") }, "\(agent.diagnostics())")
            let threads = Self.threadStates(agent.pid)
            #expect(threads.count >= 2, "\(threads)")
            #expect(threads.allSatisfy { $0.seccomp == "2" && $0.noNewPrivs == "1" }, "\(threads)")

            // Confined, it still follows a container, reads its processes, raises alerts and writes baselines.
            let id = try containers.run("web", ["sleep", "300"])
            #expect(containers.docker(["exec", id, "sh", "-c", "sleep 0.3; true"]).status == 0)
            let reader = AlertReader(agent)
            #expect(reader.waitFor(id, seconds: 20) { $0.contains { $0.rule == "shell_in_container" } }, "\(reader.about(id).briefs)")
            // Threads started after the filter was loaded inherit it.
            #expect(Self.threadStates(agent.pid).allSatisfy { $0.seccomp == "2" })
            #expect(agent.stop() == 0, "\(agent.diagnostics())")
        }

        @Test("confine = false leaves the agent unconfined")
        func confinementOff() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("unconfined")
            defer { scratch.remove() }
            let agent = try WatchAgent(["--format", "json"] + LiveRules.configuration("[watch]\nconfine = false\n", in: scratch))
            try agent.waitUntilWatchingWithConnector()
            #expect(!agent.refresh().statuses.contains { ($0.message ?? "").hasPrefix("confined: ") })
            #expect(Self.threadStates(agent.pid).allSatisfy { $0.seccomp == "0" }, "\(Self.threadStates(agent.pid))")
            #expect(agent.stop() == 0)
        }
    }
}
