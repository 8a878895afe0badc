import Glibc
import Synchronization
import VigilKernel

/// Reads command lines on worker threads, waiting at most a timeout for each: reading
/// `/proc/PID/cmdline` takes the target's mmap lock, and a process stuck holding it would otherwise
/// stall the whole agent. A read that times out leaves its worker blocked until the lock frees; the
/// event goes out without the command line (marked missing). At most `maxWorkers` reads may be stuck;
/// beyond that, command lines are skipped until a worker comes back.
public final class GuardedCommandLineReader: @unchecked Sendable {
    public typealias Result = (arguments: [String], truncated: Bool)

    private struct Shared {
        var requests: [(id: UInt64, pid: Int32)] = []
        var results: [(id: UInt64, result: Result?)] = []
        var busy = 0
        var workers = 0
        var timedOut: UInt64 = 0
    }

    private let procRoot: String
    private let maxWorkers: Int
    private let shared = Mutex(Shared())
    private let requestSemaphore: UnsafeMutablePointer<sem_t>
    private let resultSemaphore: UnsafeMutablePointer<sem_t>
    private var nextID: UInt64 = 0

    /// Replaces the /proc read (tests simulate a process whose lock is held).
    private let readOverride: (@Sendable (Int32) -> Result?)?

    public init(procRoot: String, maxWorkers: Int = 4, read: (@Sendable (Int32) -> Result?)? = nil) {
        self.procRoot = procRoot
        self.readOverride = read
        self.maxWorkers = maxWorkers
        requestSemaphore = .allocate(capacity: 1)
        resultSemaphore = .allocate(capacity: 1)
        sem_init(requestSemaphore, 0, 0)
        sem_init(resultSemaphore, 0, 0)
    }

    /// Reads that did not finish within their timeout, since start.
    public var timedOut: UInt64 { shared.withLock { $0.timedOut } }

    /// The command line of `pid`, or nil when the process is gone, the read took longer than
    /// `timeout` nanoseconds, or every worker is stuck.
    public func read(pid: Int32, timeout: UInt64) -> Result? {
        nextID += 1
        let id = nextID
        let accepted = shared.withLock { state -> Bool in
            if state.busy >= maxWorkers { return false }
            state.busy += 1
            state.requests.append((id, pid))
            if state.workers < state.busy {
                state.workers += 1
                return true
            }
            return true
        }
        guard accepted else {
            shared.withLock { $0.timedOut += 1 }
            return nil
        }
        ensureWorkers()
        sem_post(requestSemaphore)

        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let total = UInt64(deadline.tv_nsec) + timeout
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        while true {
            if sem_timedwait(resultSemaphore, &deadline) != 0 {
                if errno == EINTR { continue }
                shared.withLock { $0.timedOut += 1 }
                return nil
            }
            let found = shared.withLock { state -> (Bool, Result?) in
                guard let index = state.results.firstIndex(where: { $0.id == id }) else {
                    // A late answer to an abandoned request: drop it and keep waiting for ours.
                    state.results.removeAll(where: { $0.id < id })
                    return (false, nil)
                }
                let result = state.results.remove(at: index).result
                return (true, result)
            }
            if found.0 { return found.1 }
        }
    }

    private var startedWorkers = 0

    private func ensureWorkers() {
        let wanted = shared.withLock { $0.workers }
        while startedWorkers < wanted {
            startedWorkers += 1
            let root = procRoot
            _ = try? SystemThread(name: "vigil-cmdline") { [self] in
                guard var reader = try? ProcReader(root: root) else { return }
                while true {
                    sem_wait(requestSemaphore)
                    guard let request = shared.withLock({ state in state.requests.isEmpty ? nil : state.requests.removeFirst() })
                    else { continue }
                    let result = readOverride.map { $0(request.pid) } ?? reader.readCmdline(pid: request.pid)
                    shared.withLock { state in
                        state.busy -= 1
                        state.results.append((request.id, result))
                        // Keep abandoned answers from piling up.
                        if state.results.count > 64 { state.results.removeFirst(state.results.count - 64) }
                    }
                    sem_post(resultSemaphore)
                }
            }.detach()
        }
    }
}
