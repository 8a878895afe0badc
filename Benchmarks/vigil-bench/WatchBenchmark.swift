import Glibc
import VigilJSON
import VigilKernel

/// A running `vigil watch` whose lines are collected.
struct RunningAgent {
    let pid: pid_t
    let lines: LineCollector

    static func start(_ arguments: [String]) -> RunningAgent {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { fail("pipe: \(Errno(rawValue: errno))") }
        // The read end stays with us alone (posix_spawn children would otherwise inherit it).
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        // Baselines go to the run's own directory, never the node's.
        let pid = spawn(
            [vigilBinary(), "watch", "--format", "json", "--baseline-dir", Workspace.shared.baselineDirectory] + arguments, output: fds[1])
        close(fds[1])
        Workspace.shared.track(pid)
        let agent = RunningAgent(pid: pid, lines: LineCollector(readEnd: fds[0]))
        guard agent.lines.wait(for: "\"watching ", seconds: 60) else { fail("vigil watch did not start") }
        return agent
    }

    /// Waits until no line has arrived for `quiet` seconds (at most `limit`).
    func settle(quiet: Double = 1.0, limit: Double = 60) {
        let deadline = monotonicNanoseconds() + UInt64(limit * 1e9)
        var count = -1
        while monotonicNanoseconds() < deadline {
            let now = lines.snapshot.count
            if now == count { return }
            count = now
            usleep(UInt32(quiet * 1e6))
        }
    }

    func stop() {
        kill(pid, SIGTERM)
        _ = reap(pid)
        lines.join()
    }

    /// CPU time used so far by the whole process, exited threads included (`utime + stime` of
    /// /proc/PID/stat, in clock ticks: measure over tens of seconds for a fine figure).
    func cpuNanoseconds() -> UInt64 {
        guard let proc = try? FileDescriptor.openDirectory("/proc"), let file = try? proc.open(relative: "\(pid)/stat")
        else { return 0 }
        var buffer = ReadBuffer(capacity: 4096)
        guard case .success = file.readAll(into: &buffer) else { return 0 }
        let text = Bytes.string(buffer.bytes[...])
        guard let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // Fields 14 and 15 (utime, stime) are indexes 11 and 12 after the comm.
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return 0 }
        return (user + system) * UInt64(1_000_000_000 / sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmRSS and VmHWM in KiB.
    func memory() -> (rss: Int, peak: Int) {
        guard let proc = try? FileDescriptor.openDirectory("/proc"), let file = try? proc.open(relative: "\(pid)/status")
        else { return (0, 0) }
        var buffer = ReadBuffer(capacity: 4096)
        guard case .success = file.readAll(into: &buffer) else { return (0, 0) }
        var rss = 0
        var peak = 0
        for line in Bytes.string(buffer.bytes[...]).split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let value = Int(parts[1]) else { continue }
            if parts[0] == "VmRSS:" { rss = value }
            if parts[0] == "VmHWM:" { peak = value }
        }
        return (rss, peak)
    }
}

struct BurstResult {
    var caught = 0
    var exits = 0
    var argumentsRead = 0
    var latencies: [UInt64] = []
    var lostEvents: UInt64 = 0
}

/// `execs` runs of /bin/true from a shell in a container made for the run, watched by `vigil watch`.
func burst(source: [String], execs: Int, index: Int) -> BurstResult {
    let workspace = Workspace.shared
    let id = workspace.containerID(10_000 + index)
    let procs = workspace.makeContainer(id)
    let agent = RunningAgent.start(["--events"] + source)

    let moveIn = procs.map { "echo $$ > \($0)" }.joined(separator: " && ")
    let shell = spawn(["/bin/sh", "-c", "\(moveIn) && i=0; while [ $i -lt \(execs) ]; do /bin/true; i=$((i+1)); done"])
    workspace.track(shell)
    _ = reap(shell)
    agent.settle(quiet: 2)
    agent.stop()

    var result = BurstResult()
    for (arrived, text) in agent.lines.snapshot {
        guard let line = try? JSONParser.parse(text), let fields = line["output_fields"] else { continue }
        if line["event"]?.string == "agent_status" {
            result.lostEvents += UInt64(fields["vigil.lost_events"]?.int ?? 0)
            continue
        }
        guard fields["container.full_id"]?.string == id, fields["proc.ppid"]?.int == Int(shell) else { continue }
        switch line["event"]?.string {
        case "process_exec":
            result.caught += 1
            if fields["proc.args"] == .array([.string("/bin/true")]) { result.argumentsRead += 1 }
            if let time = line["time"]?.string.flatMap(parseRFC3339) {
                let arrival = arrived.seconds * 1_000_000_000 + Int64(arrived.nanoseconds)
                result.latencies.append(UInt64(max(0, arrival - time)))
            }
        case "process_exit":
            result.exits += 1
        default:
            break
        }
    }
    return result
}

