import Glibc
import Testing
import VigilTestSupport
import VigilBaseline
import VigilJSON
import VigilKernel
import VigilNode

/// The baseline of a busybox "web" workload: httpd serving, a health-check loop of wget and sleep, and
/// a `su` to a service user now and then. `/gate/drift` (a host directory mounted in) makes it `su` to
/// another user, for privilege drift.
enum WebWorkload {
    static let script = """
        mkdir -p /www && echo ok > /www/index.html
        httpd -f -p 8080 -h /www &
        while true; do
          wget -q -O /dev/null http://127.0.0.1:8080/
          U=nobody; [ -f /gate/drift ] && U=app
          su -s /bin/sh $U -c true
          sleep 0.5
        done
        """

    /// Labels that give the workload its own key (`compose:<project>/web`), apart from every other
    /// container of the test image.
    static func labels(_ project: String) -> [String] {
        ["--label", "com.docker.compose.project=\(project)", "--label", "com.docker.compose.service=web"]
    }

    static func key(_ project: String) -> WorkloadKey { WorkloadKey(rawValue: "compose:\(project)/web") }

    /// The kinds the workload runs, as a baseline names them (with their parents).
    static let kinds: [(String, String)] = [
        ("/bin/busybox[sh]", "-"),
        ("/bin/busybox[httpd]", "/bin/busybox[sh]"),
        ("/bin/busybox[wget]", "/bin/busybox[sh]"),
        ("/bin/busybox[sleep]", "/bin/busybox[sh]"),
        ("/bin/busybox[su]", "/bin/busybox[sh]"),
    ]
}

extension LiveAgentTests {
    @Suite("Live baselines: learn, lock, alert on real containers", LiveGate.needsRoot, LiveGate.needsDocker)
    struct LiveBaselineTests {
        static func startAgent(_ scratch: ScratchDirectory, baselines: String, learnFor: String, extra: String = "") throws -> (
            WatchAgent, AlertReader
        ) {
            let configuration = "[alerts]\ndedup_window = 0\n[rule insecure_container]\nenabled = false\n" + extra
            let agent = try WatchAgent(
                ["--format", "json", "--baseline-dir", baselines, "--learn-for", learnFor]
                    + LiveRules.configuration(configuration, in: scratch))
            try agent.waitUntilWatchingWithConnector()
            return (agent, AlertReader(agent))
        }

        static func statuses(_ agent: WatchAgent) -> [String] {
            agent.refresh().statuses.compactMap(\.message)
        }

        static func load(_ directory: String, _ key: WorkloadKey) throws -> Baseline {
            try #require(try BaselineStore(directory: directory).load(key), "no baseline file for \(key) in \(directory)")
        }

        @Test(
            "a web workload is learned and locks by itself; normal activity is quiet; exec sh, exec cat and a copied-in binary raise unexpected_process; a second container shares the baseline; su to a new user is privilege drift"
        )
        func learnLockAlert() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("baseline-web")
            defer { scratch.remove() }
            let baselines = scratch.path + "/baselines"
            let gate = scratch.path + "/gate"
            try LiveGate.makeDirectories(scratch.path, "gate")
            let containers = TestContainers(test: "baseline-web")
            defer { containers.removeAll() }
            let project = "vigiltest\(getpid())"
            let key = WebWorkload.key(project)

            let (agent, reader) = try Self.startAgent(scratch, baselines: baselines, learnFor: "8s")
            let first = try containers.run(
                "web1", options: WebWorkload.labels(project) + ["-v", "\(gate):/gate:ro"], ["sh", "-c", WebWorkload.script])

