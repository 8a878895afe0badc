import Glibc
import Testing
import VigilTestSupport
import VigilJSON

extension LiveAgentTests {
    /// Each rule against a real container doing the thing, seen by a real `vigil watch` (JSON lines on
    /// stdout, alerts always written). The agent sees the whole node, so every check looks only at the
    /// alerts about this test's own containers.
    @Suite("Live rules: alerts from real containers", LiveGate.needsRoot, LiveGate.needsDocker)
    struct LiveRulesTests {
        /// Deduplication off, so every occurrence is its own line (per-rule tests run several similar execs).
        static let noDedup = "[alerts]\ndedup_window = 0\n"

        /// Starts an agent with `configuration` and waits until it watches with the connector.
        /// The behaviour rules are tested here; the posture rule (`insecure_container`, which any default
        /// container triggers) is off unless a test asks for it.
        static func startAgent(
            _ configuration: String?, in scratch: ScratchDirectory, extra: [String] = [], explicitJSON: Bool = true,
            posture: Bool = false
        ) throws -> (WatchAgent, AlertReader) {
            var arguments = (explicitJSON ? ["--format", "json"] : []) + extra
            let text = (configuration ?? "") + (posture ? "" : "\n[rule insecure_container]\nenabled = false\n")
            if !text.isEmpty { arguments += try LiveRules.configuration(text, in: scratch) }
            let agent = try WatchAgent(arguments)
            try agent.waitUntilWatchingWithConnector()
            return (agent, AlertReader(agent))
        }

        /// Stops the agent and checks it left no malformed line and that every alert has the contract's shape.
        static func finish(
            _ agent: WatchAgent, _ reader: AlertReader, ids: [String], sourceLocation: SourceLocation = #_sourceLocation
        ) {
            let status = agent.stop()
            #expect(status == 0, "exit status \(status): \(agent.diagnostics())", sourceLocation: sourceLocation)
            reader.refresh()
            #expect(
                reader.malformed.isEmpty, "lines that are neither alerts nor events: \(reader.malformed.prefix(3))",
                sourceLocation: sourceLocation)
            for id in ids {
                for alert in reader.about(id) { LiveRules.checkShape(alert, sourceLocation: sourceLocation) }
            }
        }

        // MARK: shell_in_container

        @Test("docker exec of a shell: without -t a scripted shell (Notice), with -t an interactive one (Warning)")
        func shellsInteractiveAndScripted() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("shell")
            defer { scratch.remove() }
            let containers = TestContainers(test: "rules-shell")
            defer { containers.removeAll() }
            let (agent, reader) = try Self.startAgent(Self.noDedup, in: scratch)
            let id = try containers.run("shell", ["sleep", "300"])

            let scripted = containers.docker(["exec", id, "sh", "-c", "sleep 1; echo scripted"])
            #expect(scripted.status == 0 && scripted.text.contains("scripted"), "\(scripted)")
            var interactiveRan = false
            if LiveRules.hasScript {
                let terminal = LiveRules.runUnderTerminal([
                    containers.client, "exec", "-t", id, "sh", "-c", "sleep 1; tty",
                ])
                #expect(terminal.status == 0, "docker exec -t under script: \(terminal)")
                #expect(terminal.text.contains("/dev/pts/"), "the shell had no terminal: \(terminal)")
                interactiveRan = true
            } else {
                print(
                    "[shells] the -t variant is skipped: /usr/bin/script (util-linux) is missing, so the docker client cannot be given a terminal"
                )
            }
            let expected = interactiveRan ? 2 : 1
            _ = reader.waitFor(id, seconds: 20) { $0.rule("shell_in_container").count >= expected }
            let alerts = reader.settle(id)
            let shells = alerts.rule("shell_in_container")
            #expect(shells.count == expected, "shell alerts:\n  \(alerts.briefs)")

