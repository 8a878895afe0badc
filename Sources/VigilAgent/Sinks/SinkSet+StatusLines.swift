import Synchronization
import VigilNode

extension SinkSet {
    /// Sinks whose own reports (drops, outages, losses) become `agent_status` lines, published to every
    /// sink — so a syslog daemon that was down is reported in the file, on stdout and, once it is back,
    /// in syslog itself.
    ///
    /// - Parameters:
    ///   - encoder: gives the line format for standard output and the host name, and encodes the reports.
    public convenience init(
        specs: [OutputSpec], encoder: EventLineEncoder, facility: SyslogFacility, queueCapacity: Int = 10_000,
        tuning: SinkTuning = SinkTuning()
    ) throws(SinkError) {
        let relay = StatusRelay(encoder: encoder)
        try self.init(
            specs: specs, format: encoder.format, hostname: encoder.hostname, facility: facility,
            queueCapacity: queueCapacity, tuning: tuning,
            status: { message, counters in relay.report(message, counters) })
        relay.attach(self)
    }
}

/// Turns sink reports into status records for the sinks. Reports made before the sinks exist (a
/// daemon down at start, reported by a sink's thread at once) wait until they do.
private final class StatusRelay: Sendable {
    private struct State {
        weak var sinks: SinkSet?
        var attached = false
        var early: [OutputRecord] = []
    }

    private let encoder: EventLineEncoder
    private let state = Mutex(State())

    init(encoder: EventLineEncoder) {
        self.encoder = encoder
    }

    func report(_ message: String, _ counters: [(String, UInt64)]) {
        let record = encoder.record(.status(message, counters: counters))
        let sinks = state.withLock { state -> SinkSet? in
            guard state.attached else {
                state.early.append(record)
                return nil
            }
            return state.sinks
        }
        sinks?.publish(record)
    }

    func attach(_ sinks: SinkSet) {
        let early = state.withLock { state -> [OutputRecord] in
            state.sinks = sinks
            state.attached = true
            defer { state.early.removeAll() }
            return state.early
        }
        for record in early { sinks.publish(record) }
    }
}
