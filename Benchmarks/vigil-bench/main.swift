// vigil-bench: measures Vigil against references taken in the same run, as ratios.
//
//     Scripts/bench inventory [--containers 100] [--per-container 50] [--iterations 7]
//     Scripts/bench watch [--execs 10000] [--containers 100] [--per-container 50] [--seconds 30]
//     Scripts/bench alerts [--execs 500]
//     Scripts/bench baselines [--processes 2000] [--kinds 200] [--iterations 9]
//
// Each benchmark makes its own cgroups (named like Docker's systemd driver, under
// vigil-bench-PID.slice) and processes, measures, and removes everything it made. Run as root.
// Timings are never asserted by tests.

import Glibc
import VigilKernel

let usage = """
    usage: vigil-bench inventory [--containers N] [--per-container N] [--iterations N]
           vigil-bench watch [--execs N] [--containers N] [--per-container N] [--seconds N]
           vigil-bench alerts [--execs N]
           vigil-bench baselines [--processes N] [--kinds N] [--iterations N]
    """

var options: [String: Int] = [:]
var arguments = Array(CommandLine.arguments.dropFirst())
let benchmark = arguments.first ?? "inventory"
if !arguments.isEmpty { arguments.removeFirst() }
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    guard flag.hasPrefix("--"), let value = arguments.first.flatMap(Int.init), value > 0 else {
        FileSystem.writeStandardError("vigil-bench: \(flag) needs a positive number\n\(usage)\n")
        exit(2)
    }
    arguments.removeFirst()
    options[String(flag.dropFirst(2))] = value
}
guard getuid() == 0 else {
    FileSystem.writeStandardError("vigil-bench: needs root (it makes cgroups)\n")
    exit(1)
}

switch benchmark {
case "inventory":
    runInventoryBenchmark(
        containers: options["containers"] ?? 100, perContainer: options["per-container"] ?? 50,
        iterations: options["iterations"] ?? 7)
case "watch":
    runWatchBenchmark(
        execs: options["execs"] ?? 10_000, containers: options["containers"] ?? 100,
        perContainer: options["per-container"] ?? 50, seconds: options["seconds"] ?? 30)
case "alerts":
    runAlertsBenchmark(execs: options["execs"] ?? 500)
case "baselines":
    runBaselineBenchmark(
        processes: options["processes"] ?? 2000, kinds: options["kinds"] ?? 200, iterations: options["iterations"] ?? 9)
default:
    FileSystem.writeStandardError("\(usage)\n")
    exit(2)
}
