import VigilDetect
import VigilKernel
import VigilNode

/// Runs the detectors over what the tracker reports, deduplicates, and hands back the alerts to write.
final class AlertEngine {
    var configuration: DetectionConfiguration
    private let facts: NodeFacts
    private var forkStorms = ForkStormDetector()
    private var deduplicator = Deduplicator()
    /// Forks were seen since the last tick, so the fork-storm detector has something to look at.
    private var activity = true

    init(configuration: DetectionConfiguration, paths: NodePaths) {
        self.configuration = configuration
        self.facts = NodeFacts(paths: paths)
    }

    /// Alerts for what just happened.
    func inspect(_ events: [ActivityEvent], tracker: Tracker, into alerts: inout [Alert]) {
        let now = monotonicNanoseconds()
        for event in events {
            var raised: [Alert]
            switch event.kind {
            case .processExec:
                let parent = event.process.flatMap { tracker.processes[$0.ppid] }
                raised = ProcessRules.inspectExec(event, parent: parent, configuration: configuration, facts: facts.facts)
            case .credentialsChanged:
                raised = ProcessRules.inspectCredentials(event, configuration: configuration)
            default:
                raised = []
            }
            for alert in raised {
                alerts.append(contentsOf: deduplicator.admit(alert, now: now, window: configuration.dedupWindow))
            }
        }
        if !events.isEmpty { activity = true }
    }

    /// Connector events were handled (forks among them, which make no activity events).
    func noteActivity() { activity = true }

    /// Whether `tick` has work: a storm to follow, summaries pending, or forks since the last tick.
    var wantsTick: Bool { activity || forkStorms.active || deduplicator.pendingCount > 0 }

    /// Fork storms and closed dedup windows; called every quarter second while `wantsTick`.
    func tick(tracker: Tracker, into alerts: inout [Alert]) {
        let now = monotonicNanoseconds()
        activity = false
        alerts.append(
            contentsOf: forkStorms.tick(
                now: now, wallTime: .now(), containers: tracker.containers, configuration: configuration,
                sample: { tracker.samplePids($0) }))
        alerts.append(contentsOf: deduplicator.expire(now: now, window: configuration.dedupWindow))
        facts.retain(containers: Set(tracker.containers.keys))
    }

    /// Every pending summary, at shutdown.
    func flush(into alerts: inout [Alert]) {
        alerts.append(contentsOf: deduplicator.flush(window: configuration.dedupWindow))
    }
}
