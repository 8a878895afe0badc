import Synchronization
import VigilKernel

/// How sinks hold, retry and report; the defaults suit a node agent, tests shorten them.
public struct SinkTuning: Sendable {
    /// How long a line waits for a destination that is down before it is counted as lost.
    public var holdLimit: UInt64 = 30_000_000_000
    /// Drops and losses are reported at most this often (ns).
    public var lossReportInterval: UInt64 = 1_000_000_000
    /// While a destination stays down, how often that is repeated in a status line (ns).
    public var downReportInterval: UInt64 = 60_000_000_000
    /// The first retry after a failure, doubling up to `retryMax` (ns).
    public var retryInitial: UInt64 = 50_000_000
    public var retryMax: UInt64 = 2_000_000_000
    /// How long a TCP connect may take (ns).
    public var connectTimeout: UInt64 = 5_000_000_000
    /// Remote syslog: lines sent this recently (ns), up to `resendLimit` of them, are sent again when
    /// the receiver went away — a TCP reset, a UDP refusal — since neither protocol tells whether it
    /// read them before it stopped. (The local socket knows which it did not read, and sends those.)
    public var resendWindow: UInt64 = 1_000_000_000
    public var resendLimit: Int = 1024

    public init() {}
}

/// What one sink did: delivered, dropped because its queue was full, lost, and how long it was down.
public struct SinkStatistics: Sendable, Equatable, CustomStringConvertible {
    /// The sink's spec (`syslog:tcp://127.0.0.1:5514`).
    public var sink: String
    public var delivered: UInt64 = 0
    /// Lines refused because the sink's queue was full.
    public var dropped: UInt64 = 0
    /// Lines that could not be delivered: held longer than the hold limit while the destination was
    /// down, or too large for the transport.
    public var lost: UInt64 = 0
    /// Lines sent a second time after a connection reset because the receiver may not have read them.
    public var resent: UInt64 = 0
    /// Times the destination went down, and for how long in all (ns), the current outage included.
    public var outages: UInt64 = 0
    public var downNanoseconds: UInt64 = 0
    public var isDown: Bool = false
    /// Lines still queued when the sink was closed.
    public var undelivered: UInt64 = 0

    public var description: String {
        "\(sink): delivered \(delivered), dropped \(dropped), lost \(lost), resent \(resent), "
            + "undelivered \(undelivered), outages \(outages) (\(downNanoseconds / 1_000_000) ms)\(isDown ? ", down" : "")"
    }
}

/// One sink's bounded queue and thread. `enqueue` never blocks: a full queue drops the record and
/// counts it. The thread delivers through the transport, holds records while the destination is down
/// (up to the hold limit), retries with backoff, and reports drops, outages and losses through
/// `report` — never silently.
final class SinkWorker: @unchecked Sendable {
    struct Entry {
        var record: OutputRecord
        var enqueued: UInt64
    }

    struct Outage {
        var since: UInt64
        var reason: String
        /// Reported drops and losses when it began; what is beyond them at the end was lost during it.
        var lossesAtStart: UInt64
        var lastReport: UInt64
        var announced: Bool
    }

    struct State {
        var pending: [Entry] = []
        /// Records accepted and not yet delivered or lost: the queue's occupancy.
        var outstanding = 0
        var idle = false
        var reopenRequested = false
        var finished = false
        var statistics: SinkStatistics
        var outage: Outage?
        var droppedReported: UInt64 = 0
        var lostReported: UInt64 = 0
        var lastLossReport: UInt64 = 0
        var lossReason = ""
    }

    let label: String
    private let capacity: Int
    private let tuning: SinkTuning
    private let transport: any SinkTransport
    private let report: @Sendable (String, [(String, UInt64)]) -> Void
    private let wakeup: WakeupSignal
    private let state: Mutex<State>
    /// Monotonic time after which a closing sink stops delivering; `.max` while running.
    private let stopDeadline = Atomic<UInt64>(.max)
    private let exitRequested = Atomic<Bool>(false)
    private var thread: SystemThread?

    init(
        label: String, transport: any SinkTransport, capacity: Int, tuning: SinkTuning,
        report: @escaping @Sendable (String, [(String, UInt64)]) -> Void
    ) throws(Errno) {
        self.label = label
        self.transport = transport
        self.capacity = max(1, capacity)
        self.tuning = tuning
        self.report = report
        self.wakeup = try WakeupSignal()
        self.state = Mutex(State(statistics: SinkStatistics(sink: label)))
    }

    func start() throws(Errno) {
        let name = "vigil-sink"
        thread = try SystemThread(name: name) { [self] in run() }
    }

    // MARK: Producer side (any thread)

