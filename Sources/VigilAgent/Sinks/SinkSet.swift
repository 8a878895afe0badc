import Glibc
import Synchronization
import VigilKernel

/// A sink that could not be set up: the spec and why.
public struct SinkError: Error, Sendable, CustomStringConvertible {
    public var spec: String
    public var reason: String

    public init(spec: String, reason: String) {
        self.spec = spec
        self.reason = reason
    }

    public var description: String { "--output \(spec): \(reason)" }
}

/// The fan-out from the alert pipeline to every `--output`.
///
/// Each sink has its own thread and a bounded queue. `publish` never blocks: a sink whose queue is full
/// drops the record and counts it, so a slow or dead sink stalls neither the agent nor the other sinks.
/// Everything a sink could not deliver is reported through `status` — drops (at most once a second),
/// a destination that went down, and, when it is back, how long it was down and how many lines were
/// lost — which the agent turns into `agent_status` lines.
///
/// Standard output carries JSON lines or text per `format`; files and syslog always carry the JSON line.
public final class SinkSet: @unchecked Sendable {
    private let workers: [SinkWorker]
    private let status: @Sendable (String, [(String, UInt64)]) -> Void
    private let closing = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)

    /// The sinks, in the order given, by their specs.
    public var sinks: [String] { workers.map(\.label) }

    /// Sets up one sink per spec and starts their threads. A file that cannot be opened is an error now;
    /// a syslog daemon that is not there yet is not (the sink reports it and keeps retrying).
    ///
    /// - Parameters:
    ///   - hostname: HOSTNAME of RFC 5424 messages.
    ///   - facility: the syslog facility of every message.
    ///   - queueCapacity: records each sink holds before it drops.
    ///   - processID: PROCID and the local tag's PID; the agent's own by default.
    ///   - localClock: the time zone of the local syslog timestamp.
    ///   - status: receives the sinks' reports, from their threads (and from `close`'s caller).
    public convenience init(
        specs: [OutputSpec], format: LineFormat, hostname: String, facility: SyslogFacility,
        queueCapacity: Int = 10_000, tuning: SinkTuning = SinkTuning(), processID: Int32? = nil,
        localClock: SyslogClock = .localTime, status: @escaping @Sendable (String, [(String, UInt64)]) -> Void
    ) throws(SinkError) {
        let processID = processID ?? getpid()
        var seen = Set<OutputSpec>()
        var sinks: [(String, any SinkTransport)] = []
        for spec in specs {
            guard seen.insert(spec).inserted else {
                throw SinkError(spec: spec.description, reason: "given more than once")
            }
            switch spec {
            case .standardOutput:
                do throws(Errno) {
                    sinks.append((spec.description, try StandardOutputSink(format: format)))
                } catch {
                    throw SinkError(spec: spec.description, reason: "cannot use standard output: \(error)")
                }
            case .file(let path):
                switch FileSink.open(path) {
                case .success(let descriptor):
                    sinks.append((spec.description, FileSink(path: path, opened: descriptor)))
                case .failure(let error):
                    throw SinkError(spec: spec.description, reason: "cannot open \(path): \(error)")
                }
            case .localSyslog(let path):
                let sink = LocalSyslogSink(
                    path: path, facility: facility, processID: processID, clock: localClock,
                    unconfirmedLimit: tuning.resendLimit)
                sinks.append((spec.description, sink))
            case .remoteSyslog(.udp, let address, let port):
                let sink = UDPSyslogSink(
                    address: address, port: port, facility: facility, hostname: hostname, processID: processID,
                    tuning: tuning)
                sinks.append((spec.description, sink))
            case .remoteSyslog(.tcp, let address, let port):
                let sink = TCPSyslogSink(
                    address: address, port: port, facility: facility, hostname: hostname, processID: processID,
                    tuning: tuning)
                sinks.append((spec.description, sink))
            }
        }
        try self.init(sinks: sinks, queueCapacity: queueCapacity, tuning: tuning, status: status)
    }

    /// Starts a thread for each transport, named by its label.
    init(
        sinks: [(String, any SinkTransport)], queueCapacity: Int, tuning: SinkTuning,
        status: @escaping @Sendable (String, [(String, UInt64)]) -> Void
    ) throws(SinkError) {
        var workers: [SinkWorker] = []
        for (label, transport) in sinks {
            do throws(Errno) {
                workers.append(
                    try SinkWorker(
                        label: label, transport: transport, capacity: queueCapacity, tuning: tuning, report: status))
            } catch {
                throw SinkError(spec: label, reason: "cannot create its wakeup descriptor: \(error)")
            }
        }
        self.workers = workers
        self.status = status
        for (index, worker) in workers.enumerated() {
            do throws(Errno) {
                try worker.start()
            } catch {
                // Stop the ones already running before reporting.
                for started in workers[..<index] {
                    started.stopDelivering(at: 0)
                    started.requestExit()
                    started.join()
                }
                stopped.store(true, ordering: .releasing)
                closing.store(true, ordering: .releasing)
                throw SinkError(spec: worker.label, reason: "cannot start its thread: \(error)")
            }
        }
    }

    /// Hands `record` to every sink. Never blocks; a full sink drops it and counts the drop.
    public func publish(_ record: OutputRecord) {
        guard !stopped.load(ordering: .acquiring) else { return }
        let now = monotonicNanoseconds()
        for worker in workers { worker.enqueue(record, now: now) }
    }

    /// Reopens files (after SIGHUP, for logrotate).
    public func reopen() {
        for worker in workers { worker.requestReopen() }
    }

    /// What each sink has done so far.
    public func statistics() -> [SinkStatistics] {
        workers.map(\.statistics)
    }

    /// Flushes what the sinks can deliver within `timeout` (ns), then stops their threads.
    ///
    /// For the first three quarters of the time every sink flushes its queue. Then a sink that is down
    /// or stuck gives up, and each sink with something unsaid (lines left undelivered, drops not yet
    /// reported, an outage still on) reports it through `status`, called on this thread; the sinks still
    /// working deliver those reports in the time left. A sink stuck in a system call past the deadline
    /// is left to finish on its own (its thread is detached, not joined).
    public func close(timeout: UInt64) {
        guard !closing.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let start = monotonicNanoseconds()
        let finalDeadline = start + timeout
        let drainDeadline = start + timeout / 4 * 3

        waitUntil(drainDeadline) { workers.allSatisfy { $0.isDrained || $0.isFinished } }
        let now = monotonicNanoseconds()
        for worker in workers {
            // A sink with nothing left keeps running to carry the final reports; the others stop now.
            worker.stopDelivering(at: worker.isDrained ? finalDeadline : now)
        }
        waitUntil(finalDeadline) { workers.allSatisfy { $0.isDrained || $0.isFinished } }
        for worker in workers {
            if let (message, counters) = worker.closingReport() { status(message, counters) }
        }
        waitUntil(finalDeadline) { workers.allSatisfy { $0.isDrained || $0.isFinished } }

        stopped.store(true, ordering: .releasing)
        for worker in workers { worker.requestExit() }
        // A little past the deadline, for threads that were idle or giving up, to leave their loops.
        waitUntil(max(finalDeadline, monotonicNanoseconds() + 100_000_000)) { workers.allSatisfy(\.isFinished) }
        for worker in workers {
            if worker.isFinished { worker.join() } else { worker.detach() }
        }
    }

    private func waitUntil(_ deadline: UInt64, _ condition: () -> Bool) {
        while !condition() && monotonicNanoseconds() < deadline {
            var pause = timespec(tv_sec: 0, tv_nsec: 2_000_000)
            _ = nanosleep(&pause, nil)
        }
    }

    deinit {
        if !closing.load(ordering: .acquiring) { close(timeout: 0) }
    }
}
