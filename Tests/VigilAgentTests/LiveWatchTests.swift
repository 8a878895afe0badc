import Glibc
import Testing
import VigilTestSupport
import VigilJSON

/// Every live agent test runs alone (`.serialized` applies to the nested suites too): each starts its own
/// `vigil watch` and its own containers, and two bursts at once on a two-core machine would measure each
/// other rather than the agent.
@Suite("Live agent (vigil watch against the real kernel and Docker)", .serialized)
struct LiveAgentTests {}

/// The prerequisites of a live agent test: fails (under CI) or was skipped (elsewhere) without them.
func requireLiveAgent() throws {
    try LiveGate.require(LiveGate.isRoot, "root (the process-events connector needs CAP_NET_ADMIN)")
    try LiveGate.require(LiveGate.dockerAvailable, "a Docker daemon with the image \(LiveGate.testImage)")
    _ = try LiveGate.requireVigil()
}

/// `sh -c` script: `count` execs of /bin/true, one after another.
func burstScript(_ count: Int) -> String {
    "i=0; while [ $i -lt \(count) ]; do /bin/true; i=$((i+1)); done"
}

extension LiveAgentTests {
    @Suite("vigil watch --events with the process-events connector", LiveGate.needsRoot, LiveGate.needsDocker)
    struct LiveWatchTests {
        static let busybox = "/bin/busybox"

        // MARK: Every exec

        @Test("every one of 2,000 short-lived execs in a container is reported with its container, and every exit")
        func burstOfShortLivedExecs() throws {
            try requireLiveAgent()
            let containers = TestContainers(test: "burst")
            defer { containers.removeAll() }
            // No periodic resync during the test: every line must come from the connector itself.
            let agent = try WatchAgent([
                "--events", "--format", "json", "--source", "connector", "--resync-interval", "1h",
            ])
            try agent.waitUntilWatchingWithConnector()

            let id = try containers.run("burst", ["sh", "-c", burstScript(2000)])
            #expect(try containers.waitForExit(id) == 0)
            let stopped = agent.waitFor(seconds: 120) { $0.about(id).contains { $0.event == "container_stop" } }
            #expect(stopped, "no container_stop for \(id.prefix(12)): \(agent.diagnostics())")
            #expect(agent.stop() == 0)
            #expect(agent.malformed.isEmpty, "lines that are not JSON events: \(agent.malformed.prefix(3))")

            let lines = agent.lines.about(id)
            // The runtime's own `runc init`, which is not the workload, is kept apart (see below).
            let runtimeInits = Set(lines.filter { $0.isExec && Self.isRuntimeInit($0) }.compactMap(\.pid))
            let execs = lines.filter { $0.isExec && !runtimeInits.contains($0.pid ?? -1) }
            let exits = lines.filter { $0.isExit && !runtimeInits.contains($0.pid ?? -1) }
            let shell = try #require(
                execs.first { $0.args?.first == "sh" },
                "no process_exec of the container's sh among \(execs.count) execs")
            let shellPid = try #require(shell.pid)
            let children = execs.filter { $0.ppid == shellPid }
            let argsRead = children.filter { $0.args == ["/bin/true"] }
            let gone = children.filter { $0.missing != nil }
            let neither = children.filter { $0.args != ["/bin/true"] && $0.missing == nil }
            let lost = agent.lines.statuses.compactMap { $0.int("vigil.lost_events") }.reduce(0, +)
            print(
                "[burst] connector: \(execs.count) process_exec (\(children.count) children of sh \(shellPid)): args read \(argsRead.count), gone before read (vigil.missing) \(gone.count), neither \(neither.count); \(exits.count) process_exit; lost events reported \(lost)"
            )