    /// Queues `record`, or drops and counts it when the queue is full. Never blocks.
    func enqueue(_ record: OutputRecord, now: UInt64) {
        let signal = state.withLock { state -> Bool in
            guard !state.finished, state.outstanding < capacity else {
                state.statistics.dropped += 1
                return false
            }
            state.pending.append(Entry(record: record, enqueued: now))
            state.outstanding += 1
            guard state.idle else { return false }
            state.idle = false
            return true
        }
        if signal { wakeup.signal() }
    }

    func requestReopen() {
        state.withLock { $0.reopenRequested = true }
        wakeup.signal()
    }

    /// Stops delivering at `deadline` (monotonic ns): the sink gives up on what is left then.
    func stopDelivering(at deadline: UInt64) {
        stopDeadline.store(deadline, ordering: .releasing)
        wakeup.signal()
    }

    func requestExit() {
        exitRequested.store(true, ordering: .releasing)
        wakeup.signal()
    }

    /// Nothing queued (everything delivered or counted).
    var isDrained: Bool { state.withLock { $0.outstanding == 0 } }
    var isFinished: Bool { state.withLock { $0.finished } }

    func join() { thread?.join() }
    func detach() { thread?.detach() }

    var statistics: SinkStatistics {
        state.withLock { state in
            var statistics = state.statistics
            if let outage = state.outage {
                statistics.isDown = true
                statistics.downNanoseconds += monotonicNanoseconds() - outage.since
            }
            if !state.finished { statistics.undelivered = UInt64(state.outstanding) }
            return statistics
        }
    }

    /// At close: what this sink has not said yet — drops and losses not reported, an outage still on,
    /// lines it could not deliver before its time ran out. Nil when there is nothing to say.
    func closingReport() -> (String, [(String, UInt64)])? {
        let now = monotonicNanoseconds()
        return state.withLock { state -> (String, [(String, UInt64)])? in
            let undelivered = UInt64(state.outstanding)
            let dropped = state.statistics.dropped - state.droppedReported
            let lost = state.statistics.lost - state.lostReported
            state.droppedReported = state.statistics.dropped
            state.lostReported = state.statistics.lost
            if let outage = state.outage {
                let down = now - outage.since
                let lostDuring = state.statistics.dropped + state.statistics.lost - outage.lossesAtStart
                return (
                    "sink \(label) was still down at shutdown after \(Self.seconds(down)) (\(outage.reason)): "
                        + "\(Self.lines(lostDuring)) lost, \(Self.lines(undelivered)) held and not delivered",
                    [("sink_down_ns", down), ("sink_lost", lostDuring), ("sink_undelivered", undelivered)]
                )
            }
            guard undelivered > 0 || dropped > 0 || lost > 0 else { return nil }
            var parts: [String] = []
            if undelivered > 0 { parts.append("\(Self.lines(undelivered)) not delivered before the shutdown deadline") }
            if dropped > 0 { parts.append("\(dropped) dropped (queue full)") }
            if lost > 0 { parts.append("\(lost) lost (\(state.lossReason))") }
            return (
                "sink \(label) stopped: " + parts.joined(separator: ", "),
                [("sink_undelivered", undelivered), ("sink_dropped", dropped), ("sink_lost", lost)]
            )
        }
    }

    // MARK: The sink's thread

    private func mustStop() -> Bool {
        monotonicNanoseconds() >= stopDeadline.load(ordering: .acquiring)
    }

