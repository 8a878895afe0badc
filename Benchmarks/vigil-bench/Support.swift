import CVigilShims
import Glibc
import Synchronization
import VigilKernel

// Shared by the benchmarks: processes, cgroups made for the run (and removed after it), timing.

func fail(_ message: String) -> Never {
    FileSystem.writeStandardError("vigil-bench: \(message)\n")
    Workspace.shared.cleanUp()
    exit(1)
}

/// Starts `argv` with stdin from /dev/null and stdout/stderr to /dev/null, or stdout to `output`.
func spawn(_ argv: [String], output: Int32? = nil) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    if let output {
        posix_spawn_file_actions_adddup2(&actions, output, 1)
    } else {
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    }
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var cArgs = argv.map { strdup($0) } + [nil]
    defer { for arg in cArgs { free(arg) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
    if result != 0 { fail("cannot start \(argv[0]): \(Errno(rawValue: result))") }
    return pid
}

/// Waits for `pid`; returns its wait status and resource usage.
func reap(_ pid: pid_t) -> (status: Int32, usage: rusage) {
    var status: Int32 = 0
    var usage = rusage()
    _ = wait4(pid, &status, 0, &usage)
    return (status, usage)
}

/// Runs `argv` to completion; returns wall nanoseconds, the child's peak RSS in KiB and its CPU time.
func measure(_ argv: [String]) -> (nanoseconds: UInt64, maxRSSKiB: Int, cpuNanoseconds: UInt64) {
    let start = monotonicNanoseconds()
    let pid = spawn(argv)
    let (status, usage) = reap(pid)
    let elapsed = monotonicNanoseconds() - start
    if status != 0 { fail("\(argv.joined(separator: " ")) exited with status \(status)") }
    return (elapsed, Int(usage.ru_maxrss), cpu(usage))
}

func cpu(_ usage: rusage) -> UInt64 {
    UInt64(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000_000
        + UInt64(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1_000
}

func writeText(_ path: String, _ text: String) -> Bool {
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == text.utf8.count
}

func median(_ values: [UInt64]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : Double(sorted[sorted.count / 2])
}

func percentile(_ values: [UInt64], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
    return Double(sorted[max(0, index)])
}

func ms(_ nanoseconds: Double) -> String { "\((nanoseconds / 1e6 * 100).rounded() / 100) ms" }
func ratio(_ value: Double) -> String { "\((value * 100).rounded() / 100)×" }
func percent(_ value: Double) -> String { "\((value * 10000).rounded() / 100)%" }

/// The path of the `vigil` binary built beside this one.
func vigilBinary() -> String {
    guard let proc = try? FileDescriptor.openDirectory("/proc"),
        case .success(let target) = proc.readLink(relative: "self/exe")
    else { fail("cannot read /proc/self/exe") }
    let path = Bytes.string(target)
    return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) + "/vigil"
}

/// What a benchmark made: processes to end and cgroups to remove, whatever happens.
final class Workspace: @unchecked Sendable {
    static let shared = Workspace()

    let cgroupRoot = "/sys/fs/cgroup"
    private(set) var started: [pid_t] = []
    private(set) var cgroups: [String] = []
    let parent = "vigil-bench-\(getpid()).slice"
    /// Where the agents of this run keep baselines; removed at the end.
    let baselineDirectory = "/tmp/vigil-bench-baselines-\(getpid())"

    /// The hierarchies a container cgroup is made in: the root on cgroup v2; unified and pids on hybrid.
    lazy var hierarchies: [String] = {
        if FileSystem.exists(cgroupRoot + "/cgroup.controllers") { return [cgroupRoot] }
        return ["unified", "pids"].map { "\(cgroupRoot)/\($0)" }.filter { FileSystem.exists($0 + "/cgroup.procs") }
    }()

    func track(_ pid: pid_t) { started.append(pid) }

    /// Makes `<hierarchy>/<parent>/docker-<id>.scope` in every hierarchy; returns the cgroup.procs paths.
    func makeContainer(_ id: String, pidsMax: Int? = nil) -> [String] {
        var procs: [String] = []
        for hierarchy in hierarchies {
            let parentPath = "\(hierarchy)/\(parent)"
            if !cgroups.contains(parentPath) {
                guard mkdir(parentPath, 0o755) == 0 else { fail("cannot make \(parentPath): \(Errno(rawValue: errno))") }
                cgroups.append(parentPath)
            }
            let path = "\(parentPath)/docker-\(id).scope"
            guard mkdir(path, 0o755) == 0 else { fail("cannot make \(path): \(Errno(rawValue: errno))") }
            cgroups.append(path)
            procs.append(path + "/cgroup.procs")
            if let pidsMax, FileSystem.exists(path + "/pids.max") { _ = writeText(path + "/pids.max", "\(pidsMax)") }
        }
        return procs
    }

    /// A container id for the run: 64 hex digits from `index`.
    func containerID(_ index: Int) -> String {
        var hex = String(UInt64(0xbe7c_0000_0000_0000) | UInt64(index), radix: 16)
        while hex.count < 16 { hex = "0" + hex }
        return String(repeating: hex, count: 4)
    }

    func move(_ pid: pid_t, into procs: [String]) {
        for target in procs where !writeText(target, "\(pid)") { fail("cannot move \(pid) into \(target)") }
    }

    func cleanUp() {
        for pid in started { kill(pid, SIGKILL) }
        for pid in started { _ = reap(pid) }
        started.removeAll()
        // Their children (a shell's sleep) are still in the benchmark's own cgroups: end those too, by pid.
        for path in cgroups.reversed() {
            guard let text = try? FileSystem.readFile(path + "/cgroup.procs") else { continue }
            for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
                if let pid = Int32(line), pid > 1 { kill(pid, SIGKILL) }
            }
        }
        usleep(200_000)
        for path in cgroups.reversed() { rmdir(path) }
        cgroups.removeAll()
        for name in (try? FileSystem.entries(baselineDirectory)) ?? [] { _ = try? FileSystem.remove(baselineDirectory + "/" + name) }
        rmdir(baselineDirectory)
    }
}

/// Reads a child's standard output line by line on a thread of its own, stamping each line with the
/// wall-clock time it arrived.
final class LineCollector: @unchecked Sendable {
    private let lines = Mutex<[(arrived: Timestamp, text: String)]>([])
    private let readEnd: Int32
    private var thread: SystemThread?

    init(readEnd: Int32) {
        self.readEnd = readEnd
        thread = try? SystemThread(name: "bench-lines") { [self] in collect() }
    }

    private func collect() {
        // The measuring thread must not add its own scheduling delay to what it measures.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(vigil_gettid()), -10)
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count <= 0 { return }
            let now = Timestamp.now()
            pending.append(contentsOf: buffer[0..<count])
            var batch: [(Timestamp, String)] = []
            while let newline = pending.firstIndex(of: 0x0A) {
                batch.append((now, String(decoding: pending[..<newline], as: UTF8.self)))
                pending.removeSubrange(...newline)
            }
            lines.withLock { $0.append(contentsOf: batch) }
        }
    }

    var snapshot: [(arrived: Timestamp, text: String)] { lines.withLock { $0 } }

    /// Waits until a line contains `text`, up to `seconds`.
    func wait(for text: String, seconds: Double) -> Bool {
        let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
        while monotonicNanoseconds() < deadline {
            if lines.withLock({ $0.contains(where: { $0.text.contains(text) }) }) { return true }
            usleep(20_000)
        }
        return false
    }

    func join() { thread?.join() }
}

/// `2026-11-30T02:39:36.164977614Z` → nanoseconds since the epoch.
func parseRFC3339(_ text: String) -> Int64? {
    let bytes = Array(text.utf8)
    guard bytes.count >= 20, bytes[4] == 0x2D, bytes[10] == 0x54 else { return nil }
    func number(_ range: Range<Int>) -> Int? { Int(String(decoding: bytes[range], as: UTF8.self)) }
    guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
        let minute = number(14..<16), let second = number(17..<19)
    else { return nil }
    var parts = tm()
    parts.tm_year = Int32(year - 1900)
    parts.tm_mon = Int32(month - 1)
    parts.tm_mday = Int32(day)
    parts.tm_hour = Int32(hour)
    parts.tm_min = Int32(minute)
    parts.tm_sec = Int32(second)
    let seconds = Int64(timegm(&parts))
    var fraction: Int64 = 0
    var digits = 0
    if bytes[19] == 0x2E {
        var index = 20
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            if digits < 9 {
                fraction = fraction * 10 + Int64(bytes[index] - 0x30)
                digits += 1
            }
            index += 1
        }
    }
    while digits < 9 {
        fraction *= 10
        digits += 1
    }
    return seconds * 1_000_000_000 + fraction
}
