// vigil-bench: measures Vigil against references taken in the same run, as ratios.
//
//     Scripts/bench inventory [--containers 100] [--per-container 50] [--iterations 7]
//
// It makes its own cgroups (named like Docker's systemd driver, under vigil-bench.slice), starts the
// processes, measures, and removes everything it made. Timings are never asserted by tests.

import Glibc
import VigilKernel
import VigilNode

// MARK: Options

var containerCount = 100
var perContainer = 50
var iterations = 7
var arguments = Array(CommandLine.arguments.dropFirst())
let benchmark = arguments.first ?? "inventory"
if !arguments.isEmpty { arguments.removeFirst() }
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    guard let value = arguments.first.flatMap(Int.init), value > 0 else {
        FileSystem.writeStandardError("vigil-bench: \(flag) needs a positive number\n")
        exit(2)
    }
    arguments.removeFirst()
    switch flag {
    case "--containers": containerCount = value
    case "--per-container": perContainer = value
    case "--iterations": iterations = value
    default:
        FileSystem.writeStandardError("vigil-bench: unknown option \(flag)\n")
        exit(2)
    }
}
guard benchmark == "inventory" else {
    FileSystem.writeStandardError("usage: vigil-bench inventory [--containers N] [--per-container N] [--iterations N]\n")
    exit(2)
}
guard getuid() == 0 else {
    FileSystem.writeStandardError("vigil-bench: needs root (it makes cgroups)\n")
    exit(1)
}

// MARK: Processes and cgroups

/// Starts `argv` with stdout and stderr to /dev/null (or to `output`), returning its pid.
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
    if result != 0 {
        FileSystem.writeStandardError("vigil-bench: cannot start \(argv[0]): \(Errno(rawValue: result))\n")
        exit(1)
    }
    return pid
}

/// Runs `argv` to completion; returns wall nanoseconds and the child's peak RSS in KiB.
func measure(_ argv: [String]) -> (nanoseconds: UInt64, maxRSSKiB: Int) {
    let start = monotonicNanoseconds()
    let pid = spawn(argv)
    var status: Int32 = 0
    var usage = rusage()
    _ = wait4(pid, &status, 0, &usage)
    let elapsed = monotonicNanoseconds() - start
    if status != 0 {
        FileSystem.writeStandardError("vigil-bench: \(argv.joined(separator: " ")) exited with status \(status)\n")
        exit(1)
    }
    return (elapsed, Int(usage.ru_maxrss))
}

func writeText(_ path: String, _ text: String) -> Bool {
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == text.utf8.count
}

let cgroupRoot = "/sys/fs/cgroup"
let hierarchies: [String] = {
    if FileSystem.exists(cgroupRoot + "/cgroup.controllers") { return [cgroupRoot] }
    var found: [String] = []
    for name in ["unified", "pids"] where FileSystem.exists("\(cgroupRoot)/\(name)/cgroup.procs") {
        found.append("\(cgroupRoot)/\(name)")
    }
    return found
}()
let parent = "vigil-bench-\(getpid()).slice"

func containerID(_ index: Int) -> String {
    var hex = String(UInt64(0xbe7c_0000_0000_0000) | UInt64(index), radix: 16)
    while hex.count < 16 { hex = "0" + hex }
    return String(repeating: hex, count: 4)
}

var started: [pid_t] = []
var madeCgroups: [String] = []

