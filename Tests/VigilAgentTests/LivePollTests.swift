import Glibc
import Testing
import VigilTestSupport

extension LiveAgentTests {
    @Suite("vigil watch --events --source poll (the cgroup poll, forced)", LiveGate.needsRoot, LiveGate.needsDocker)
    struct LivePollTests {
        @Test(
            "polling every 100ms finds every long-lived process and the container's start and stop; the burst catch rate is measured"
        )
        func pollFindsLongLivedProcessesAndMeasuresTheBurst() throws {
            try requireLiveAgent()
            let containers = TestContainers(test: "poll")
            defer { containers.removeAll() }
            let gate = try Gate()
            defer { gate.remove() }
            let agent = try WatchAgent(["--events", "--format", "json", "--source", "poll", "--poll-interval", "100ms"])
            // Said once the node has been taken in; from then on every change is reported.
            let polling = agent.waitFor(seconds: 60) {
                $0.statuses.contains { ($0.message ?? "").hasPrefix("watching by polling") }
            }
            try #require(polling, "the agent did not say it is polling: \(agent.diagnostics())")
            let announcement = agent.lines.statuses.first { ($0.message ?? "").hasPrefix("watching by polling") }
            #expect(announcement?.message?.contains("100ms") == true, "\(announcement?.message ?? "")")

            // The shell waits at the gate until the poll has found the container, then starts `sleep 5`
            // alongside 2,000 execs of /bin/true.
            let script = "read x < /gate/go; sleep 5 & \(burstScript(2000)); wait"
            let id = try containers.run("poll", options: gate.mountOption, ["sh", "-c", script])
            let shellPid = try containers.mainPid(id)
            let found = agent.waitFor(seconds: 60) { $0.about(id).contains { $0.event == "container_start" } }
            try #require(found, "the poll did not find the container: \(agent.diagnostics())")
            // The waiting shell is long-lived: it must be found too.
            let shellFound = agent.waitFor(seconds: 30) { $0.about(id).contains { $0.isExec && $0.pid == shellPid } }
            #expect(shellFound, "the container's shell (pid \(shellPid)) was not found")

            try gate.open()
            #expect(try containers.waitForExit(id) == 0)
            let stopped = agent.waitFor(seconds: 60) { $0.about(id).contains { $0.event == "container_stop" } }
            #expect(stopped, "no container_stop from the poll: \(agent.diagnostics())")
            #expect(agent.stop() == 0)
            #expect(agent.malformed.isEmpty, "lines that are not JSON events: \(agent.malformed.prefix(3))")

            let lines = agent.lines.about(id)
            let starts = lines.events("container_start")
            let stops = lines.events("container_stop")
            let (startCount, stopCount) = (starts.count, stops.count)
            #expect(startCount == 1 && stopCount == 1)
            let start = try #require(starts.first)
            let stop = try #require(stops.first)
            for line in [start, stop] {
                #expect(line.source == "poll")
                #expect(line.string("container.name") == containers.name("poll"))
                #expect(line.string("vigil.workload") == "image:\(LiveGate.testImage)")
            }
            #expect(start.index < stop.index)
            let notPolled = lines.filter { $0.event != "alert" && $0.source != "poll" }.count
            #expect(notPolled == 0, "lines not from the poll")

            // Every long-lived process: the sleep 5 started alongside the burst, and its exit.
            let sleeps = lines.filter { $0.isExec && $0.args == ["sleep", "5"] }
            let sleepCount = sleeps.count
            #expect(sleepCount == 1, "sleep 5 found other than once")
            if let sleep = sleeps.first {
                #expect(sleep.ppid == shellPid)
                #expect(sleep.string("proc.exepath") == "/bin/busybox")
                let sleepExited = lines.contains { $0.isExit && $0.pid == sleep.pid && $0.index > sleep.index }
                #expect(sleepExited, "the sleep's exit was not found")
            }

            // The burst: how many of the 2,000 the poll saw, after their exec (as true) or only before it
            // (still a copy of the shell). Printed, not asserted: polling is expected to miss most.
            let children = lines.filter { $0.isExec && $0.ppid == shellPid }
            let asTrue = Set(
                children.filter { $0.string("proc.name") == "true" || $0.args == ["/bin/true"] }.compactMap(\.pid))
            let beforeExec = Set(children.filter { $0.args?.first == "sh" }.compactMap(\.pid))
            let permille = asTrue.count * 1000 / 2000
            print(
                "[poll 100ms] burst of 2,000 /bin/true: caught \(asTrue.count) as true (\(permille / 10).\(permille % 10)%), \(beforeExec.count) more only as forked shells before their exec; sleep 5 found: \(!sleeps.isEmpty)"
            )
            let caught = asTrue.count
            #expect(caught <= 2000)

            // The container's first process is found as what it runs, not as the runtime's init it was a
            // moment before its exec.
            let shell = lines.first { $0.isExec && $0.pid == shellPid }
            let reportedArgs = shell?.args ?? []
            #expect(reportedArgs == ["sh", "-c", script], "the shell was reported with args \(reportedArgs)")
        }
    }
}
