import Glibc
import VigilKernel
import VigilNode

/// Cold inventory of many processes in many containers, against a reference loop that reads the same
/// files and parses nothing, and against `ps`.
func runInventoryBenchmark(containers containerCount: Int, perContainer: Int, iterations: Int) {
    let workspace = Workspace.shared
    let setupStart = monotonicNanoseconds()
    for index in 0..<containerCount {
        let procs = workspace.makeContainer(workspace.containerID(index), pidsMax: 4096)
        for _ in 0..<perContainer {
            let pid = spawn(["/bin/sleep", "3600"])
            workspace.track(pid)
            workspace.move(pid, into: procs)
        }
    }
    let totalProcesses = containerCount * perContainer
    let setupSeconds = Double(monotonicNanoseconds() - setupStart) / 1e9

    /// Reads stat, status, cmdline, exe and cgroup of each pid through the same kind of descriptors
    /// and buffer as the inventory, and parses nothing.
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

    let paths = NodePaths()
    guard let first = try? InventoryCollector.collect(paths: paths) else { fail("inventory failed") }
    let benchContainers = first.containers.filter { $0.cgroup.contains(workspace.parent) }
    let benchPids = benchContainers.flatMap { $0.processes.map(\.pid) }
    guard benchContainers.count == containerCount, benchPids.count == totalProcesses else {
        fail("inventory saw \(benchContainers.count) containers and \(benchPids.count) processes; expected \(containerCount) and \(totalProcesses)")
    }
    let allPids = first.containers.flatMap { $0.processes.map(\.pid) }
    let vigil = vigilBinary()
    let psBinary = FileSystem.exists("/usr/bin/ps") ? "/usr/bin/ps" : "/bin/ps"

    var parallelTimes: [UInt64] = []
    var sequentialTimes: [UInt64] = []
    var referenceTimes: [UInt64] = []
    var jsonTimes: [UInt64] = []
    var textTimes: [UInt64] = []
    var psTimes: [UInt64] = []
    var peakRSS = 0
    for _ in 0..<iterations {
        var start = monotonicNanoseconds()
        precondition((try? InventoryCollector.collect(paths: paths)) != nil)
        parallelTimes.append(monotonicNanoseconds() - start)

        start = monotonicNanoseconds()
        precondition((try? InventoryCollector.collect(paths: paths, parallelReads: false)) != nil)
        sequentialTimes.append(monotonicNanoseconds() - start)

        start = monotonicNanoseconds()
        precondition(referenceLoop(allPids) > 0)
        referenceTimes.append(monotonicNanoseconds() - start)

        let json = measure([vigil, "ps", "--json"])
        jsonTimes.append(json.nanoseconds)
        peakRSS = max(peakRSS, json.maxRSSKiB)
        textTimes.append(measure([vigil, "ps"]).nanoseconds)
        psTimes.append(measure([psBinary, "-eo", "pid,ppid,uid,comm,args"]).nanoseconds)
    }
    workspace.cleanUp()

    let parallel = median(parallelTimes)
    let sequential = median(sequentialTimes)
    let reference = median(referenceTimes)
    let json = median(jsonTimes)
    let text = median(textTimes)
    let ps = median(psTimes)
    print("""
        vigil-bench inventory: \(totalProcesses) processes in \(containerCount) containers (\(allPids.count) container processes in all), \(iterations) iterations, medians
          setup (spawn, cgroups)                                  \((setupSeconds * 10).rounded() / 10) s
          A  inventory, in process, one thread                    \(ms(sequential))
          B  inventory, in process, parallel reads (default)      \(ms(parallel))
          R  reference: read stat/status/cmdline/exe/cgroup of the same pids, parse nothing, one thread   \(ms(reference))
          C  vigil ps --json, whole command                       \(ms(json))
          D  vigil ps, whole command (text)                       \(ms(text))
          P  ps -eo pid,ppid,uid,comm,args, whole command         \(ms(ps))
          A / R  parsing overhead, same thread count              \(ratio(sequential / reference))   (target ≤ 1.25×)
          P / B  ps versus the inventory                          \(ratio(ps / parallel))   (target ≥ 1.5×)
          P / D  ps versus vigil ps                               \(ratio(ps / text))
          P / C  ps versus vigil ps --json                        \(ratio(ps / json))
          vigil ps --json peak RSS                                \((Double(peakRSS) / 1024 * 10).rounded() / 10) MiB   (target < 40 MiB)
        """)
}