@MainActor func cleanUp() {
    for pid in started { kill(pid, SIGKILL) }
    for pid in started {
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
    started.removeAll()
    for path in madeCgroups.reversed() { rmdir(path) }
    madeCgroups.removeAll()
}

let setupStart = monotonicNanoseconds()
for hierarchy in hierarchies {
    let path = "\(hierarchy)/\(parent)"
    guard mkdir(path, 0o755) == 0 else {
        FileSystem.writeStandardError("vigil-bench: cannot make \(path): \(Errno(rawValue: errno))\n")
        cleanUp()
        exit(1)
    }
    madeCgroups.append(path)
}
for index in 0..<containerCount {
    let scope = "docker-\(containerID(index)).scope"
    var targets: [String] = []
    for hierarchy in hierarchies {
        let path = "\(hierarchy)/\(parent)/\(scope)"
        mkdir(path, 0o755)
        madeCgroups.append(path)
        targets.append(path + "/cgroup.procs")
    }
    if FileSystem.exists("\(hierarchies.last!)/\(parent)/\(scope)/pids.max") {
        _ = writeText("\(hierarchies.last!)/\(parent)/\(scope)/pids.max", "4096")
    }
    for _ in 0..<perContainer {
        let pid = spawn(["/bin/sleep", "3600"])
        started.append(pid)
        for target in targets where !writeText(target, "\(pid)") {
            FileSystem.writeStandardError("vigil-bench: cannot move \(pid) into \(target)\n")
            cleanUp()
            exit(1)
        }
    }
}
let totalProcesses = containerCount * perContainer
let setupSeconds = Double(monotonicNanoseconds() - setupStart) / 1e9

// MARK: The measured work

/// Reads the same files of the same processes as the inventory (stat, status, cmdline, exe, cgroup),
/// through the same kind of descriptors and buffer, and parses nothing.
func referenceLoop(_ pids: [Int32]) -> Int {
    guard let proc = try? FileDescriptor.openDirectory("/proc") else { return 0 }
    var buffer = ReadBuffer(capacity: 8192)
    var bytes = 0
    for pid in pids {
        guard let process = try? proc.open(relative: String(pid), directory: true) else { continue }
        for name in ["stat", "status", "cmdline", "cgroup"] {
            guard let file = try? process.open(relative: name) else { continue }
            if case .success = file.readAll(into: &buffer) { bytes += buffer.count }
        }
        if case .success(let target) = process.readLink(relative: "exe") { bytes += target.count }
    }
    return bytes
}

func median(_ values: [UInt64]) -> Double {
    let sorted = values.sorted()
    return Double(sorted[sorted.count / 2])
}

let paths = NodePaths()
guard let first = try? InventoryCollector.collect(paths: paths) else {
    FileSystem.writeStandardError("vigil-bench: inventory failed\n")
    cleanUp()
    exit(1)
}
let benchContainers = first.containers.filter { $0.cgroup.contains(parent) }
let benchPids = benchContainers.flatMap { $0.processes.map(\.pid) }
guard benchContainers.count == containerCount, benchPids.count == totalProcesses else {
    FileSystem.writeStandardError(
        "vigil-bench: inventory saw \(benchContainers.count) containers and \(benchPids.count) processes; expected \(containerCount) and \(totalProcesses)\n")
    cleanUp()
    exit(1)
}
let allPids = first.containers.flatMap { $0.processes.map(\.pid) }

func ownExecutable() -> String {
    guard let proc = try? FileDescriptor.openDirectory("/proc"),
        case .success(let target) = proc.readLink(relative: "self/exe")
    else { return "" }
    return Bytes.string(target)
}
let selfExe = ownExecutable()
let vigilBinary = String(selfExe[..<(selfExe.lastIndex(of: "/") ?? selfExe.endIndex)]) + "/vigil"
let psBinary = FileSystem.exists("/usr/bin/ps") ? "/usr/bin/ps" : "/bin/ps"

var inventoryTimes: [UInt64] = []
var sequentialTimes: [UInt64] = []
var vigilTextTimes: [UInt64] = []
var referenceTimes: [UInt64] = []
var vigilCommandTimes: [UInt64] = []
var psTimes: [UInt64] = []
var peakRSS = 0
for _ in 0..<iterations {
    var start = monotonicNanoseconds()
    let inventory = try? InventoryCollector.collect(paths: paths)
    inventoryTimes.append(monotonicNanoseconds() - start)
    precondition(inventory != nil)

    start = monotonicNanoseconds()
    let sequential = try? InventoryCollector.collect(paths: paths, parallelReads: false)
    sequentialTimes.append(monotonicNanoseconds() - start)
    precondition(sequential != nil)

    start = monotonicNanoseconds()
    let bytes = referenceLoop(allPids)
    referenceTimes.append(monotonicNanoseconds() - start)
    precondition(bytes > 0)

    let command = measure([vigilBinary, "ps", "--json"])
    vigilCommandTimes.append(command.nanoseconds)
    peakRSS = max(peakRSS, command.maxRSSKiB)

    vigilTextTimes.append(measure([vigilBinary, "ps"]).nanoseconds)
    psTimes.append(measure([psBinary, "-eo", "pid,ppid,uid,comm,args"]).nanoseconds)
}
cleanUp()

// MARK: Report

func ms(_ nanoseconds: Double) -> String {
    let value = (nanoseconds / 1e6 * 10).rounded() / 10
    return "\(value) ms"
}
func ratio(_ value: Double) -> String { "\((value * 100).rounded() / 100)×" }

let inventory = median(inventoryTimes)
let sequential = median(sequentialTimes)
let vigilText = median(vigilTextTimes)
let reference = median(referenceTimes)
let vigilCommand = median(vigilCommandTimes)
let ps = median(psTimes)
print("""
    vigil-bench inventory: \(totalProcesses) processes in \(containerCount) containers (\(allPids.count) container processes in all), \(iterations) iterations, medians
      setup (spawn, cgroups)                                  \((setupSeconds * 10).rounded() / 10) s
      A  inventory, in process, one thread                    \(ms(sequential))
      B  inventory, in process, parallel reads (default)      \(ms(inventory))
      R  reference: read stat/status/cmdline/exe/cgroup of the same pids, parse nothing, one thread   \(ms(reference))
      C  vigil ps --json, whole command                       \(ms(vigilCommand))
      D  vigil ps, whole command (text)                       \(ms(vigilText))
      P  ps -eo pid,ppid,uid,comm,args, whole command         \(ms(ps))
      A / R  parsing overhead, same thread count              \(ratio(sequential / reference))   (target ≤ 1.25×)
      P / B  ps versus the inventory                          \(ratio(ps / inventory))   (target ≥ 1.5×)
      P / D  ps versus vigil ps                               \(ratio(ps / vigilText))
      P / C  ps versus vigil ps --json                        \(ratio(ps / vigilCommand))
      vigil ps --json peak RSS                                \((Double(peakRSS) / 1024 * 10).rounded() / 10) MiB   (target < 40 MiB)
    """)