    private func run() {
        SinkCalls.blockBrokenPipeSignal()
        let waiter = SinkWaiter(
            wakeup: wakeup, stopDeadline: { [self] in stopDeadline.load(ordering: .acquiring) },
            tick: { [self] in tick() })
        var batch: [Entry] = []
        var head = 0
        var down = false
        var retryDelay = tuning.retryInitial
        var nextAttempt: UInt64 = 0
        var resentThisOutage = 0
        var settleDelay = Self.firstSettleDelay

        // Connect at once, so a destination that is not there is reported before the first line.
        switch transport.connect(waiter) {
        case .connected: break
        case .failed(let reason):
            down = true
            beginOutage(reason, announce: true)
            nextAttempt = monotonicNanoseconds() + retryDelay
        case .stopping: break
        }

        loop: while true {
            let reopen = take(into: &batch, head: &head)
            if reopen {
                transport.reopen()
                nextAttempt = 0
            }
            if down { expire(&batch, &head) }
            let queueEmpty = head == batch.count
            if queueEmpty && exitRequested.load(ordering: .acquiring) { break }
            if !queueEmpty && mustStop() { break }

            // Down: reconnect on the retry schedule. With lines waiting, the first delivery proves the
            // destination is back; with none, a connection that proves it does (not UDP's).
            if down && (!queueEmpty || transport.connectShowsReachable) {
                let now = monotonicNanoseconds()
                if now >= nextAttempt {
                    switch transport.connect(waiter) {
                    case .stopping: break loop
                    case .failed(let reason):
                        announceOutage(reason)
                        retryDelay = min(retryDelay * 2, tuning.retryMax)
                        nextAttempt = monotonicNanoseconds() + retryDelay
                        continue
                    case .connected(let resent):
                        resentThisOutage += resent
                        if queueEmpty {
                            down = false
                            retryDelay = tuning.retryInitial
                            endOutage(resent: resentThisOutage)
                            resentThisOutage = 0
                            continue
                        }
                    }
                } else if !queueEmpty {
                    if waiter.sleep(until: nextAttempt) == .stopping { break }
                    continue
                }
            }
            if queueEmpty {
                idle(settling: !down, settleDelay: &settleDelay, retryAt: down ? nextAttempt : nil)
                continue
            }

            let outcome = transport.deliver(batch[head].record, waiter)
            switch outcome {
            case .delivered:
                head += 1
                settleDelay = Self.firstSettleDelay
                finish(delivered: 1)
                if down {
                    down = false
                    retryDelay = tuning.retryInitial
                    endOutage(resent: resentThisOutage)
                    resentThisOutage = 0
                }
            case .down(let reason):
                if down {
                    announceOutage(reason)
                    retryDelay = min(retryDelay * 2, tuning.retryMax)
                    nextAttempt = monotonicNanoseconds() + retryDelay
                } else {
                    // Try again at once: a restarted daemon is usually back already.
                    down = true
                    beginOutage(reason, announce: false)
                    retryDelay = tuning.retryInitial
                    nextAttempt = 0
                }
            case .rejected(let reason):
                head += 1
                finish(lost: 1, reason: reason)
            case .stopping:
                break loop
            }
            if head > 1024 && head * 2 > batch.count {
                batch.removeFirst(head)
                head = 0
            }
            tick()
        }

        transport.disconnect()
        state.withLock { state in
            state.statistics.undelivered = UInt64(state.outstanding)
            if let outage = state.outage { state.statistics.downNanoseconds += monotonicNanoseconds() - outage.since }
            state.statistics.isDown = state.outage != nil
            state.finished = true
            state.pending.removeAll()
        }
    }

    /// Moves queued records into the thread's batch; whether a reopen was asked for.
    private func take(into batch: inout [Entry], head: inout Int) -> Bool {
        state.withLock { state in
            if !state.pending.isEmpty {
                if head == batch.count {
                    batch.removeAll(keepingCapacity: true)
                    head = 0
                    swap(&batch, &state.pending)
                } else {
                    batch.append(contentsOf: state.pending)
                    state.pending.removeAll(keepingCapacity: true)
                }
            }
            let reopen = state.reopenRequested
            state.reopenRequested = false
            return reopen
        }
    }

    private static let firstSettleDelay: UInt64 = 5_000_000

    /// Waits for records (or a request), at most a second, reporting on the way out. While the transport
    /// has deliveries to confirm, it wakes sooner (`settleDelay`, doubling) to let it check; while the
    /// destination is down, at the next retry (`retryAt`).
    private func idle(settling: Bool, settleDelay: inout UInt64, retryAt: UInt64?) {
        var timeout: UInt64 = 1_000_000_000
        if settling && transport.settle() {
            timeout = settleDelay
            settleDelay = min(settleDelay * 2, 1_000_000_000)
        }
        if let retryAt, transport.connectShowsReachable {
            let now = monotonicNanoseconds()
            timeout = min(timeout, retryAt > now ? retryAt - now : 0)
        }
        let wait = state.withLock { state -> Bool in
            guard state.pending.isEmpty, !state.reopenRequested else { return false }
            state.idle = true
            return true
        }
        if wait && !exitRequested.load(ordering: .acquiring) {
            let deadline = stopDeadline.load(ordering: .acquiring)
            let now = monotonicNanoseconds()
            if deadline != .max { timeout = deadline > now ? min(timeout, deadline - now) : 0 }
            let (_, woken) = SinkCalls.poll(-1, events: 0, wakeup: wakeup.rawValue, timeout: Int32(timeout / 1_000_000))
            if woken { wakeup.drain() }
            state.withLock { $0.idle = false }
        }
        tick()
    }

    /// While down: records held longer than the hold limit are lost.
    private func expire(_ batch: inout [Entry], _ head: inout Int) {
        let now = monotonicNanoseconds()
        var expired: UInt64 = 0
        while head < batch.count && now - batch[head].enqueued > tuning.holdLimit {
            head += 1
            expired += 1
        }
        if expired > 0 {
            finish(
                lost: expired,
                reason: "held longer than \(Self.seconds(tuning.holdLimit)) while the destination was down")
        }
    }

