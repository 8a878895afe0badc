public import VigilKernel
public import VigilNode

/// Watches each container's fork rate and PID counters and raises one `fork_storm` alert when a storm
/// starts and one summary when it ends (its peak rate and the forks the limit refused), never one per
/// fork.
///
/// A storm is any of: forks (process forks and thread creations, from the connector; PID churn when
/// polling) above the configured rate; `pids.current` at or above the configured fraction of
/// `pids.max`; `pids.events` `max` rising (the kernel refused forks).
public struct ForkStormDetector: Sendable {
    struct Watch: Sendable {
        var state: Tracker.ContainerState
        var lastForks: UInt64
        var lastRefused: UInt64?
        var lastTime: UInt64
        var storm: Storm?
    }

    struct Storm: Sendable {
        var started: UInt64
        var lastActive: UInt64
        var peakRate: Double
        var peakPids: UInt64
        var refusedAtStart: UInt64
        var refused: UInt64
    }


    private var watches: [String: Watch] = [:]

    public init() {}

    /// A storm is going on in some container.
    public var active: Bool { watches.values.contains { $0.storm != nil } }

    /// Samples every container; `now` in monotonic nanoseconds. `sample` reads a container's PID
    /// counters (only for containers that forked since the last tick or are in a storm, so an idle node
    /// costs nothing).
    public mutating func tick(
        now: UInt64, wallTime: Timestamp, containers: [String: Tracker.ContainerState], configuration: DetectionConfiguration,
        sample: (String) -> PidCounters?
    ) -> [Alert] {
        var alerts: [Alert] = []
        for (cgroup, state) in containers {
            let forks = state.forks + state.threads
            var watch =
                watches[cgroup] ?? Watch(state: state, lastForks: forks, lastRefused: state.pids?.eventsMax, lastTime: now, storm: nil)
            watch.state = state
            let elapsed = Double(max(1, now - watch.lastTime)) / 1e9
            let delta = forks >= watch.lastForks ? forks - watch.lastForks : 0
            let rate = Double(delta) / elapsed
            // Read the counters when forks were seen (connector) or a storm is on; otherwise use the last
            // sample the tracker took (every poll, when polling: the only fork evidence it has).
            let counters = (delta > 0 || watch.storm != nil || watches[cgroup] == nil) ? sample(cgroup) : state.pids

            var refusedNow: UInt64 = 0
            if let refused = counters?.eventsMax {
                if let last = watch.lastRefused, refused > last { refusedNow = refused - last }
                watch.lastRefused = refused
            }
            var atLimit = false
            if let current = counters?.current, let max = counters?.max, max > 0 {
                atLimit = Double(current) >= configuration.pidsFraction * Double(max)
            }
            let fast = rate >= configuration.forkRate
            let stormy = fast || refusedNow > 0 || (atLimit && delta > 0)

            if var storm = watch.storm {
                storm.peakRate = Swift.max(storm.peakRate, rate)
                storm.peakPids = Swift.max(storm.peakPids, counters?.current ?? 0)
                storm.refused += refusedNow
                if stormy { storm.lastActive = now }
                watch.storm = storm
                if !stormy, now - storm.lastActive >= configuration.stormQuietPeriod {
                    alerts.append(summary(storm, state: state, now: now, wallTime: wallTime, counters: counters, configuration: configuration))
                    watch.storm = nil
                }
            } else if stormy, configuration.applies(.forkStorm, workload: state.identity.workload.rawValue, exe: nil, name: nil, parent: nil) {
                let storm = Storm(
                    started: now, lastActive: now, peakRate: rate, peakPids: counters?.current ?? 0, refusedAtStart: refusedNow,
                    refused: refusedNow)
                watch.storm = storm
                var reasons: [String] = []
                if fast { reasons.append("\(Int(rate)) forks/s (threshold \(Int(configuration.forkRate)))") }
                if let current = counters?.current, let max = counters?.max {
                    reasons.append("pids \(current)/\(max)")
                }
                if refusedNow > 0 { reasons.append("\(refusedNow) forks refused at the limit") }
                let container = state.identity
                alerts.append(
                    Alert(
                        rule: .forkStorm, priority: configuration.settings(.forkStorm).priority ?? .critical, time: wallTime,
                        output:
                            "Fork storm in container \(container.name ?? container.shortID) (\(container.shortID), \(container.workload)): \(reasons.joined(separator: ", "))",
                        container: container,
                        fields: [
                            ("vigil.fork_rate", .int(Int64(rate))), ("vigil.pids.current", counters?.current.map { .int(Int64($0)) } ?? .null),
                            ("vigil.pids.max", counters?.max.map { .int(Int64($0)) } ?? .null),
                            ("vigil.forks_refused", .int(Int64(refusedNow))), ("vigil.storm", .string("started")),
                        ]))
            }
            watch.lastForks = forks
            watch.lastTime = now
            watches[cgroup] = watch
        }
        // Containers that are gone: a storm in one ends with it, and is summarised.
        for (cgroup, watch) in watches where containers[cgroup] == nil {
            watches[cgroup] = nil
            if let storm = watch.storm {
                alerts.append(summary(storm, state: watch.state, now: now, wallTime: wallTime, counters: nil, configuration: configuration))
            }
        }
        return alerts
    }

    private func summary(
        _ storm: Storm, state: Tracker.ContainerState, now: UInt64, wallTime: Timestamp, counters: PidCounters?,
        configuration: DetectionConfiguration
    ) -> Alert {
        let container = state.identity
        let seconds = Double(storm.lastActive - storm.started) / 1e9
        let duration = (seconds * 10).rounded() / 10
        return Alert(
            rule: .forkStorm, priority: configuration.settings(.forkStorm).priority ?? .warning, time: wallTime,
            output:
                "Fork storm ended in container \(container.name ?? container.shortID) (\(container.shortID), \(container.workload)) after \(duration) s: peak \(Int(storm.peakRate)) forks/s, \(storm.refused) forks refused, peak pids \(storm.peakPids)",
            container: container,
            fields: [
                ("vigil.fork_rate", .int(Int64(storm.peakRate))), ("vigil.forks_refused", .int(Int64(storm.refused))),
                ("vigil.pids.peak", .int(Int64(storm.peakPids))), ("vigil.storm", .string("ended")),
                ("vigil.storm_duration_ns", .int(Int64(storm.lastActive - storm.started))),
            ])
    }
}