            // Every exec and every exit of the container, each exactly once.
            let (execCount, childCount, exitCount) = (execs.count, children.count, exits.count)
            let others = execs.filter { $0.ppid != shellPid && $0.pid != shellPid }.map(Self.brief)
            #expect(
                execCount == 2001, "process_exec lines for the container; expected 2000 /bin/true + the sh; others: \(others)")
            #expect(childCount == 2000, "children of the loop shell")
            #expect(exitCount == 2001, "process_exit lines for the container")
            let childExits = exits.filter { $0.ppid == shellPid }
            let childExitCount = childExits.count
            let nonzero = childExits.filter { $0.int("proc.exit_code") != 0 }.count
            #expect(childExitCount == 2000)
            #expect(nonzero == 0, "a /bin/true did not exit 0")
            let shellExitCode = exits.first { $0.pid == shellPid }?.int("proc.exit_code")
            #expect(shellExitCode == 0)
            let distinctPids = Set(children.compactMap(\.pid)).count
            #expect(distinctPids == 2000, "a pid was reported twice")
            for line in execs + exits {
                #expect(line.string("container.id") == String(id.prefix(12)))
                #expect(line.source == "connector", "line \(line.index) came from \(line.source ?? "nowhere")")
            }
            // A process gone before it was read still says what the event told: pid, parent, the parent's exe.
            for line in gone where line.missing?.contains("exe") == true {
                #expect(line.isNull("proc.exepath"))
                // The command line may have been read a moment before the executable was released.
                if line.missing?.contains("cmdline") == true { #expect(line.isNull("proc.cmdline")) }
                #expect(line.string("proc.pexepath") == Self.busybox, "\(Self.brief(line))")
            }
            let runtimeLines = lines.filter { runtimeInits.contains($0.pid ?? -1) }.map(Self.brief)
            #expect(runtimeLines.isEmpty, "lines about the runtime's init")
        
            let neitherCount = neither.count
            #expect(
                neitherCount == 0,
                "execs with neither their args nor vigil.missing, e.g. \(neither.first.map(Self.brief) ?? "")")
            let exeless = children.filter { $0.isNull("proc.exepath") && !($0.missing ?? []).contains("exe") }
            let exelessCount = exeless.count
            #expect(
                exelessCount == 0,
                "execs with proc.exepath null and no \"exe\" in vigil.missing, e.g. \(exeless.first.map(Self.brief) ?? "")"
            )
        }

        // MARK: Containers

        @Test("a container that starts and stops while watching gives container_start and container_stop lines")
        func containerStartAndStop() throws {
            try requireLiveAgent()
            let containers = TestContainers(test: "startstop")
            defer { containers.removeAll() }
            let agent = try WatchAgent(["--events", "--format", "json"])
            try agent.waitUntilWatchingWithConnector()

            let id = try containers.run("startstop", ["sh", "-c", "sleep 1"])
            #expect(try containers.waitForExit(id) == 0)
            let stopped = agent.waitFor(seconds: 60) { $0.about(id).contains { $0.event == "container_stop" } }
            #expect(stopped, "no container_stop: \(agent.diagnostics())")
            #expect(agent.stop() == 0)

            let lines = agent.lines.about(id)
            let starts = lines.events("container_start")
            let stops = lines.events("container_stop")
            #expect(starts.count == 1)
            #expect(stops.count == 1)
            let start = try #require(starts.first)
            let stop = try #require(stops.first)
            #expect(start.index < stop.index)
            let execsBeforeStart = lines.filter { $0.isExec && $0.index < start.index }.count
            let exitsAfterStop = lines.filter { $0.isExit && $0.index > stop.index }.count
            #expect(execsBeforeStart == 0, "a process_exec came before container_start")
            #expect(exitsAfterStop == 0, "a process_exit came after container_stop")
            for line in [start, stop] {
                #expect(line.string("container.id") == String(id.prefix(12)))
                #expect(line.string("container.name") == containers.name("startstop"))
                #expect(line.string("container.image") == LiveGate.testImage)
                #expect(line.string("container.runtime") == "docker")
                #expect(line.string("vigil.workload") == "image:\(LiveGate.testImage)")
                #expect(line.source == "connector")
            }
        }

        // MARK: Exits

        @Test("exit codes, signals and durations: exit 3, SIGKILL (137, signal 9), and a one-second sleep")
        func exitCodesSignalsAndDurations() throws {
            try requireLiveAgent()
            let containers = TestContainers(test: "exits")
            defer { containers.removeAll() }
            let agent = try WatchAgent(["--events", "--format", "json"])
            try agent.waitUntilWatchingWithConnector()

            // Three children of one shell, one after another: exit 3; killed by SIGKILL; sleep 1.
            let script = #"sh -c 'exit 3'; sh -c 'kill -9 $$'; sleep 1; exit 0"#
            let id = try containers.run("exits", ["sh", "-c", script])
            #expect(try containers.waitForExit(id) == 0)
            let stopped = agent.waitFor(seconds: 60) { $0.about(id).contains { $0.event == "container_stop" } }
            #expect(stopped, "no container_stop: \(agent.diagnostics())")
            #expect(agent.stop() == 0)

            let lines = agent.lines.about(id)
            let shell = try #require(
                lines.first { $0.isExec && $0.args == ["sh", "-c", script] }, "no exec of the shell")
            let children = lines.filter { $0.isExec && $0.ppid == shell.pid }
            try #require(children.count == 3, "children of the shell: \(children.map(Self.brief))")
            func exit(of exec: EventLine) throws -> EventLine {
                try #require(
                    lines.first { $0.isExit && $0.pid == exec.pid && $0.index > exec.index },
                    "no exit for \(Self.brief(exec))")
            }
            // The children in the order they ran; their args, where read, say which is which.
            let (exit3, killed, sleeper) = (children[0], children[1], children[2])
            if let args = exit3.args { #expect(args == ["sh", "-c", "exit 3"]) }
            if let args = killed.args { #expect(args == ["sh", "-c", "kill -9 $$"]) }
            if let args = sleeper.args { #expect(args == ["sleep", "1"]) }

            let exited3 = try exit(of: exit3)
            #expect(exited3.int("proc.exit_code") == 3)
            #expect(exited3.isNull("proc.exit_signal"))
            let exitedKilled = try exit(of: killed)
            #expect(exitedKilled.int("proc.exit_signal") == 9)
            #expect(exitedKilled.int("proc.exit_code") == 137)
            let slept = try exit(of: sleeper)
            #expect(slept.int("proc.exit_code") == 0)
            let duration = try #require(slept.int("proc.duration_ns"), "no proc.duration_ns: \(Self.brief(slept))")
            print("[exits] sleep 1 reported proc.duration_ns \(duration)")
            #expect(abs(duration - 1_000_000_000) <= 300_000_000, "sleep 1 took \(duration) ns by Vigil's account")
            let shortOne = try #require(exited3.int("proc.duration_ns"))
            #expect(shortOne >= 0 && shortOne < 1_000_000_000, "sh -c 'exit 3' took \(shortOne) ns by Vigil's account")
            #expect(try exit(of: shell).int("proc.exit_code") == 0)
        }

        // MARK: docker exec

        @Test("a docker exec shows up as process_exec in its container, with the runtime in its ancestry")
        func dockerExecIsReported() throws {
            try requireLiveAgent()
            let containers = TestContainers(test: "exec")
            defer { containers.removeAll() }
            let agent = try WatchAgent(["--events", "--format", "json"])
            try agent.waitUntilWatchingWithConnector()

            let id = try containers.run("exec", ["sh", "-c", "sleep 300"])
            let known = agent.waitFor(seconds: 60) {
                $0.about(id).contains { $0.isExec && $0.args == ["sleep", "300"] }
            }
            try #require(known, "the container's sleep was not reported: \(agent.diagnostics())")

            let started = LiveGate.monotonicSeconds()
            let result = containers.docker(["exec", id, "sleep", "0.7"])
            #expect(result.status == 0, "docker exec failed: \(result)")
            let seen = agent.waitFor(seconds: 30) {
                $0.about(id).contains { $0.isExec && $0.args == ["sleep", "0.7"] }
            }
            let latency = LiveGate.monotonicSeconds() - started
            try #require(seen, "the docker exec was not reported: \(agent.diagnostics())")
            containers.remove(id)
            #expect(agent.stop() == 0)

            let line = try #require(agent.lines.about(id).first { $0.isExec && $0.args == ["sleep", "0.7"] })
            let ancestry = line.strings("proc.aname") ?? []
            print(
                "[docker exec] reported within \(Int(latency * 1000)) ms of starting docker exec; proc.ppid \(line.ppid ?? -1), proc.aname \(ancestry)"
            )
            #expect(line.string("container.name") == containers.name("exec"))
            #expect(line.string("proc.exepath") == Self.busybox)
            #expect(line.source == "connector")
            #expect(line.string("proc.pname") == ancestry.first)
            #expect(!ancestry.isEmpty, "proc.aname is empty (proc.ppid \(line.ppid ?? -1) was gone)")
        
            if !ancestry.isEmpty {
                #expect(
                    ancestry.contains { $0 == "sh" || $0.hasPrefix("containerd-shim") || $0.hasPrefix("runc") },
                    "proc.aname \(ancestry) has neither the container's shell nor containerd-shim/runc")
            }
        }

        // MARK: Gone before read

        @Test("processes that exit before the agent can read them are reported with vigil.missing, never dropped")
        func processesGoneBeforeReadAreReported() throws {
            try requireLiveAgent()
            let containers = TestContainers(test: "gone")
            defer { containers.removeAll() }
            let gate = try Gate()
            defer { gate.remove() }
            let agent = try WatchAgent(["--events", "--format", "json", "--resync-interval", "1h"])
            try agent.waitUntilWatchingWithConnector()

            // The shell waits at the gate, runs 50 execs, says so, and waits at the gate again.
            let script = "read x < /gate/go; \(burstScript(50)); echo done > /gate/done; read x < /gate/go"
            let id = try containers.run("gone", options: gate.mountOption, ["sh", "-c", script])
            let shellSeen = agent.waitFor(seconds: 60) {
                $0.about(id).contains { $0.isExec && $0.args == ["sh", "-c", script] }
            }
            try #require(shellSeen, "the container's shell was not reported: \(agent.diagnostics())")

            // Freeze the agent (our own child, by PID) while the 50 run and exit: the kernel keeps their
            // events in the socket buffer, and when the agent reads them every process is gone.
            agent.signal(SIGSTOP)
            var resumed = false
            defer { if !resumed { agent.signal(SIGCONT) } }
            try gate.open()
            let done = LiveGate.waitUntil(seconds: 120) { gate.has("done") }
            agent.signal(SIGCONT)
            resumed = true
            try #require(done, "the container did not finish its 50 execs")
            try gate.open()
            #expect(try containers.waitForExit(id) == 0)
            let stopped = agent.waitFor(seconds: 60) { $0.about(id).contains { $0.event == "container_stop" } }
            #expect(stopped, "no container_stop: \(agent.diagnostics())")
            #expect(agent.stop() == 0)

            let lines = agent.lines.about(id)
            let shell = try #require(lines.first { $0.isExec && $0.args == ["sh", "-c", script] })
            let children = lines.filter { $0.isExec && $0.ppid == shell.pid }
            let exits = lines.filter { $0.isExit && $0.ppid == shell.pid }
            print(
                "[gone] \(children.count) execs reported after the agent was frozen; vigil.missing on \(children.filter { $0.missing != nil }.count)"
            )
            #expect(children.count == 50, "execs reported: \(children.count) of 50")
            #expect(exits.count == 50, "exits reported: \(exits.count) of 50")
            let nonzero = exits.filter { $0.int("proc.exit_code") != 0 }.count
            #expect(nonzero == 0, "exits without status 0")
            for line in children {
                let missing = line.missing ?? []
                #expect(
                    missing.contains("exe") && missing.contains("cmdline"),
                    "line \(line.index): vigil.missing \(missing)")
                #expect(line.isNull("proc.exepath") && line.isNull("proc.args") && line.isNull("proc.cmdline"))
                #expect(line.string("proc.pexepath") == Self.busybox)
                #expect(line.string("container.name") == containers.name("gone"))
                #expect(line.strings("proc.aname")?.first == "sh")
                #expect(line.source == "connector")
            }
        }

        // MARK: Signals

        @Test(
            "SIGTERM or SIGINT in the middle of a burst: exit status 0, every line complete, the last one agent_status stopping",
            arguments: [SIGTERM, SIGINT])
        func stopSignalFlushesAndExitsZero(signal: Int32) throws {
            try requireLiveAgent()
            let containers = TestContainers(test: "term")
            defer { containers.removeAll() }
            let agent = try WatchAgent(["--events", "--format", "json"])
            try agent.waitUntilWatchingWithConnector()

            let id = try containers.run("term", ["sh", "-c", burstScript(5000)])
            let busy = agent.waitFor(seconds: 60) { $0.about(id).filter(\.isExec).count >= 200 }
            try #require(busy, "the burst was not being reported: \(agent.diagnostics())")
            let status = agent.stop(signal: signal)
            #expect(status == 0, "exit status after signal \(signal): \(status); \(agent.diagnostics())")

            let raw = agent.rawOutput
            #expect(raw.last == 0x0A, "the output ends in a partial line")
            #expect(agent.malformed.isEmpty, "lines that are not JSON events: \(agent.malformed.prefix(3))")
            let last = try #require(agent.lines.last)
            #expect(last.isStatus && last.message == "stopping", "last line: \(last.document)")
            #expect((last.int("vigil.received_events") ?? 0) > 0)
            print(
                "[signal \(signal)] \(agent.lines.count) lines, the last: \(last.message ?? "?") after \(last.int("vigil.received_events") ?? 0) received events"
            )
        }

        @Test("SIGHUP reloads the configuration without losing state; a broken file keeps the old one and says so")
        func sighupReloadsWithoutLosingState() throws {
            try requireLiveAgent()
            let containers = TestContainers(test: "hup")
            defer { containers.removeAll() }
            let directory = try LiveGate.makeTemporaryDirectory("agent-config")
            defer { LiveGate.removeTree(directory) }
            try LiveGate.writeFile(directory, "vigil.conf", "[watch]\nresync_interval = 30s\n")
            let agent = try WatchAgent(["--events", "--format", "json", "--config", directory + "/vigil.conf"])
            try agent.waitUntilWatchingWithConnector()

            let id = try containers.run("hup", ["sh", "-c", "while :; do sleep 0.2; done"])
            let name = containers.name("hup")
            func sleepsAfter(_ index: Int) -> ([EventLine]) -> Bool {
                { lines in
                    lines.about(id).filter { $0.isExec && $0.index > index && $0.args == ["sleep", "0.2"] }.count >= 3
                }
            }
            try #require(
                agent.waitFor(seconds: 60, sleepsAfter(-1)),
                "the container's sleeps were not reported: \(agent.diagnostics())")

            // A changed file: reloaded, and the container is still known (same name, same shell, no new start).
            try LiveGate.writeFile(
                directory, "vigil.conf", "[watch]\nresync_interval = 45s\nslow_read_timeout = 30ms\n")
            agent.signal(SIGHUP)
            let reloaded = agent.waitFor(seconds: 30) {
                $0.statuses.contains { ($0.message ?? "").hasPrefix("configuration reloaded") }
            }
            try #require(reloaded, "no 'configuration reloaded' line: \(agent.diagnostics())")
            let reloadIndex = try #require(
                agent.lines.statuses.first { ($0.message ?? "").hasPrefix("configuration reloaded") }
            ).index
            #expect(
                agent.waitFor(seconds: 30, sleepsAfter(reloadIndex)), "no events for the container after the reload")

            // A broken file: the agent keeps running with the old configuration and says so.
            try LiveGate.writeFile(directory, "vigil.conf", "[watch]\nresync_interval = soon\n")
            agent.signal(SIGHUP)
            let refused = agent.waitFor(seconds: 30) {
                $0.statuses.contains { ($0.message ?? "").contains("reload failed") }
            }
            #expect(refused, "no 'reload failed' line: \(agent.diagnostics())")
            let failure = agent.lines.statuses.first { ($0.message ?? "").contains("reload failed") }
            #expect(
                failure?.message?.contains("vigil.conf:2") == true,
                "the message does not name the file and line: \(failure?.message ?? "")")
            #expect(agent.isRunning, "the agent exited after a broken configuration: \(agent.diagnostics())")
            #expect(
                agent.waitFor(seconds: 30, sleepsAfter(failure?.index ?? reloadIndex)),
                "no events after the failed reload")

            containers.remove(id)
            let stopped = agent.waitFor(seconds: 60) { $0.about(id).contains { $0.event == "container_stop" } }
            #expect(stopped, "no container_stop after the reloads")
            #expect(agent.stop() == 0)

            let lines = agent.lines.about(id)
            let starts = lines.events("container_start").count
            #expect(starts == 1, "the container was started again: state was lost")
            let shells = Set(lines.filter { $0.isExec && $0.args == ["sleep", "0.2"] }.compactMap(\.ppid))
            #expect(shells.count == 1, "the sleeps have several parents: \(shells)")
            let misnamed = lines.filter { $0.string("container.name") != name }.count
            #expect(misnamed == 0, "lines naming the container otherwise")
        }

        // MARK: Losses

        @Test(
            "events lost to a full socket buffer are reported (agent_status with the counters) and repaired by a resync"
        )
        func lostEventsAreReportedAndRepaired() throws {
            try requireLiveAgent()
            let containers = TestContainers(test: "loss")
            defer { containers.removeAll() }
            let gate = try Gate()
            defer { gate.remove() }
            // The smallest receive buffer the configuration allows, so that a frozen agent overflows it.
            try LiveGate.writeFile(
                gate.directory, "vigil.conf", "[watch]\nreceive_buffer = 65536\nresync_interval = 1h\n")
            let agent = try WatchAgent(["--events", "--format", "json", "--config", gate.directory + "/vigil.conf"])
            try agent.waitUntilWatchingWithConnector()

            let script = "read x < /gate/go; \(burstScript(2000)); echo done > /gate/done; read x < /gate/go"
            let id = try containers.run("loss", options: gate.mountOption, ["sh", "-c", script])
            let shellSeen = agent.waitFor(seconds: 60) {
                $0.about(id).contains { $0.isExec && $0.args == ["sh", "-c", script] }
            }
            try #require(shellSeen, "the container's shell was not reported: \(agent.diagnostics())")

            agent.signal(SIGSTOP)
            var resumed = false
            defer { if !resumed { agent.signal(SIGCONT) } }
            try gate.open()
            let done = LiveGate.waitUntil(seconds: 120) { gate.has("done") }
            agent.signal(SIGCONT)
            resumed = true
            try #require(done, "the container did not finish its burst")

            let reported = agent.waitFor(seconds: 60) { lines in
                lines.statuses.contains {
                    ($0.int("vigil.lost_events") ?? 0) + ($0.int("vigil.buffer_overruns") ?? 0) > 0
                }
            }
            #expect(reported, "no agent_status line reported the loss: \(agent.diagnostics())")
            try gate.open()
            #expect(try containers.waitForExit(id) == 0)
            let stopped = agent.waitFor(seconds: 60) { $0.about(id).contains { $0.event == "container_stop" } }
            #expect(stopped, "no container_stop after the loss: \(agent.diagnostics())")
            #expect(agent.isRunning)
            #expect(agent.stop() == 0)

            let losses = agent.lines.statuses.filter {
                $0.int("vigil.lost_events") != nil || $0.int("vigil.buffer_overruns") != nil
            }
            let lost = losses.compactMap { $0.int("vigil.lost_events") }.reduce(0, +)
            let overruns = losses.compactMap { $0.int("vigil.buffer_overruns") }.reduce(0, +)
            let lines = agent.lines.about(id)
            let shell = try #require(lines.first { $0.isExec && $0.args == ["sh", "-c", script] })
            let children = lines.filter { $0.isExec && $0.ppid == shell.pid }.count
            print(
                "[loss] 64 KiB receive buffer, agent frozen through 2,000 execs: \(losses.count) agent_status lines, lost events \(lost), buffer overruns \(overruns); \(children) of the 2,000 execs still reported"
            )
            let messages = losses.compactMap(\.message)
            #expect(messages.allSatisfy { $0.contains("lost") }, "loss lines: \(messages)")
            var open = Set<Int>()
            for line in lines {
                guard let pid = line.pid else { continue }
                if line.isExec { open.insert(pid) } else if line.isExit { open.remove(pid) }
            }
            let unended = open.count
            #expect(unended == 0, "processes reported started and never ended after the resync")
        }

        // MARK: Fork storm

        @Test(
            "a fork storm in a container with --pids-limit 64: the agent survives, its memory stays bounded, losses are reported"
        )
        func forkStormIsSurvived() throws {
            try requireLiveAgent()
            let containers = TestContainers(test: "storm")
            defer { containers.removeAll() }
            let agent = try WatchAgent(["--events", "--format", "json", "--resync-interval", "2s"])
            try agent.waitUntilWatchingWithConnector()
            let before = agent.statusKilobytes("VmHWM") ?? 0

            // The bomb is `f(){ f | f & }; f`. On its own it dies within a second here: busybox sh exits at the
            // first failed fork, so every shell in the tree is gone once the limit is hit. awk relaunches it
            // (system() survives a failed fork) and tini (--init) reaps the orphans, so it storms until removed.
            let bomb = "sh -c 'f(){ f | f & }; f' 2>/dev/null"
            let id = try containers.run(
                "storm", options: ["--init", "--pids-limit", "64"], ["awk", "BEGIN { while (1) system(\"\(bomb)\") }"])
            var peak = before
            let stormStart = LiveGate.monotonicSeconds()
            while LiveGate.monotonicSeconds() - stormStart < 5 {
                peak = max(peak, agent.statusKilobytes("VmHWM") ?? 0)
                LiveGate.pause(milliseconds: 200)
                if !agent.isRunning { break }
            }
            let failedForks = Self.pidsEventsMax(id)
            containers.remove(id)
            #expect(agent.isRunning, "the agent died during the fork storm: \(agent.diagnostics())")
            let stopped = agent.waitFor(seconds: 60) { $0.about(id).contains { $0.event == "container_stop" } }
            #expect(stopped, "no container_stop after the storm was removed: \(agent.diagnostics())")
            peak = max(peak, agent.statusKilobytes("VmHWM") ?? 0)
            let status = agent.stop()
            #expect(status == 0, "exit status after SIGTERM: \(status)")

            let lines = agent.lines.about(id)
            let statuses = agent.lines.statuses
            let lost = statuses.compactMap { $0.int("vigil.lost_events") }.reduce(0, +)
            let overruns = statuses.compactMap { $0.int("vigil.buffer_overruns") }.reduce(0, +)
            let received = statuses.last?.int("vigil.received_events") ?? 0
            let execs = lines.filter(\.isExec)
            let exits = lines.filter(\.isExit)
            print(
                "[fork storm] peak RSS (VmHWM) \(peak) kB (\(before) kB before); fork failures at the limit \(failedForks.map(String.init) ?? "?"); connector events received \(received); lost events reported \(lost), buffer overruns \(overruns); \(execs.count) process_exec (\(execs.filter { $0.source == "resync" }.count) by resync), \(exits.count) process_exit (\(exits.filter { $0.source == "resync" }.count) by resync)"
            )
            #expect(peak > 0 && peak < 64 * 1024, "peak RSS \(peak) kB")
            #expect(agent.malformed.isEmpty)
            // Losses are never silent: every line about lost events carries the counter.
            for line in statuses where (line.message ?? "").contains("lost") {
                #expect(line.int("vigil.lost_events") != nil, "a loss without vigil.lost_events: \(line.document)")
            }
            // No process is left open: every process reported started was reported ended.
            var open: [Int: EventLine] = [:]
            for line in lines {
                guard let pid = line.pid else { continue }
                if line.isExec { open[pid] = line } else if line.isExit { open[pid] = nil }
            }
            let unended = open.count
            #expect(
                unended == 0,
                "processes reported started and never ended, e.g. \(open.values.first.map(Self.brief) ?? "")")
            // An exit stamped earlier than its own exec is the trace of a resync racing queued fork events.
            var lastExec: [Int: EventLine] = [:]
            var phantoms = 0
            for line in lines {
                guard let pid = line.pid else { continue }
                if line.isExec {
                    lastExec[pid] = line
                } else if line.isExit, let exec = lastExec[pid], line.time < exec.time {
                    phantoms += 1
                }
            }
            print("[fork storm] processes reported by resync whose exit is stamped before their exec: \(phantoms)")
            #expect(phantoms == 0, "processes whose exit is stamped before their exec")
        }

        /// A line about the container runtime's own init (`runc init`, before it execs the entrypoint):
        /// runc re-executes itself (argv `runc init`, comm `runc:[...]` or `exe`, a memfd copy of runc).
        static func isRuntimeInit(_ line: EventLine) -> Bool {
            line.args?.first == "runc" || (line.string("proc.name") ?? "").hasPrefix("runc")
                || (line.string("proc.exepath") ?? "").contains("runc")
        }

        /// A line's process fields in brief, for failure messages.
        static func brief(_ line: EventLine) -> String {
            let keys = [
                "proc.pid", "proc.ppid", "proc.name", "proc.exepath", "proc.args", "vigil.missing", "vigil.source",
            ]
            return "line \(line.index) \(line.event): "
                + keys.map { "\($0)=\(line.fields[$0].map(Self.text) ?? "absent")" }.joined(separator: " ")
        }

        static func text(_ value: JSONValue) -> String {
            switch value {
            case .null: return "null"
            case .string(let s): return "\"\(s)\""
            case .number(let n): return n == n.rounded() ? String(Int(n)) : String(n)
            case .array(let a): return "[" + a.map(text).joined(separator: ",") + "]"
            case .bool(let b): return String(b)
            case .object: return "{...}"
            }
        }

        /// `max N` of the container's pids.events (fork failures at the limit), wherever the pids controller is.
        static func pidsEventsMax(_ id: String) -> Int? {
            for path in [
                "/sys/fs/cgroup/pids/docker/\(id)", "/sys/fs/cgroup/docker/\(id)",
                "/sys/fs/cgroup/system.slice/docker-\(id).scope",
            ] {
                guard let text = LiveGate.readText(path + "/pids.events") else { continue }
                for line in text.split(separator: "\n") where line.hasPrefix("max ") { return Int(line.dropFirst(4)) }
            }
            return nil
        }
    }
}