/// Catch rate and exec-to-line latency with the connector and with polling; then the steady-state cost
/// of watching many long-lived processes with no churn, against one `ps` scan of the same node.
func runWatchBenchmark(execs: Int, containers containerCount: Int, perContainer: Int, seconds: Int) {
    let connector = burst(source: ["--source", "connector"], execs: execs, index: 0)
    let poll = burst(source: ["--source", "poll", "--poll-interval", "100ms"], execs: execs, index: 1)

    // Steady state.
    let workspace = Workspace.shared
    for index in 0..<containerCount {
        let procs = workspace.makeContainer(workspace.containerID(index), pidsMax: 4096)
        for _ in 0..<perContainer {
            let pid = spawn(["/bin/sleep", "3600"])
            workspace.track(pid)
            workspace.move(pid, into: procs)
        }
    }
    let psBinary = FileSystem.exists("/usr/bin/ps") ? "/usr/bin/ps" : "/bin/ps"
    let psCPU = median((0..<5).map { _ in measure([psBinary, "-eo", "pid,ppid,uid,comm,args"]).cpuNanoseconds })

    func steady(_ arguments: [String], seconds: Int) -> (cpuPerSecond: Double, rss: Int, peak: Int) {
        let agent = RunningAgent.start(arguments)
        agent.settle(quiet: 1)
        let before = agent.cpuNanoseconds()
        let start = monotonicNanoseconds()
        usleep(UInt32(seconds) * 1_000_000)
        let after = agent.cpuNanoseconds()
        let used = after > before ? after - before : 0
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        let memory = agent.memory()
        agent.stop()
        return (Double(used) / elapsed, memory.rss, memory.peak)
    }
    let watching = steady([], seconds: seconds)
    let polling = steady(["--source", "poll"], seconds: max(5, seconds / 3))
    workspace.cleanUp()

    func line(_ name: String, _ result: BurstResult) -> String {
        """
          \(name): \(result.caught) of \(execs) execs reported (\(percent(Double(result.caught) / Double(execs)))), \(result.exits) exits, \
        arguments read for \(result.argumentsRead) (\(percent(Double(result.argumentsRead) / Double(max(1, execs))))), lost events \(result.lostEvents)
        """
    }
    print("""
        vigil-bench watch: \(execs) short-lived execs (/bin/true from a shell in a container); \(containerCount * perContainer) long-lived processes in \(containerCount) containers for the steady state
        \(line("connector", connector))
            exec-to-line latency: p50 \(ms(percentile(connector.latencies, 0.5))), p99 \(ms(percentile(connector.latencies, 0.99))), max \(ms(percentile(connector.latencies, 1.0)))   (target p99 ≤ 20 ms)
        \(line("poll, 100ms", poll))
          steady state, \(seconds) s, no churn:
            one ps -eo pid,ppid,uid,comm,args scan: CPU \(ms(psCPU))
            vigil watch (connector, defaults): CPU \(ms(watching.cpuPerSecond)) per second = \(percent(watching.cpuPerSecond / psCPU)) of one ps scan   (target ≤ 1%); RSS \(watching.rss / 1024) MiB, peak \(watching.peak / 1024) MiB   (target ≤ 40 MiB)
            vigil watch --source poll (250ms): CPU \(ms(polling.cpuPerSecond)) per second = \(percent(polling.cpuPerSecond / psCPU)) of one ps scan; RSS \(polling.rss / 1024) MiB
        """)
}