            // Learning: nothing about the workload is alerted, then it locks by itself.
            let locked = agent.waitFor(seconds: 40) { lines in
                lines.statuses.contains { ($0.message ?? "").hasPrefix("baseline of \(key) locked") }
            }
            try #require(locked, "the baseline did not lock: \(agent.diagnostics())")
            let baseline = try Self.load(baselines, key)
            #expect(baseline.state == .locked)
            let learned = Set(baseline.processes.keys.map { "\($0.kind)|\($0.parent)" })
            for (kind, parent) in WebWorkload.kinds {
                #expect(learned.contains("\(kind)|\(parent)"), "\(kind) under \(parent) not learned; learned: \(learned.sorted())")
            }
            let su = try #require(baseline.processes.first { $0.key.kind.description == "/bin/busybox[su]" }?.value)
            #expect(su.users == [0, 65534], "su learned as users \(String(describing: su.users))")
            #expect(baseline.pidsHigh >= 2, "pids-high \(baseline.pidsHigh)")

            // Locked, normal activity: several more rounds of the loop, no baseline alert.
            LiveGate.pause(milliseconds: 4000)
            let quiet = reader.about(first).filter { ["unexpected_process", "privilege_drift"].contains($0.rule) }
            #expect(quiet.isEmpty, "normal activity raised: \(quiet.briefs)")

            // docker exec of a shell, of cat, and of a binary copied in. A process that exits within
            // microseconds of its exec can be gone before it is read at all, or before its executable
            // is: its kind then reads `?[name]` (the name comes from stat, which outlives it). The shell
            // and the copied binary live a moment, as a person's would.
            #expect(containers.docker(["exec", first, "sh", "-c", "sleep 0.3; true"]).status == 0)
            // `cat /etc/passwd` lives a few hundred microseconds: about as long as reading it takes. Run
            // it until one is read whole and named by its kind (one gone first is a process_exec with
            // vigil.missing, or a `?[cat]` without its executable).
            for _ in 0..<10 {
                #expect(containers.docker(["exec", first, "cat", "/etc/passwd"]).status == 0)
                let caught = reader.waitFor(first, seconds: 2) { alerts in
                    alerts.contains { $0.string("vigil.baseline.kind") == "/bin/busybox[cat]" }
                }
                if caught { break }
            }
            #expect(containers.docker(["cp", "/bin/busybox", "\(first):/bin/busybox-copy"]).status == 0)
            #expect(containers.docker(["exec", first, "/bin/busybox-copy", "sleep", "0.3"]).status == 0)
            let expected: [Set<String>] = [["/bin/busybox[sh]"], ["/bin/busybox[cat]"], ["/bin/busybox-copy"]]
            let raised = reader.waitFor(first, seconds: 20) { alerts in
                let kinds = Set(alerts.rule("unexpected_process").compactMap { $0.string("vigil.baseline.kind") })
                return expected.allSatisfy { !$0.isDisjoint(with: kinds) }
            }
            let unexpected = reader.about(first).rule("unexpected_process")
            #expect(raised, "expected unexpected_process for \(expected): \(unexpected.briefs)")
            for alert in unexpected {
                #expect(alert.string("vigil.baseline.parent") == "outside", "\(alert.brief)")
                #expect(alert.priority == "Warning")
                #expect(alert.string("vigil.workload") == key.rawValue)
                #expect(alert.tags.contains("baseline") && alert.tags.contains("T1059"), "\(alert.tags)")
            }
            let shell = unexpected.first { $0.string("vigil.baseline.kind") == "/bin/busybox[sh]" }
            #expect(shell?.string("vigil.baseline.closest") == "/bin/busybox[sh] (parent -)", "\(shell?.brief ?? "none")")
            #expect(
                !unexpected.contains { ["/bin/busybox[wget]", "/bin/busybox[sleep]", "/bin/busybox[httpd]"].contains($0.string("vigil.baseline.kind")) },
                "a learned kind was alerted: \(unexpected.briefs)")

