import CVigilShims
import Glibc
import Synchronization
public import VigilKernel
public import VigilNode

/// Receives connector events on a thread of its own, so the kernel's socket buffer is drained at once
/// whatever the agent's loop is doing, and hands them over through a bounded queue.
///
/// Losses are counted, never silent: events the kernel dropped (per-CPU sequence gaps, ENOBUFS
/// overruns) and events the queue had no room for. The loop reports them and resyncs.
/// A connector event with, for an exec, what /proc said the moment it arrived.
public struct SourceEvent: Sendable {
    public var message: ConnectorMessage
    public var snapshot: ExecSnapshot?
}

public final class ConnectorSource: @unchecked Sendable {
    /// The most events waiting for the loop; beyond it they are dropped and counted.
    public let capacity: Int
    private let connector: ProcessEventsConnector
    private let wakeup: WakeupSignal
    private let state: Mutex<State>
    private let running = Atomic<Bool>(true)
    /// Wakes the receiving thread to stop: it sleeps in poll(2) with no timeout, costing nothing idle.
    private let stopSignal: WakeupSignal
    private var thread: SystemThread?

    struct State {
        var queue: [SourceEvent] = []
        var lostInKernel: UInt64 = 0
        var overruns: UInt64 = 0
        var droppedInQueue: UInt64 = 0
        var received: UInt64 = 0
    }

    /// Counters of what was lost since the last call, and whether a resync is due.
    public struct Losses: Sendable, Equatable {
        /// Events the kernel numbered but the socket never delivered (sequence gaps).
        public var lostInKernel: UInt64
        /// Times the socket buffer overflowed (ENOBUFS): an unknown number of events lost each time.
        public var overruns: UInt64
        /// Events dropped because the loop's queue was full.
        public var droppedInQueue: UInt64

        public var any: Bool { lostInKernel > 0 || overruns > 0 || droppedInQueue > 0 }
    }

    private let procRoot: String
    /// The receiving thread's nice value.
    public var receiverNice: Int32 = -10
    private let commandLine: @Sendable (Int32) -> (arguments: [String], truncated: Bool)?

    /// - Parameters:
    ///   - procRoot: where execs are read from, at once, on the receiving thread.
    ///   - commandLine: reads a command line, bounding how long it may block.
    public init(
        connector: ProcessEventsConnector, procRoot: String,
        commandLine: @escaping @Sendable (Int32) -> (arguments: [String], truncated: Bool)?, capacity: Int = 65536
    ) throws(Errno) {
        self.connector = connector
        self.procRoot = procRoot
        self.commandLine = commandLine
        self.capacity = capacity
        self.wakeup = try WakeupSignal()
        self.stopSignal = try WakeupSignal()
        self.state = Mutex(State())
    }

    /// The descriptor that becomes readable when events wait in the queue.
    public var readyDescriptor: Int32 { wakeup.rawValue }

    public var usesFilterRequest: Bool { connector.usesFilterRequest }
    public var receiveBufferSize: Int { connector.receiveBufferSize }
    public var receiveBufferForced: Bool { connector.receiveBufferForced }

    /// Starts the receiving thread.
    public func start() throws(Errno) {
        thread = try SystemThread(name: "vigil-connector") { [self] in receiveLoop() }
    }

    /// Stops the receiving thread and waits for it.
    public func stop() {
        running.store(false, ordering: .relaxed)
        stopSignal.signal()
        thread?.join()
        thread = nil
    }

    private func receiveLoop() {
        var sequences = SequenceTracker()
        var batch: [SourceEvent] = []
        batch.reserveCapacity(64)
        guard var proc = try? ProcReader(root: procRoot) else { return }
        // Reading an exec races the process's exit: a higher scheduling weight for this one thread
        // (it sleeps unless events arrive) wins more of those races. Best effort: needs CAP_SYS_NICE.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(vigil_gettid()), receiverNice)
        while running.load(ordering: .relaxed) {
            var gaps: UInt64 = 0
            let result = connector.receive(timeoutMilliseconds: -1, interrupt: stopSignal.rawValue) { message in
                gaps += sequences.record(message)
                var snapshot: ExecSnapshot?
                if case .exec(_, let tgid) = message.event {
                    snapshot = ExecSnapshot.read(pid: tgid, proc: &proc, commandLine: commandLine)
                }
                batch.append(SourceEvent(message: message, snapshot: snapshot))
            }
            var overrun = false
            switch result {
            case .received: break
            case .timedOut: continue
            case .overrun:
                overrun = true
                sequences.reset()
            case .failed:
                // An unexpected socket error: treat as a loss so the loop resyncs, and back off.
                overrun = true
                usleep(10_000)
            }
            let wasEmpty = state.withLock { state -> Bool in
                let wasEmpty = state.queue.isEmpty
                state.lostInKernel += gaps
                if overrun { state.overruns += 1 }
                let room = max(0, capacity - state.queue.count)
                if batch.count > room {
                    state.droppedInQueue += UInt64(batch.count - room)
                    state.queue.append(contentsOf: batch.prefix(room))
                } else {
                    state.queue.append(contentsOf: batch)
                }
                state.received += UInt64(batch.count)
                return wasEmpty
            }
            batch.removeAll(keepingCapacity: true)
            if wasEmpty || overrun || gaps > 0 { wakeup.signal() }
        }
    }

    /// Takes every waiting event (and the losses since the last call).
    public func take(into messages: inout [SourceEvent]) -> Losses {
        wakeup.drain()
        return state.withLock { state in
            swap(&messages, &state.queue)
            state.queue.removeAll(keepingCapacity: true)
            let losses = Losses(lostInKernel: state.lostInKernel, overruns: state.overruns, droppedInQueue: state.droppedInQueue)
            state.lostInKernel = 0
            state.overruns = 0
            state.droppedInQueue = 0
            return losses
        }
    }

    /// Events received since start.
    public var received: UInt64 { state.withLock { $0.received } }
}
