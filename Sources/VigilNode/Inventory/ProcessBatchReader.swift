import Dispatch
import Synchronization
import Glibc
import VigilKernel

/// Reads many processes' /proc files, on several threads when there are enough to be worth it.
enum ProcessBatchReader {
    /// Below this many processes one thread is as fast.
    static let parallelThreshold = 512
    static let maxWorkers = 4

    /// Reads each group of pids; the result has one array per group, in pid order, without processes
    /// that vanished.
    static func read(
        _ groups: [[Int32]], procRoot: String, reader: inout ProcReader, parallel: Bool, fields: ProcFields = [.cmdline, .exe]
    ) -> [[ProcessRecord]] {
        let total = groups.reduce(0) { $0 + $1.count }
        let workers = min(maxWorkers, max(1, Int(sysconfProcessors())))
        guard parallel, workers > 1, total >= parallelThreshold else {
            return groups.map { pids in pids.compactMap { reader.read(pid: $0, fields: fields)?.record } }
        }

        // Flatten, split into contiguous chunks, read each chunk on its own reader.
        let flat: [(group: Int, pid: Int32)] = groups.enumerated().flatMap { index, pids in
            pids.map { (index, $0) }
        }
        let chunkSize = (flat.count + workers - 1) / workers
        let results = Mutex<[[ProcessRecord?]]>(Array(repeating: [], count: workers))
        let limit = reader.cmdlineLimit
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let start = worker * chunkSize
            let end = min(flat.count, start + chunkSize)
            guard start < end, var own = try? ProcReader(root: procRoot) else { return }
            own.cmdlineLimit = limit
            var chunk: [ProcessRecord?] = []
            chunk.reserveCapacity(end - start)
            for index in start..<end { chunk.append(own.read(pid: flat[index].pid, fields: fields)?.record) }
            results.withLock { $0[worker] = chunk }
        }
        var output: [[ProcessRecord]] = groups.map { _ in [] }
        for (index, group) in groups.enumerated() { output[index].reserveCapacity(group.count) }
        results.withLock { chunks in
            for (worker, chunk) in chunks.enumerated() {
                for (offset, record) in chunk.enumerated() {
                    if let record { output[flat[worker * chunkSize + offset].group].append(record) }
                }
            }
        }
        return output
    }

    private static func sysconfProcessors() -> Int {
        Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}