    /// Records leave the queue: delivered, or lost for `reason`.
    private func finish(delivered: UInt64 = 0, lost: UInt64 = 0, reason: String = "") {
        state.withLock { state in
            state.statistics.delivered += delivered
            state.statistics.lost += lost
            if lost > 0 { state.lossReason = reason }
            state.outstanding -= Int(delivered + lost)
        }
    }

    private func beginOutage(_ reason: String, announce: Bool) {
        let now = monotonicNanoseconds()
        state.withLock { state in
            state.outage = Outage(
                since: now, reason: reason, lossesAtStart: state.droppedReported + state.lostReported,
                lastReport: now, announced: false)
            state.statistics.outages += 1
        }
        if announce { announceOutage(reason) }
    }

    /// Says once per outage that the destination is down (after the immediate retry failed).
    private func announceOutage(_ reason: String) {
        let announce = state.withLock { state -> Bool in
            guard var outage = state.outage, !outage.announced else { return false }
            outage.announced = true
            outage.reason = reason
            state.outage = outage
            return true
        }
        guard announce else { return }
        report(
            "sink \(label) cannot deliver (\(reason)); holding lines for up to \(Self.seconds(tuning.holdLimit)) and retrying",
            [])
    }

    private func endOutage(resent: Int) {
        let now = monotonicNanoseconds()
        let message = state.withLock { state -> (String, [(String, UInt64)])? in
            guard let outage = state.outage else { return nil }
            state.outage = nil
            let down = now - outage.since
            state.statistics.downNanoseconds += down
            state.statistics.resent += UInt64(resent)
            let totalLosses = state.statistics.dropped + state.statistics.lost
            let lost = totalLosses - outage.lossesAtStart
            state.droppedReported = state.statistics.dropped
            state.lostReported = state.statistics.lost
            state.lastLossReport = now
            // A reconnect that lost and resent nothing, done at once, is not worth a line.
            guard outage.announced || lost > 0 || resent > 0 else { return nil }
            let held = UInt64(state.outstanding)
            var text =
                "sink \(label) is delivering again after \(Self.seconds(down)) down (\(outage.reason)): "
                + "\(Self.lines(lost)) lost, \(Self.lines(held)) held to follow late"
            if resent > 0 {
                text +=
                    ", \(Self.lines(resent)) sent again (the receiver may not have read them; they may appear twice)"
            }
            return (
                text,
                [("sink_down_ns", down), ("sink_lost", lost), ("sink_held", held), ("sink_resent", UInt64(resent))]
            )
        }
        if let (text, counters) = message { report(text, counters) }
    }

    /// Reports new drops and losses (at most once per interval) and, while down, repeats that it is down.
    private func tick() {
        let now = monotonicNanoseconds()
        let message = state.withLock { state -> (String, [(String, UInt64)])? in
            if var outage = state.outage {
                guard outage.announced, now - outage.lastReport >= tuning.downReportInterval else { return nil }
                outage.lastReport = now
                state.outage = outage
                let lost = state.statistics.dropped + state.statistics.lost - outage.lossesAtStart
                return (
                    "sink \(label) has been down for \(Self.seconds(now - outage.since)) (\(outage.reason)): "
                        + "\(Self.lines(lost)) lost so far, \(Self.lines(state.outstanding)) held",
                    [
                        ("sink_down_ns", now - outage.since), ("sink_lost", lost),
                        ("sink_held", UInt64(state.outstanding)),
                    ]
                )
            }
            let dropped = state.statistics.dropped - state.droppedReported
            let lost = state.statistics.lost - state.lostReported
            guard dropped > 0 || lost > 0, now - state.lastLossReport >= tuning.lossReportInterval else { return nil }
            state.droppedReported = state.statistics.dropped
            state.lostReported = state.statistics.lost
            state.lastLossReport = now
            var parts: [String] = []
            if dropped > 0 { parts.append("dropped \(Self.lines(dropped)) (queue full)") }
            if lost > 0 { parts.append("lost \(Self.lines(lost)) (\(state.lossReason))") }
            return (
                "sink \(label) " + parts.joined(separator: " and "), [("sink_dropped", dropped), ("sink_lost", lost)]
            )
        }
        if let (text, counters) = message { report(text, counters) }
    }

    /// `1 line`, `12 lines`.
    static func lines(_ count: some BinaryInteger) -> String {
        count == 1 ? "1 line" : "\(count) lines"
    }

    /// `1.234 s`, `12 ms`.
    static func seconds(_ nanoseconds: UInt64) -> String {
        if nanoseconds < 1_000_000_000 { return "\(nanoseconds / 1_000_000) ms" }
        let milliseconds = nanoseconds / 1_000_000
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) s"
    }
}
