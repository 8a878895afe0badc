import VigilKernel

/// Deduplicates alerts: the first of a kind (rule, workload, executable, parent) goes out at once;
/// the same kind again within the window is counted; when the window closes, one summary says how many
/// more there were (`vigil.count`). Nothing is dropped silently: pending summaries are flushed on
/// shutdown. Fork storms are not deduplicated (they summarise themselves).
public struct Deduplicator: Sendable {
    struct Pending: Sendable {
        var first: Alert
        var opened: UInt64
        var repeats: UInt64
        var last: Alert
    }

    private var pending: [String: Pending] = [:]
    /// The most distinct kinds held at once; beyond it the oldest window closes early (and is summarised).
    public let capacity: Int

    /// Kinds whose window is open.
    public var pendingCount: Int { pending.count }

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// Passes `alert` through (returned) or counts it; `now` in monotonic nanoseconds.
    public mutating func admit(_ alert: Alert, now: UInt64, window: UInt64) -> [Alert] {
        if alert.rule == .forkStorm || alert.isSummary || window == 0 { return [alert] }
        let key = alert.dedupKey
        if var entry = pending[key] {
            if now - entry.opened < window {
                entry.repeats += 1
                entry.last = alert
                pending[key] = entry
                return []
            }
            // The window is over: summarise it, and this one opens the next.
            pending[key] = Pending(first: alert, opened: now, repeats: 0, last: alert)
            return (entry.repeats > 0 ? [Self.summary(entry, window: window)] : []) + [alert]
        }
        var out: [Alert] = []
        if pending.count >= capacity, let oldest = pending.min(by: { $0.value.opened < $1.value.opened }) {
            pending[oldest.key] = nil
            if oldest.value.repeats > 0 { out.append(Self.summary(oldest.value, window: window)) }
        }
        pending[key] = Pending(first: alert, opened: now, repeats: 0, last: alert)
        out.append(alert)
        return out
    }

    /// Summaries of windows that have closed by `now`.
    public mutating func expire(now: UInt64, window: UInt64) -> [Alert] {
        var out: [Alert] = []
        for (key, entry) in pending where now - entry.opened >= window {
            pending[key] = nil
            if entry.repeats > 0 { out.append(Self.summary(entry, window: window)) }
        }
        return out.sorted { $0.time < $1.time }
    }

    /// Every pending summary, at shutdown.
    public mutating func flush(window: UInt64) -> [Alert] {
        let out = pending.values.filter { $0.repeats > 0 }.map { Self.summary($0, window: window) }
        pending.removeAll()
        return out.sorted { $0.time < $1.time }
    }

    static func summary(_ entry: Pending, window: UInt64) -> Alert {
        // The latest occurrence, whole (its sentence and its fields agree), with the count.
        var alert = entry.last
        alert.isSummary = true
        alert.count = entry.repeats
        let seconds = window / 1_000_000_000
        alert.output = "\(entry.last.output) — repeated \(entry.repeats) more time\(entry.repeats == 1 ? "" : "s") (\(entry.repeats + 1) in all) within \(seconds) s"
        return alert
    }
}
