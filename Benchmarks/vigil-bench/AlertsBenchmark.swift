import Glibc
import Synchronization
import VigilJSON
import VigilKernel

/// A unix datagram socket standing in for /dev/log: every message is stamped with its arrival time.
final class SyslogReceiver: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let messages = Mutex<[(arrived: Timestamp, text: String)]>([])
    private let running = Atomic<Bool>(true)
    private var thread: SystemThread?

    init(path: String) {
        self.path = path
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { fail("socket: \(Errno(rawValue: errno))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { fail("bind \(path): \(Errno(rawValue: errno))") }
        var size: Int32 = 8 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        thread = try? SystemThread(name: "bench-syslog") { [self] in receive() }
    }

    private func receive() {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -10)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while running.load(ordering: .relaxed) {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            let arrived = Timestamp.now()
            let text = String(decoding: buffer[0..<count], as: UTF8.self)
            messages.withLock { $0.append((arrived, text)) }
        }
    }

    /// The JSON documents received, with their arrival times.
    var documents: [(arrived: Timestamp, document: JSONValue)] {
        messages.withLock { $0 }.compactMap { arrived, text in
            guard let brace = text.firstIndex(of: "{"), let document = try? JSONParser.parse(String(text[brace...])) else {
                return nil
            }
            return (arrived, document)
        }
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        thread?.join()
        close(fd)
        unlink(path)
    }
}

/// Exec-to-syslog latency of alerts, and how fast a fork bomb is seen and what it costs the agent.
func runAlertsBenchmark(execs: Int) {
    let workspace = Workspace.shared
    let receiver = SyslogReceiver(path: "/tmp/vigil-bench-\(getpid()).sock")
    let configuration = "/tmp/vigil-bench-\(getpid()).conf"
    let text = "[alerts]\ndedup_window = 0\n"
    let fd = open(configuration, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
    defer { unlink(configuration) }

    // Latency: `execs` shells, one every 10 ms, each an alert (deduplication off), to the syslog socket.
    // Each shell sleeps a moment, so it is still there to be read (one gone before it can be read is
    // reported as an exec, but no rule can tell what it ran).
    let shellContainer = workspace.containerID(20_000)
    let procs = workspace.makeContainer(shellContainer)
    let agent = RunningAgent.start(["--output", "syslog:unix:\(receiver.path)", "--output", "stdout", "--config", configuration])
    let moveIn = procs.map { "echo $$ > \($0)" }.joined(separator: " && ")
    let loop = spawn(["/bin/sh", "-c", "\(moveIn) && exec /bin/sh -c 'i=0; while [ $i -lt \(execs) ]; do sh -c \"sleep 0.005\"; sleep 0.01; i=$((i+1)); done'"])
    workspace.track(loop)
    _ = reap(loop)
    agent.settle(quiet: 2)

    var latencies: [UInt64] = []
    for (arrived, document) in receiver.documents
    where document["rule"]?.string == "shell_in_container"
        && document["output_fields"]?["container.full_id"]?.string == shellContainer
    {
        guard let time = document["time"]?.string.flatMap(parseRFC3339) else { continue }
        let arrival = arrived.seconds * 1_000_000_000 + Int64(arrived.nanoseconds)
        latencies.append(UInt64(max(0, arrival - time)))
    }

    // Fork bomb in a container limited to 64 pids.
    let bombContainer = workspace.containerID(20_001)
    let bombProcs = workspace.makeContainer(bombContainer, pidsMax: 64)
    let bombMoveIn = bombProcs.map { "echo $$ > \($0)" }.joined(separator: " && ")
    let cpuBefore = agent.cpuNanoseconds()
    let started = Timestamp.now()
    let startedMonotonic = monotonicNanoseconds()
    // As a container runtime does: join the cgroup, then exec the workload: here the classic bomb in
    // which every process forks forever, ignoring failures, so it rages at the limit until killed.
    let bomb = spawn(["/bin/sh", "-c", "\(bombMoveIn) && exec /usr/bin/perl -e 'fork while 1'"])
    workspace.track(bomb)
    var detection: Double?
    let deadline = monotonicNanoseconds() + 10_000_000_000
    while detection == nil, monotonicNanoseconds() < deadline {
        for (arrived, document) in receiver.documents
        where document["rule"]?.string == "fork_storm" && document["output_fields"]?["container.full_id"]?.string == bombContainer {
            let seconds = Double(arrived.seconds - started.seconds) + Double(arrived.nanoseconds - started.nanoseconds) / 1e9
            detection = seconds
            break
        }
        usleep(20_000)
    }
    // Let it rage for five seconds in all, then measure what the agent spent.
    let stormSeconds = 5.0
    let elapsedSoFar = Double(monotonicNanoseconds() - startedMonotonic) / 1e9
    if elapsedSoFar < stormSeconds { usleep(UInt32((stormSeconds - elapsedSoFar) * 1e6)) }
    let cpuDuring = agent.cpuNanoseconds() - cpuBefore
    let stormElapsed = Double(monotonicNanoseconds() - startedMonotonic) / 1e9
    // Stop the bomb: kill everything in its cgroup until it is empty.
    kill(bomb, SIGKILL)
    for _ in 0..<200 {
        var any = false
        for path in bombProcs {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard count > 0 else { continue }
            for line in String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\n") {
                if let pid = Int32(line) {
                    kill(pid, SIGKILL)
                    any = true
                }
            }
        }
        if !any { break }
        usleep(20_000)
    }
    _ = reap(bomb)
    agent.settle(quiet: 4.5, limit: 20)
    let summary = receiver.documents.first {
        $0.document["rule"]?.string == "fork_storm" && $0.document["output_fields"]?["vigil.storm"]?.string == "ended"
            && $0.document["output_fields"]?["container.full_id"]?.string == bombContainer
    }
    agent.stop()
    receiver.stop()
    workspace.cleanUp()

    let refused = summary?.document["output_fields"]?["vigil.forks_refused"]?.int
    print("""
        vigil-bench alerts: \(execs) shells in a container, one every 10 ms, each an alert (deduplication off), to a syslog socket
          exec-to-syslog latency: \(latencies.count) alerts, p50 \(ms(percentile(latencies, 0.5))), p99 \(ms(percentile(latencies, 0.99))), max \(ms(percentile(latencies, 1.0)))   (target p99 ≤ 50 ms)
          fork bomb in a container with pids.max 64: detected after \(detection.map { "\((($0 * 1000).rounded()) / 1000) s" } ?? "never (10 s)")   (target < 1 s)
            agent CPU while it raged (\((stormElapsed * 10).rounded() / 10) s): \(percent(Double(cpuDuring) / 1e9 / stormElapsed)) of one core   (target < 30%)
            summary after it was stopped: \(summary == nil ? "missing" : "forks refused \(refused.map(String.init) ?? "?")")
        """)
}