            let scriptedAlert = try #require(
                shells.first { $0.cmdline == "sh -c sleep 1; echo scripted" },
                "no alert for the scripted shell:\n  \(alerts.briefs)")
            #expect(scriptedAlert.priority == "Notice")
            #expect(scriptedAlert.bool("vigil.shell.interactive") == false)
            #expect(scriptedAlert.int("proc.tty") == 0)
            #expect(scriptedAlert.string("proc.name") == "sh")
            #expect(scriptedAlert.exepath == "/bin/busybox")
            #expect(scriptedAlert.int("user.uid") == 0)
            #expect(scriptedAlert.tags.contains("T1059.004"))
            // The parent chain is named: docker exec's runtime and shim.
            let chain = scriptedAlert.strings("proc.aname") ?? []
            #expect(chain.contains { $0.hasPrefix("containerd-shim") || $0.hasPrefix("runc") }, "proc.aname \(chain)")
            #expect(scriptedAlert.output.contains("parents"), "\(scriptedAlert.output)")
            if interactiveRan {
                let interactive = try #require(
                    shells.first { $0.cmdline == "sh -c sleep 1; tty" },
                    "no alert for the -t shell:\n  \(alerts.briefs)")
                #expect(interactive.priority == "Warning")
                #expect(interactive.bool("vigil.shell.interactive") == true)
                #expect((interactive.int("proc.tty") ?? 0) != 0, "proc.tty of a -t shell")
                #expect(interactive.output.hasPrefix("Interactive shell"))
            }
            #expect(alerts.allSatisfy { $0.rule == "shell_in_container" }, "other alerts:\n  \(alerts.briefs)")
            Self.finish(agent, reader, ids: [id])
        }

        // MARK: reverse_shell

        @Test(
            "busybox nc -e /bin/sh to a listener in the same container is a reverse shell; so is a bind shell (nc -l -e)"
        )
        func reverseShell() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("revshell")
            defer { scratch.remove() }
            let containers = TestContainers(test: "rules-revshell")
            defer { containers.removeAll() }
            let (agent, reader) = try Self.startAgent(Self.noDedup, in: scratch)
            let id = try containers.run("revshell", ["sleep", "300"])

            // Connect-back: the listener sends the shell one command; the shell it gets lives two seconds.
            let listener = containers.docker(["exec", "-d", id, "sh", "-c", "echo 'sleep 2; exit' | nc -l -p 4444"])
            try #require(listener.status == 0, "\(listener)")
            try #require(Self.waitListening(containers, id, port: 4444), "nothing listens on 4444")
            let connect = containers.docker(["exec", id, "nc", "127.0.0.1", "4444", "-e", "/bin/sh"])
            #expect(connect.status == 0, "\(connect)")
            // The shell nc became, on the socket. (An nc read late, connected but not yet turned into the
            // shell, is a reverse_shell of its own by its `-e` command line, also with the socket.)
            let isShellOnSocket: (AlertLine) -> Bool = { $0.string("fd.name") == "127.0.0.1:4444" && $0.string("proc.name") == "sh" }
            let bySocket = reader.waitFor(id, seconds: 15) { alerts in
                alerts.rule("reverse_shell").contains(where: isShellOnSocket)
            }
            let afterConnectBack = reader.about(id)
            #expect(bySocket, "no reverse_shell of sh with fd.name 127.0.0.1:4444:\n  \(afterConnectBack.briefs)")
            if let alert = afterConnectBack.rule("reverse_shell").first(where: isShellOnSocket) {
                #expect(alert.priority == "Critical")
                #expect(alert.string("proc.name") == "sh")
                #expect(alert.int("fd.num") == 0)
                #expect(alert.tags.contains("T1059.004"))
            }
            // The nc process itself (its command line) lasts only until it connects, microseconds on
            // loopback: say whether the agent read it before it became /bin/sh.
            let connectBackPattern = afterConnectBack.rule("reverse_shell").contains {
                $0.string("vigil.pattern") != nil
            }
            let ncSeen = afterConnectBack.contains {
                $0.string("proc.name") == "nc" && $0.cmdline.contains("-e /bin/sh")
            }
            print(
                "[reverse shell] connect-back nc -e: command-line pattern alert \(connectBackPattern ? "raised" : "not raised"); nc's own exec \(ncSeen ? "seen" : "not seen (read after it had become /bin/sh)")"
            )

            // Bind shell: nc waits with its command line in place, the shell it starts has the accepted socket.
            let bind = containers.docker(["exec", "-d", id, "nc", "-l", "-p", "4445", "-e", "/bin/sh"])
            try #require(bind.status == 0, "\(bind)")
            try #require(Self.waitListening(containers, id, port: 4445), "nothing listens on 4445")
            let client = containers.docker(["exec", id, "sh", "-c", "echo 'sleep 2; exit' | nc 127.0.0.1 4445"])
            #expect(client.status == 0, "\(client)")
            let byPattern = reader.waitFor(id, seconds: 15) { alerts in
                alerts.rule("reverse_shell").contains {
                    $0.cmdline == "nc -l -p 4445 -e /bin/sh" && $0.string("vigil.pattern") != nil
                }
            }
            // The bind shell is the nc process itself after its exec of /bin/sh (same pid).
            let bindPid = reader.about(id).first { $0.cmdline == "nc -l -p 4445 -e /bin/sh" }?.int("proc.pid")
            let acceptedShell = reader.waitFor(id, seconds: 15) { alerts in
                alerts.rule("reverse_shell").contains {
                    $0.string("proc.name") == "sh" && $0.int("proc.pid") == bindPid && $0.int("fd.num") != nil
                }
            }
            let alerts = reader.settle(id)
            #expect(
                byPattern, "no reverse_shell for `nc -l -p 4445 -e /bin/sh` by its command line:\n  \(alerts.briefs)")
            #expect(acceptedShell, "no reverse_shell for the bind shell's /bin/sh:\n  \(alerts.briefs)")
            if let accepted = alerts.rule("reverse_shell").first(where: {
                $0.string("proc.name") == "sh" && $0.int("proc.pid") == bindPid
            }) {
                // nc -l listens on :::4445, so the peer is an IPv4-mapped IPv6 address.
                let peer = accepted.string("fd.name") ?? ""
                print("[reverse shell] bind shell's peer as reported: fd.name \(peer)")
                #expect(peer.contains("127.0.0.1"), "the peer 127.0.0.1 is not recognisable in fd.name \(peer)")
            }
            #expect(alerts.rule("network_tool_in_container").contains { $0.cmdline == "nc -l -p 4445 -e /bin/sh" })
            Self.finish(agent, reader, ids: [id])
        }

        /// Waits until `port` is listening in the container (busybox netstat).
        static func waitListening(_ containers: TestContainers, _ id: String, port: Int) -> Bool {
            LiveGate.waitUntil(seconds: 15) {
                containers.docker(["exec", id, "netstat", "-ltn"]).text.contains(":\(port) ")
            }
        }

        // MARK: fork_storm

        /// `/gate/bomb.sh`: keeps the container alive with a sleep, waits for the gate, then runs a shell
        /// fork bomb for three seconds (timeout kills awk, which relaunches it; the shells it left die at
        /// their first refused fork).
        static func writeForkBomb(in gate: Gate) throws {
            try LiveGate.writeFile(gate.directory, "f.sh", "f(){ f | f & }; f\n")
            try LiveGate.writeFile(
                gate.directory, "bomb.sh",
                """
                sleep 1000 &
                read x < /gate/go
                timeout -s KILL 3 awk 'BEGIN { while (1) system("sh /gate/f.sh 2>/dev/null") }'
                wait
                """)
        }

        @Test("a shell fork bomb with --pids-limit 64: one fork_storm alert within 1 s, one summary when it ends")
        func forkStorm() throws {
            try requireLiveAgent()
            let gate = try Gate()
            defer { gate.remove() }
            let containers = TestContainers(test: "rules-storm")
            defer { containers.removeAll() }
            let scratch = try ScratchDirectory("storm")
            defer { scratch.remove() }
            // The bomb starts when the test opens the gate and stops three seconds later; `sleep` keeps
            // the container (and so its cgroup) alive after the storm.
            try Self.writeForkBomb(in: gate)
            let (agent, reader) = try Self.startAgent(nil, in: scratch)
            let id = try containers.run(
                "storm", options: ["--init", "--pids-limit", "64"] + gate.mountOption, ["sh", "/gate/bomb.sh"])

            try gate.open()
            let startWall = LiveRules.wallSeconds()
            let startMonotonic = LiveGate.monotonicSeconds()
            let cpuBefore = LiveRules.cpuSeconds(agent.pid)
            var observedDelay: Double?
            _ = reader.waitFor(id, seconds: 10) { alerts in
                if observedDelay == nil, alerts.contains(where: { $0.rule == "fork_storm" && $0.storm == "started" }) {
                    observedDelay = LiveGate.monotonicSeconds() - startMonotonic
                }
                return observedDelay != nil
            }
            // CPU over the storm's three seconds.
            while LiveGate.monotonicSeconds() - startMonotonic < 3 { LiveGate.pause(milliseconds: 50) }
            let cpuAfter = LiveRules.cpuSeconds(agent.pid)
            let cpuWindow = LiveGate.monotonicSeconds() - startMonotonic
            let ended = reader.waitFor(id, seconds: 30) {
                $0.contains { $0.rule == "fork_storm" && $0.storm == "ended" }
            }
            let refusedByKernel = LiveRules.pidsEventsMax(id)
            let alerts = reader.settle(id, quiet: 4)
            let storms = alerts.rule("fork_storm")
            let starts = storms.filter { $0.storm == "started" }
            let ends = storms.filter { $0.storm == "ended" }

            let start = try #require(starts.first, "no fork_storm start alert:\n  \(alerts.briefs)")
            let delay = (start.epochSeconds ?? .infinity) - startWall
            var cpuShare: Double?
            if let cpuBefore, let cpuAfter { cpuShare = (cpuAfter - cpuBefore) / cpuWindow }
            print(
                "[fork storm] detection delay \(Self.milliseconds(delay)) (alert time − gate opened), observed by the test after \(observedDelay.map(Self.milliseconds) ?? "?"); start alert: \(start.output)"
            )
            print(
                "[fork storm] agent CPU during the storm: \(cpuShare.map { "\(Int(($0 * 100).rounded()))% of one core" } ?? "?") over \(Self.milliseconds(cpuWindow)) (debug build); forks refused per pids.events: \(refusedByKernel.map(String.init) ?? "?")"
            )
            #expect(starts.count == 1, "start alerts:\n  \(starts.briefs)")
            #expect(delay >= -0.05 && delay <= 1.0, "detection delay \(delay) s")
            #expect(start.priority == "Critical")
            #expect(start.int("vigil.pids.max") == 64)
            #expect(start.tags.contains("T1499"))
            #expect(ended, "no fork_storm summary after the bomb stopped:\n  \(alerts.briefs)")
            #expect(ends.count == 1, "summaries:\n  \(ends.briefs)")
            if let end = ends.first {
                print("[fork storm] summary: \(end.output)")
                #expect((end.int("vigil.forks_refused") ?? 0) > 0, "forks refused in the summary: \(end.brief)")
                #expect((end.int("vigil.fork_rate") ?? 0) >= 200, "peak rate in the summary: \(end.brief)")
                #expect((end.int("vigil.pids.peak") ?? 0) >= 57)
                if let kernel = refusedByKernel, let counted = end.int("vigil.forks_refused") {
                    #expect(counted <= kernel, "the summary counts \(counted) refusals, the kernel \(kernel)")
                }
                #expect((end.epochSeconds ?? 0) > (start.epochSeconds ?? .infinity))
            }
            Self.finish(agent, reader, ids: [])
        }

        @Test(
            "a fork storm whose container is removed mid-storm still ends with a summary",
            .bug(id: "storm-1", "ForkStormDetector.tick drops watches of vanished containers without a summary"))
        func forkStormRemovedContainer() throws {
            try requireLiveAgent()
            let containers = TestContainers(test: "rules-storm-rm")
            defer { containers.removeAll() }
            let scratch = try ScratchDirectory("storm-rm")
            defer { scratch.remove() }
            let (agent, reader) = try Self.startAgent(nil, in: scratch)
            let bomb = "sh -c 'f(){ f | f & }; f' 2>/dev/null"
            let id = try containers.run(
                "storm", options: ["--init", "--pids-limit", "64"], ["awk", "BEGIN { while (1) system(\"\(bomb)\") }"])
            let started = reader.waitFor(id, seconds: 15) {
                $0.contains { $0.rule == "fork_storm" && $0.storm == "started" }
            }
            #expect(started, "no fork_storm start:\n  \(reader.about(id).briefs)")
            LiveGate.pause(milliseconds: 1500)
            containers.remove(id)
            let ended = reader.waitFor(id, seconds: 15) {
                $0.contains { $0.rule == "fork_storm" && $0.storm == "ended" }
            }
            #expect(ended, "no fork_storm summary after the container was removed")
            Self.finish(agent, reader, ids: [])
        }

        @Test(
            "polling (--source poll): a fork bomb is still a fork storm, from pids.events and pids.current",
            .bug(id: "storm-2", "ForkStormDetector samples PID counters only when connector fork counts rose"))
        func forkStormWhenPolling() throws {
            try requireLiveAgent()
            let gate = try Gate()
            defer { gate.remove() }
            let containers = TestContainers(test: "rules-storm-poll")
            defer { containers.removeAll() }
            let scratch = try ScratchDirectory("storm-poll")
            defer { scratch.remove() }
            try Self.writeForkBomb(in: gate)
            let agent = try WatchAgent(["--format", "json", "--source", "poll"])
            let ready = agent.waitFor(seconds: 60) { lines in
                lines.contains { ($0.message ?? "").hasPrefix("watching by polling") }
            }
            try #require(ready, "the agent did not start polling: \(agent.diagnostics())")
            let reader = AlertReader(agent)
            let id = try containers.run(
                "storm", options: ["--init", "--pids-limit", "64"] + gate.mountOption, ["sh", "/gate/bomb.sh"])
            // Let the poll find the container (and the detector see it calm) before the bomb.
            LiveGate.pause(milliseconds: 1500)
            try gate.open()
            let started = reader.waitFor(id, seconds: 8) {
                $0.contains { $0.rule == "fork_storm" && $0.storm == "started" }
            }
            let refused = LiveRules.pidsEventsMax(id) ?? 0
            print(
                "[fork storm, polling] start alert \(started ? "raised" : "not raised"); forks refused per pids.events: \(refused)"
            )
            #expect(refused > 0, "the bomb never reached the limit")
            #expect(started, "no fork_storm while polling:\n  \(reader.about(id).briefs)")
            Self.finish(agent, reader, ids: [])
        }

        // MARK: privilege_escalation

        @Test("a setuid-root copy of busybox run by uid 1000 is a privilege escalation")
        func setuidCopyOfBusybox() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("setuid")
            defer { scratch.remove() }
            let containers = TestContainers(test: "rules-setuid")
            defer { containers.removeAll() }
            let (agent, reader) = try Self.startAgent(Self.noDedup, in: scratch)
            // busybox (FEATURE_SUID) drops a setuid for most applets at once; ping (BB_SUID_MAYBE) keeps
            // euid 0 while it runs, so a setuid copy named ping shows the escalation for its whole life.
            let id = try containers.run(
                "setuid", options: ["--user", "0"],
                [
                    "sh", "-c",
                    "cp /bin/busybox /tmp/ping && chmod 4755 /tmp/ping && cp /bin/busybox /tmp/busybox && chmod 4755 /tmp/busybox && touch /tmp/ready && exec sleep 300",
                ])
            try #require(
                LiveGate.waitUntil(seconds: 20) {
                    containers.docker(["exec", id, "test", "-e", "/tmp/ready"]).status == 0
                })

            let ping = containers.docker(["exec", "--user", "1000", id, "/tmp/ping", "-c", "3", "127.0.0.1"])
            #expect(ping.status == 0, "\(ping)")
            let raised = reader.waitFor(id, seconds: 15) {
                $0.rule("privilege_escalation").contains { $0.exepath == "/tmp/ping" }
            }
            let alerts = reader.about(id)
            #expect(raised, "no privilege_escalation for /tmp/ping:\n  \(alerts.briefs)")
            if let alert = alerts.rule("privilege_escalation").first(where: { $0.exepath == "/tmp/ping" }) {
                #expect(alert.priority == "Critical")
                #expect(alert.int("user.uid") == 1000)
                #expect(alert.int("user.euid") == 0)
                #expect(alert.string("vigil.escalation") == "setuid")
                #expect(alert.tags.contains("T1548.001"))
            }

            // The same setuid file run as an applet that drops the privilege at once: the exec of a setuid
            // file is the event, however briefly euid 0 lasted.
            let dropped = containers.docker(["exec", "--user", "1000", id, "/tmp/busybox", "sleep", "2"])
            #expect(dropped.status == 0, "\(dropped)")
            let droppedSeen = reader.waitFor(id, seconds: 5) {
                $0.rule("privilege_escalation").contains { $0.cmdline == "/tmp/busybox sleep 2" }
            }
            let volatile = reader.about(id).rule("exec_from_volatile_path").contains {
                $0.cmdline == "/tmp/busybox sleep 2"
            }
            #expect(volatile, "the exec of /tmp/busybox itself was seen (exec_from_volatile_path)")
            withKnownIssue(
                "a setuid exec whose program drops euid 0 within microseconds is read after the drop",
                isIntermittent: true
            ) {
                #expect(droppedSeen, "no privilege_escalation for the setuid exec of /tmp/busybox sleep 2")
            }
            Self.finish(agent, reader, ids: [id])
        }

        // MARK: container_drift

        @Test(
            "a binary copied into the container (docker cp, or cp inside) and run is container_drift; one from the image is not"
        )
        func drift() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("drift")
            defer { scratch.remove() }
            let containers = TestContainers(test: "rules-drift")
            defer { containers.removeAll() }
            let (agent, reader) = try Self.startAgent(Self.noDedup, in: scratch)
            let id = try containers.run("drift", ["sleep", "300"])

            let busybox = ["/bin/busybox", "/usr/bin/busybox"].first { (path: String) in access(path, X_OK) == 0 }
            let hostBusybox = try #require(busybox, "no busybox on the host")
            let copy = LiveGate.run(["cp", hostBusybox, scratch.path + "/sleep"])
            try #require(copy.status == 0, "\(copy)")
            try #require(containers.docker(["exec", id, "mkdir", "-p", "/opt/tools"]).status == 0)
            let dockerCp = containers.docker(["cp", scratch.path + "/sleep", "\(id):/opt/tools/sleep"])
            try #require(dockerCp.status == 0, "\(dockerCp)")
            #expect(containers.docker(["exec", id, "/opt/tools/sleep", "1"]).status == 0)
            try #require(containers.docker(["exec", id, "cp", "/bin/busybox", "/home/app/sleep"]).status == 0)
            #expect(containers.docker(["exec", id, "/home/app/sleep", "1"]).status == 0)
            #expect(containers.docker(["exec", id, "/bin/sleep", "1"]).status == 0)

            _ = reader.waitFor(id, seconds: 15) { $0.rule("container_drift").count >= 2 }
            let alerts = reader.settle(id)
            let drift = alerts.rule("container_drift")
            for path in ["/opt/tools/sleep", "/home/app/sleep"] {
                let alert = drift.first { $0.exepath == path }
                #expect(alert != nil, "no container_drift for \(path):\n  \(alerts.briefs)")
                #expect(alert?.priority == "Error")
                #expect(alert?.output.contains(path) == true)
            }
            #expect(
                !drift.contains { $0.exepath == "/bin/busybox" },
                "drift for the image's own busybox:\n  \(drift.briefs)")
            #expect(drift.count == 2, "\(drift.briefs)")
            Self.finish(agent, reader, ids: [id])
        }

        @Test(
            "docker run --init: the runtime's init bind-mounted at /sbin/docker-init is not drift",
            .bug(id: "drift-1", "inUpperLayer takes the empty bind-mount target in the upper layer for the file"))
        func initIsNotDrift() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("init")
            defer { scratch.remove() }
            let containers = TestContainers(test: "rules-init")
            defer { containers.removeAll() }
            let (agent, reader) = try Self.startAgent(Self.noDedup, in: scratch)
            let id = try containers.run("init", options: ["--init"], ["sleep", "300"])
            // Something to wait for that is surely reported after the init's exec.
            _ = containers.docker(["exec", id, "telnet", "127.0.0.1", "1"])
            _ = reader.waitFor(id, seconds: 10) { !$0.rule("network_tool_in_container").isEmpty }
            let drift = reader.settle(id).rule("container_drift")
            #expect(drift.count == 0, "\(drift.briefs)")
            Self.finish(agent, reader, ids: [id])
        }

        // MARK: exec_from_volatile_path

        @Test(
            "scripts run from /tmp and /dev/shm, and binaries there, are exec_from_volatile_path; `sh -c` text is not")
        func volatilePaths() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("volatile")
            defer { scratch.remove() }
            let containers = TestContainers(test: "rules-volatile")
            defer { containers.removeAll() }
            let (agent, reader) = try Self.startAgent(Self.noDedup, in: scratch)
            // Docker mounts /dev/shm noexec; a tmpfs of our own there lets a binary run from it too.
            let id = try containers.run(
                "volatile", options: ["--tmpfs", "/dev/shm:rw,exec,size=16m"], ["sleep", "300"])
            let setup = containers.docker([
                "exec", id, "sh", "-c",
                "printf '#!/bin/sh\\nsleep 1\\n' > /tmp/x.sh && chmod +x /tmp/x.sh && cp /tmp/x.sh /dev/shm/y.sh && cp /bin/busybox /dev/shm/sleep && cp /bin/busybox /tmp/sleep",
            ])
            try #require(setup.status == 0, "\(setup)")
            let runs: [(command: [String], exe: String?, cmdline: String)] = [
                (["sh", "/tmp/x.sh"], nil, "sh /tmp/x.sh"),
                (["/tmp/x.sh"], nil, "/bin/sh /tmp/x.sh"),
                (["sh", "/dev/shm/y.sh"], nil, "sh /dev/shm/y.sh"),
                (["/dev/shm/sleep", "1"], "/dev/shm/sleep", "/dev/shm/sleep 1"),
                (["/tmp/sleep", "1"], "/tmp/sleep", "/tmp/sleep 1"),
            ]
            for run in runs {
                let result = containers.docker(["exec", id] + run.command)
                #expect(result.status == 0, "\(run.command): \(result)")
            }
            // Near miss: code text naming /tmp.
            #expect(containers.docker(["exec", id, "sh", "-c", "test -e /tmp/x.sh && sleep 1"]).status == 0)

            _ = reader.waitFor(id, seconds: 15) { $0.rule("exec_from_volatile_path").count >= runs.count }
            let alerts = reader.settle(id)
            let volatile = alerts.rule("exec_from_volatile_path")
            for run in runs {
                let alert = volatile.first { $0.cmdline == run.cmdline }
                #expect(alert != nil, "no exec_from_volatile_path for \(run.cmdline):\n  \(alerts.briefs)")
                #expect(alert?.priority == "Error")
                if let exe = run.exe { #expect(alert?.exepath == exe) }
            }
            #expect(
                !volatile.contains { $0.cmdline.hasPrefix("sh -c") },
                "sh -c text taken for a script:\n  \(volatile.briefs)")
            #expect(volatile.count == runs.count, "\(volatile.briefs)")
            Self.finish(agent, reader, ids: [id])
        }

        // MARK: Suspicious tools

        @Test(
            "busybox telnet and nc are network_tool_in_container, dpkg and rpm package_manager_in_container; wget and netstat nothing (JSON by default off a terminal)"
        )
        func suspiciousTools() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("tools")
            defer { scratch.remove() }
            let containers = TestContainers(test: "rules-tools")
            defer { containers.removeAll() }
            // No --format: stdout is a file, so the lines are JSON by default.
            let (agent, reader) = try Self.startAgent(Self.noDedup, in: scratch, explicitJSON: false)
            let id = try containers.run("tools", ["sleep", "300"])
            // Several fail at once (nothing listens, no package database), exiting within a fraction of a
            // millisecond: one may be gone before the agent can read it (then no rule can name it), so each
            // tool is run again, up to five times, until its alert is there.
            for command in [["telnet", "127.0.0.1", "1"], ["nc", "-w", "1", "127.0.0.1", "1"], ["dpkg", "-l"], ["rpm", "-qa"]] {
                for _ in 0..<5 {
                    _ = containers.docker(["exec", id] + command)
                    if reader.waitFor(id, seconds: 3, { lines in lines.contains { $0.string("proc.name") == command[0] } }) { break }
                }
            }
            for command in [["wget", "-q", "-O-", "http://127.0.0.1:1/"], ["netstat", "-ltn"]] {
                _ = containers.docker(["exec", id] + command)
            }
            let alerts = reader.settle(id)
            let tools = alerts.rule("network_tool_in_container")
            let packages = alerts.rule("package_manager_in_container")
            #expect(tools.contains { $0.string("proc.name") == "telnet" }, "\(alerts.briefs)")
            #expect(tools.contains { $0.string("proc.name") == "nc" }, "\(alerts.briefs)")
            #expect(packages.contains { $0.string("proc.name") == "dpkg" }, "\(alerts.briefs)")
            #expect(packages.contains { $0.string("proc.name") == "rpm" }, "\(alerts.briefs)")
            #expect(
                alerts.allSatisfy { ["telnet", "nc", "dpkg", "rpm"].contains($0.string("proc.name") ?? "") },
                "only the four tools:\n  \(alerts.briefs)")
            for alert in tools + packages { #expect(alert.priority == "Warning") }
            Self.finish(agent, reader, ids: [id])
        }

        // MARK: Quiet containers

        @Test("quiet containers (busybox httpd serving requests, sleeps) raise no alert in a minute")
        func quietContainers() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("quiet")
            defer { scratch.remove() }
            let containers = TestContainers(test: "rules-quiet")
            defer { containers.removeAll() }
            // Two started before the agent (taken in as they are), one after (its entrypoint's exec seen).
            let httpd = try containers.run("httpd", ["httpd", "-f", "-p", "8080", "-h", "/var/www"])
            let sleepBefore = try containers.run("sleep-before", ["sleep", "1000"])
            let (agent, reader) = try Self.startAgent(nil, in: scratch, extra: ["--events"])
            let sleepAfter = try containers.run("sleep-after", ["sleep", "1000"])
            let ids = [httpd, sleepBefore, sleepAfter]

            let start = LiveGate.monotonicSeconds()
            var served = 0
            while LiveGate.monotonicSeconds() - start < 60 {
                let page = containers.docker(["exec", httpd, "wget", "-q", "-O-", "http://127.0.0.1:8080/"])
                if page.status == 0 && page.text.contains("vigil test page") { served += 1 }
                LiveGate.pause(milliseconds: 4000)
            }
            #expect(served >= 10, "httpd served \(served) requests")
            // The agent saw the requests (so the silence means something): each wget's exec.
            agent.refresh()
            // A wget gone before its command line was read is reported without args. One whose `docker
            // exec` ended before even its cgroup could be read cannot be tied to a container (runc, its
            // parent, is a host process): on a busy two-core machine that happens now and then, so the
            // check asks for most, not all.
            let wgets = agent.lines.about(httpd).filter { $0.isExec && ($0.args?.first == "wget" || $0.args == nil) }
            #expect(wgets.count * 10 >= served * 8, "the agent reported \(wgets.count) of \(served) wget execs")
            let noisy = ids.flatMap { reader.about($0) }
            #expect(noisy.isEmpty, "alerts from quiet containers:\n  \(noisy.briefs)")
            print("[quiet] 60 s, \(served) requests served, \(wgets.count) execs seen, \(noisy.count) alerts")
            Self.finish(agent, reader, ids: ids)
        }

        // MARK: Deduplication

        /// A container whose entrypoint starts 500 identical child shells (`sh -c true`: same rule,
        /// workload, executable and parent), then writes /gate/done and sleeps.
        static let shellCommand = "sh -c 'sleep 0.005; true'"
        static func fiveHundredShells(_ containers: TestContainers, _ scratch: ScratchDirectory) throws -> String {
            try containers.run(
                "shells", options: ["-v", "\(scratch.path):/gate"],
                [
                    "sh", "-c",
                    "i=0; while [ $i -lt 500 ]; do \(shellCommand); i=$((i+1)); done; touch /gate/done; exec sleep 300",
                ])
        }

        @Test("500 identical shells: one alert, and at the window's end one summary with vigil.count 499")
        func fiveHundredShellsAtWindowEnd() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("dedup")
            defer { scratch.remove() }
            let containers = TestContainers(test: "rules-dedup")
            defer { containers.removeAll() }
            let window = 20.0
            let (agent, reader) = try Self.startAgent("[alerts]\ndedup_window = \(Int(window))s\n", in: scratch)
            let started = LiveGate.monotonicSeconds()
            let id = try Self.fiveHundredShells(containers, scratch)
            try #require(LiveGate.waitUntil(seconds: 120) { scratch.has("done") }, "the 500 shells did not finish")
            let loop = LiveGate.monotonicSeconds() - started
            print("[dedup] 500 shells ran in \(Self.milliseconds(loop))")
            try #require(
                loop < window - 2, "the loop outlasted the \(Int(window)) s window; the test cannot tell one window")
            let firstOnly = reader.settle(id, quiet: 1, seconds: 5).rule("shell_in_container")
            #expect(firstOnly.summaries.isEmpty, "a summary before the window closed:\n  \(firstOnly.briefs)")
            let summarised = reader.waitFor(id, seconds: window + 10) {
                !$0.rule("shell_in_container").summaries.isEmpty
            }
            let shells = reader.settle(id).rule("shell_in_container")
            #expect(summarised, "no summary within \(Int(window + 10)) s:\n  \(shells.briefs)")
            Self.checkFiveHundred(shells)
            Self.finish(agent, reader, ids: [id])
        }

        @Test("500 identical shells: the pending summary (vigil.count 499) is flushed at SIGTERM")
        func fiveHundredShellsFlushedAtShutdown() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("flush")
            defer { scratch.remove() }
            let containers = TestContainers(test: "rules-flush")
            defer { containers.removeAll() }
            // The default 60 s window; --events too, to tell how many of the shells the agent could read.
            let (agent, reader) = try Self.startAgent(nil, in: scratch, extra: ["--events"])
            let id = try Self.fiveHundredShells(containers, scratch)
            try #require(LiveGate.waitUntil(seconds: 120) { scratch.has("done") }, "the 500 shells did not finish")
            let before = reader.settle(id, quiet: 1, seconds: 5).rule("shell_in_container")
            #expect(before.summaries.isEmpty, "a summary before shutdown:\n  \(before.briefs)")
            Self.finish(agent, reader, ids: [id])
            let shells = reader.about(id).rule("shell_in_container")
            let execs = agent.lines.about(id).filter {
                $0.isExec && $0.args?.first != "sleep" && $0.args?.first != "runc"
            }
            let unread = execs.filter { ($0.missing ?? []).contains("name") }
            let noExe = execs.filter { ($0.missing ?? []).contains("exe") && !($0.missing ?? []).contains("name") }
            print(
                "[dedup] process_exec lines: \(execs.count) (\(unread.count) unread: no rule can look at them; \(noExe.count) without exe); shell alerts: \(shells.firstOccurrences.count) first occurrences, summaries \(shells.summaries.compactMap(\.count)); keys by proc.name/exepath: \(Set(shells.map { "\($0.string("proc.name") ?? "-")|\($0.exepath)" }).sorted())"
            )
            Self.checkFiveHundred(shells)
        }

        static func checkFiveHundred(_ shells: [AlertLine], sourceLocation: SourceLocation = #_sourceLocation) {
            let firsts = shells.firstOccurrences
            let summaries = shells.summaries
            #expect(
                firsts.count == 1, "alerts that are not summaries:\n  \(firsts.briefs)", sourceLocation: sourceLocation)
            #expect(summaries.count == 1, "summaries:\n  \(summaries.briefs)", sourceLocation: sourceLocation)
            #expect(firsts.first?.count == 1, sourceLocation: sourceLocation)
            #expect(firsts.first?.cmdline == "sh -c sleep 0.005; true", sourceLocation: sourceLocation)
            #expect(summaries.first?.count == 499, "\(summaries.briefs)", sourceLocation: sourceLocation)
            #expect(summaries.first?.output.contains("repeated 499 more times") == true, sourceLocation: sourceLocation)
            let total = shells.compactMap(\.count).reduce(0, +)
            #expect(total == 500, "occurrences accounted for: \(total)", sourceLocation: sourceLocation)
        }

        static func milliseconds(_ seconds: Double) -> String { "\(Int((seconds * 1000).rounded())) ms" }
    }
}