            // A second container of the same workload uses the same, locked, baseline.
            let second = try containers.run("web2", options: WebWorkload.labels(project) + ["-v", "\(gate):/gate:ro"], ["sh", "-c", WebWorkload.script])
            LiveGate.pause(milliseconds: 3000)
            let secondQuiet = reader.about(second).filter { ["unexpected_process", "privilege_drift"].contains($0.rule) }
            #expect(secondQuiet.isEmpty, "the second container's normal activity raised: \(secondQuiet.briefs)")
            // sleep is learned only as the loop's child: run from outside, it is not in the baseline.
            #expect(containers.docker(["exec", second, "sleep", "0.3"]).status == 0)
            #expect(
                reader.waitFor(second, seconds: 20) { alerts in
                    alerts.rule("unexpected_process").contains {
                        $0.string("vigil.baseline.kind") == "/bin/busybox[sleep]" && $0.string("vigil.baseline.parent") == "outside"
                    }
                }, "exec sleep in the second container: \(reader.about(second).briefs)")
            #expect(Self.statuses(agent).filter { $0.hasPrefix("learning a baseline for \(key)") }.count == 1)

            // su to another user than learned: privilege drift (su's user change, and the shell it runs).
            try LiveGate.writeFile(gate, "drift", "1")
            let drifted = reader.waitFor(first, seconds: 20) { alerts in
                alerts.rule("privilege_drift").contains { $0.string("vigil.baseline.kind") == "/bin/busybox[su]" }
            }
            #expect(drifted, "no privilege_drift for su to uid 1000: \(reader.about(first).briefs)")
            let drift = reader.about(first).rule("privilege_drift").first { $0.string("vigil.baseline.kind") == "/bin/busybox[su]" }
            #expect(drift?.strings("vigil.baseline.users") == ["0", "65534"], "\(drift?.brief ?? "none")")
            #expect(drift?.priority == "Error")

            Self.finishAgent(agent, reader)
            // The locked baseline was not changed by what happened after it locked.
            let after = try Self.load(baselines, key)
            #expect(after.processes.keys.sorted() == baseline.processes.keys.sorted())
            if let destination = LiveGate.environment("VIGIL_SAVE_BASELINES"), !destination.isEmpty {
                var saved = after
                saved.workload = WorkloadKey(rawValue: "compose:example/web")
                saved.nodes = ["node-a"]
                try BaselineStore(directory: destination).save(saved)
            }
        }

        static func finishAgent(_ agent: WatchAgent, _ reader: AlertReader, sourceLocation: SourceLocation = #_sourceLocation) {
            let status = agent.stop()
            #expect(status == 0, "exit status \(status): \(agent.diagnostics())", sourceLocation: sourceLocation)
            reader.refresh()
            #expect(reader.malformed.isEmpty, "malformed lines: \(reader.malformed.prefix(3))", sourceLocation: sourceLocation)
        }

        @Test("learning resumes after a restart: the learned time carries over and the baseline locks after the rest of --learn-for")
        func learningResumes() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("baseline-resume")
            defer { scratch.remove() }
            let baselines = scratch.path + "/baselines"
            try LiveGate.makeDirectories(scratch.path, "gate")
            let containers = TestContainers(test: "baseline-resume")
            defer { containers.removeAll() }
            let project = "vigilresume\(getpid())"
            let key = WebWorkload.key(project)
            _ = try containers.run(
                "web", options: WebWorkload.labels(project) + ["-v", "\(scratch.path)/gate:/gate:ro"], ["sh", "-c", WebWorkload.script])

            var (agent, reader) = try Self.startAgent(scratch, baselines: baselines, learnFor: "14s")
            LiveGate.pause(milliseconds: 6000)
            Self.finishAgent(agent, reader)
            let stopped = try Self.load(baselines, key)
            #expect(stopped.state == .learning)
            #expect(stopped.learned >= 5_000_000_000 && stopped.learned < 14_000_000_000, "learned \(stopped.learned) ns at the first stop")
            #expect(!stopped.processes.isEmpty)

            let restart = LiveGate.monotonicSeconds()
            (agent, reader) = try Self.startAgent(scratch, baselines: baselines, learnFor: "14s")
            let locked = agent.waitFor(seconds: 30) { lines in
                lines.statuses.contains { ($0.message ?? "").hasPrefix("baseline of \(key) locked") }
            }
            let waited = LiveGate.monotonicSeconds() - restart
            try #require(locked, "did not lock after the restart: \(agent.diagnostics())")
            // Started over, it would need the whole 14 s after the restart.
            #expect(waited < 13, "locked \(waited) s after the restart, as if learning had started over")
            let final = try Self.load(baselines, key)
            #expect(final.state == .locked)
            #expect(final.learned >= 14_000_000_000, "learned \(final.learned) ns")
            #expect(final.created == stopped.created, "a new baseline was started instead of the old one resumed")
            Self.finishAgent(agent, reader)
        }

        @Test("SIGKILL at any moment while learning leaves each baseline file whole: old or new, never broken")
        func killDuringWrites() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("baseline-kill")
            defer { scratch.remove() }
            let baselines = scratch.path + "/baselines"
            let containers = TestContainers(test: "baseline-kill")
            defer { containers.removeAll() }
            let project = "vigilkill\(getpid())"
            let key = WebWorkload.key(project)
            // Many execs of several kinds: the baseline changes all the time, and is written every millisecond.
            let busy = "while true; do for a in true false echo ls cat date id uname; do busybox $a >/dev/null 2>&1; done; done"
            _ = try containers.run("busy", options: WebWorkload.labels(project), ["sh", "-c", busy])
            let binary = try LiveGate.requireVigil()
            let configuration = try scratch.write("vigil.conf", "[baseline]\nwrite_interval = 1ms\n[rule insecure_container]\nenabled = false\n")

            var generator = SystemRandomNumberGenerator()
            var versions = Set<String>()
            var kills = 0
            for round in 0..<25 {
                guard let out = LiveGate.openScratchFile() else { Issue.record("no scratch file"); return }
                defer { close(out) }
                let started = LiveGate.spawn(
                    [binary, "watch", "--format", "json", "--baseline-dir", baselines, "--learn-for", "1h", "--config", configuration],
                    stdout: out, stderr: out)
                guard case .success(let pid) = started else { Issue.record("cannot start vigil: \(started)"); return }
                // Once it watches (it has taken the container in, and learns and writes from then on), at
                // a random moment: however long a loaded machine makes its start.
                let watching = LiveGate.waitUntil(seconds: 60) {
                    var bytes = [UInt8](repeating: 0, count: 64 * 1024)
                    let count = bytes.withUnsafeMutableBytes { pread(out, $0.baseAddress, $0.count, 0) }
                    return count > 0 && String(decoding: bytes[0..<count], as: UTF8.self).contains("watching with")
                }
                #expect(watching, "round \(round): the agent did not start watching")
                LiveGate.pause(milliseconds: 30 + Int.random(in: 0..<500, using: &generator))
                kill(pid, SIGKILL)
                _ = LiveGate.wait(for: pid)
                kills += 1
                let path = BaselineStore(directory: baselines).path(for: key)
                guard let bytes = LiveGate.readFile(path) else {
                    #expect(round < 1, "no baseline file after round \(round)")
                    continue
                }
                let text = String(decoding: bytes, as: UTF8.self)
                do {
                    let baseline = try BaselineFile.decode(text, file: path)
                    #expect(baseline.workload == key)
                    #expect(baseline.state == .learning)
                    versions.insert(text)
                } catch {
                    Issue.record("round \(round): the baseline file is broken after SIGKILL: \(error)\n\(text.prefix(800))")
                }
                let leftovers = LiveGate.listDirectory(baselines).filter { $0.contains(".tmp.") }
                #expect(leftovers.count <= 1, "temporary files pile up: \(leftovers)")
            }
            #expect(kills == 25)
            // It was really being rewritten while killed: many different versions were seen.
            #expect(versions.count >= 10, "only \(versions.count) distinct versions in \(kills) kills")
            // Learning resumed each time: the learned time grew across the restarts.
            let final = try Self.load(baselines, key)
            #expect(final.learned >= 2_000_000_000, "learned \(final.learned) ns over \(kills) runs of 30-530 ms watching")
            // The next agent cleans up the temporary file a killed one left.
            let (agent, reader) = try Self.startAgent(scratch, baselines: baselines, learnFor: "1h")
            #expect(LiveGate.listDirectory(baselines).filter { $0.contains(".tmp.") }.isEmpty)
            Self.finishAgent(agent, reader)
        }

        @Test(
            "changes made with `vigil baseline` while the agent runs take effect at once: lock starts alerting, allow silences a kind; a burst beyond the learned peaks is pids_excess and fork_rate_excess"
        )
        func changesWhileRunning() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("baseline-live-edit")
            defer { scratch.remove() }
            let baselines = scratch.path + "/baselines"
            try LiveGate.makeDirectories(scratch.path, "gate")
            let containers = TestContainers(test: "baseline-edit")
            defer { containers.removeAll() }
            let project = "vigiledit\(getpid())"
            let key = WebWorkload.key(project)
            let vigil = try LiveGate.requireVigil()
            let (agent, reader) = try Self.startAgent(scratch, baselines: baselines, learnFor: "1h")
            let web = try containers.run(
                "web", options: WebWorkload.labels(project) + ["-v", "\(scratch.path)/gate:/gate:ro"], ["sh", "-c", WebWorkload.script])

            // Learning writes the file a few seconds after each change.
            let learned = LiveGate.waitUntil(seconds: 30) {
                let baseline = try? BaselineStore(directory: baselines).load(key)
                return baseline?.processes.keys.contains { $0.kind.name == "su" } ?? false
            }
            try #require(learned, "the learning baseline was not written: \(agent.diagnostics())")
            LiveGate.pause(milliseconds: 1500)
            #expect(reader.about(web).filter { $0.rule == "unexpected_process" }.isEmpty)

            let lock = LiveGate.run([vigil, "baseline", "lock", key.rawValue, "--baseline-dir", baselines])
            #expect(lock.status == 0, "\(lock)")
            let takenIn = agent.waitFor(seconds: 10) { lines in
                lines.statuses.contains { ($0.message ?? "").hasPrefix("baseline of \(key) changed on disk: taken in (locked") }
            }
            #expect(takenIn, "the agent did not take the lock in: \(agent.diagnostics())")
            #expect(containers.docker(["exec", web, "sleep", "0.3"]).status == 0)
            let isOutsideSleep: (AlertLine) -> Bool = {
                $0.rule == "unexpected_process" && $0.string("vigil.baseline.kind") == "/bin/busybox[sleep]"
                    && $0.string("vigil.baseline.parent") == "outside"
            }
            #expect(
                reader.waitFor(web, seconds: 15) { $0.contains(where: isOutsideSleep) },
                "no unexpected_process after the lock: \(reader.about(web).briefs)")

            let allow = LiveGate.run(
                [vigil, "baseline", "allow", key.rawValue, "/bin/busybox[sleep]", "--parent", "outside", "--baseline-dir", baselines])
            #expect(allow.status == 0, "\(allow)")
            #expect(
                agent.waitFor(seconds: 10) { lines in
                    lines.statuses.filter { ($0.message ?? "").hasPrefix("baseline of \(key) changed on disk") }.count >= 2
                }, "the agent did not take the allow in: \(agent.diagnostics())")
            let before = reader.about(web).filter(isOutsideSleep).count
            #expect(containers.docker(["exec", web, "sleep", "0.3"]).status == 0)
            let after = reader.settle(web, quiet: 2, seconds: 10).filter(isOutsideSleep).count
            #expect(after == before, "an allowed kind was still alerted")

            // 80 processes at once: far beyond the 4 or so PIDs and few forks a second it learned.
            let burst = containers.docker(["exec", web, "sh", "-c", "i=0; while [ $i -lt 80 ]; do sleep 3 & i=$((i+1)); done; wait"])
            #expect(burst.status == 0, "\(burst)")
            let excess = reader.waitFor(web, seconds: 20) { alerts in
                alerts.contains { $0.rule == "pids_excess" } && alerts.contains { $0.rule == "fork_rate_excess" }
            }
            #expect(excess, "no pids_excess and fork_rate_excess: \(reader.about(web).briefs)")
            if let pids = reader.about(web).first(where: { $0.rule == "pids_excess" }) {
                #expect((pids.int("vigil.pids.current") ?? 0) > 16, "\(pids.brief)")
                #expect(pids.tags.contains("baseline"))
            }
            Self.finishAgent(agent, reader)
        }

        @Test("vigil learn --for learns what runs, writes the baselines, raises nothing and exits; --lock locks them")
        func learnCommand() throws {
            try requireLiveAgent()
            let scratch = try ScratchDirectory("baseline-learn")
            defer { scratch.remove() }
            let baselines = scratch.path + "/baselines"
            try LiveGate.makeDirectories(scratch.path, "gate")
            let containers = TestContainers(test: "baseline-learn")
            defer { containers.removeAll() }
            let project = "vigillearn\(getpid())"
            let key = WebWorkload.key(project)
            _ = try containers.run(
                "web", options: WebWorkload.labels(project) + ["-v", "\(scratch.path)/gate:/gate:ro"], ["sh", "-c", WebWorkload.script])
            let vigil = try LiveGate.requireVigil()

            let learned = LiveGate.run([vigil, "learn", "--for", "4s", "--baseline-dir", baselines, "--output", "stdout"], timeoutSeconds: 60)
            #expect(learned.status == 0, "\(learned)")
            #expect(learned.errorText.contains("\(key)  learning"), "the summary names the workload: \(learned.errorText)")
            #expect(!learned.text.contains("\"rule\""), "vigil learn wrote alerts: \(learned.text.prefix(2000))")
            let baseline = try Self.load(baselines, key)
            #expect(baseline.state == .learning)
            #expect(baseline.processes.keys.contains { $0.kind.description == "/bin/busybox[wget]" })
            #expect(baseline.learned >= 3_000_000_000, "learned \(baseline.learned)")

            // Again, with --lock: it goes on from where it was, then locks.
            let locked = LiveGate.run([vigil, "learn", "--for", "2s", "--lock", "--baseline-dir", baselines], timeoutSeconds: 60)
            #expect(locked.status == 0, "\(locked)")
            let after = try Self.load(baselines, key)
            #expect(after.state == .locked)
            #expect(after.learned > baseline.learned)
            #expect(after.created == baseline.created)
        }

        @Test("a malformed baseline file stops the agent with exit status 2, naming the file and line")
        func malformedBaselineRefused() throws {
            let scratch = try ScratchDirectory("baseline-bad")
            defer { scratch.remove() }
            try LiveGate.makeDirectories(scratch.path, "baselines")
            let path = try scratch.write(
                "baselines/image:web:1.baseline", "format 1\nworkload image:web:1\nstate locked\nprocess /bin/sh parent=- users=root\n")
            let vigil = try LiveGate.requireVigil()
            let result = LiveGate.run([vigil, "watch", "--baseline-dir", scratch.path + "/baselines", "--source", "poll"], timeoutSeconds: 60)
            #expect(result.status == 2, "\(result)")
            #expect(result.errorText.contains("\(path):4:"), "\(result)")
            #expect(result.errorText.contains("users"), "\(result)")
            let list = LiveGate.run([vigil, "baseline", "list", "--baseline-dir", scratch.path + "/baselines"])
            #expect(list.status == 2 && list.errorText.contains("\(path):4:"), "\(list)")
        }
    }
}
