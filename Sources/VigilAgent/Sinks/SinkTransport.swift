import VigilKernel

/// What carries records to one destination (standard output, a file, a syslog socket). A transport is
/// used by its sink's thread only; it owns its descriptor and never blocks that thread except through
/// the `SinkWaiter` it is given, which keeps the thread answering (reports, shutdown).
protocol SinkTransport: AnyObject {
    /// Opens or connects; resends whatever the previous connection may have lost. Called when the sink
    /// starts and, while the destination is down, on the retry schedule.
    func connect(_ waiter: SinkWaiter) -> ConnectOutcome

    /// Whether a successful `connect` shows the destination is reachable (a socket accepted the
    /// connection, a file opened). Not so for UDP, which only a datagram can test.
    var connectShowsReachable: Bool { get }

    /// Delivers one record.
    func deliver(_ record: OutputRecord, _ waiter: SinkWaiter) -> DeliveryOutcome

    /// Reopens a file (after SIGHUP, for logrotate); nothing for sockets.
    func reopen()

    /// Called when the queue is empty: a moment to confirm that the receiver read what was sent, so it
    /// need not be sent again after a restart. True while there is something left to confirm (the sink
    /// calls again soon, backing off to once a second).
    func settle() -> Bool

    /// Closes the descriptor.
    func disconnect()
}

extension SinkTransport {
    func reopen() {}
    func settle() -> Bool { false }
    var connectShowsReachable: Bool { true }
}

enum ConnectOutcome {
    /// Ready; `resent` lines that the previous connection may have lost were sent again.
    case connected(resent: Int)
    case failed(String)
    case stopping
}

enum DeliveryOutcome: Equatable {
    case delivered
    /// The destination cannot take lines now (daemon down, connection lost): the record is kept and
    /// retried after a reconnect.
    case down(String)
    /// This record can never be delivered (too large for a datagram): it is counted as lost.
    case rejected(String)
    /// The sink is closing and its time is up.
    case stopping
}

/// How a sink's thread waits: for its descriptor, or until a time, while it keeps reporting drops
/// every second and gives up when the sink's closing deadline passes.
final class SinkWaiter {
    enum Outcome {
        case ready
        case timedOut
        case stopping
    }

    private let wakeup: WakeupSignal
    private let stopDeadline: () -> UInt64
    private let tick: () -> Void

    /// - Parameters:
    ///   - stopDeadline: the monotonic time after which the sink stops (`.max` while it runs).
    ///   - tick: called about once a second while waiting, to report drops.
    init(wakeup: WakeupSignal, stopDeadline: @escaping () -> UInt64, tick: @escaping () -> Void) {
        self.wakeup = wakeup
        self.stopDeadline = stopDeadline
        self.tick = tick
    }

    /// Waits until `fd` has `events` (POLLOUT), `deadline` (monotonic ns) passes, or the sink must stop.
    func wait(for fd: Int32, events: Int16, until deadline: UInt64? = nil) -> Outcome {
        while true {
            let now = monotonicNanoseconds()
            let stop = stopDeadline()
            if now >= stop { return .stopping }
            if let deadline, now >= deadline { return .timedOut }
            // Wake at least once a second to report drops, and at the stop deadline.
            var timeout: UInt64 = min(1_000_000_000, stop - now)
            if let deadline { timeout = min(timeout, deadline - now) }
            let milliseconds = Int32((timeout + 999_999) / 1_000_000)
            let (returned, woken) = SinkCalls.poll(fd, events: events, wakeup: wakeup.rawValue, timeout: milliseconds)
            if woken { wakeup.drain() }
            if fd >= 0 && returned != 0 { return .ready }
            tick()
        }
    }

    /// Sleeps until `deadline`, or until the sink must stop.
    func sleep(until deadline: UInt64) -> Outcome {
        wait(for: -1, events: 0, until: deadline)
    }
}
