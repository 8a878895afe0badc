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
    private let paths: NodePaths
    /// Containers whose posture is due to be audited, and when (monotonic ns): a moment after they
    /// start, and again after new processes, at most every `postureInterval`.
    private var pendingAudits: [String: UInt64] = [:]
    /// Each container's last audit: when, and the findings (check ids) it had.
    private var postures: [String: (time: UInt64, findings: Set<String>, worst: Severity?)] = [:]
    /// Learns and enforces baselines; nil when baselines are off.
    var learner: BaselineLearner?
    static let postureDelay: UInt64 = 1_000_000_000
    static let postureInterval: UInt64 = 30_000_000_000

    init(configuration: DetectionConfiguration, paths: NodePaths) {
        self.configuration = configuration
        self.paths = paths
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
            schedulePosture(after: event, now: now)
            admit(raised, now: now, into: &alerts)
        }
        if let learner, !events.isEmpty {
            var raised: [Alert] = []
            learner.handle(events, tracker: tracker, configuration: configuration, into: &raised)
            admit(raised, now: now, into: &alerts)
        }
        if !events.isEmpty { activity = true }
    }

    private func admit(_ raised: [Alert], now: UInt64, into alerts: inout [Alert]) {
        for alert in raised {
            alerts.append(contentsOf: deduplicator.admit(alert, now: now, window: configuration.dedupWindow))
        }
    }

    /// Connector events were handled (forks among them, which make no activity events).
    func noteActivity() {
        activity = true
        learner?.noteForks()
    }

    /// When `tick` must run at the latest, whatever `wantsTick` says (a baseline falling due to lock).
    var deadline: UInt64 { learner?.nextDeadline() ?? .max }

    /// Whether `tick` has work: a storm to follow, summaries pending, or forks since the last tick.
    var wantsTick: Bool { activity || forkStorms.active || deduplicator.pendingCount > 0 || !pendingAudits.isEmpty }

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
        auditDue(now: now, tracker: tracker, into: &alerts)
        tickBaselines(tracker: tracker, into: &alerts)
    }

    /// Baselines falling due to lock, fork-rate windows, writes (on the learner's own deadlines, apart
    /// from the fork-storm detector's cadence).
    func tickBaselines(tracker: Tracker, into alerts: inout [Alert]) {
        if let learner {
            var raised: [Alert] = []
            learner.tick(tracker: tracker, configuration: configuration, into: &raised)
            admit(raised, now: monotonicNanoseconds(), into: &alerts)
        }
    }

    // MARK: Posture (insecure_container)

    private func schedulePosture(after event: ActivityEvent, now: UInt64) {
        guard let cgroup = event.container?.cgroup, configuration.settings(.insecureContainer).enabled else { return }
        switch event.kind {
        case .containerStart:
            // Containers already running when the agent started are audited as it takes the node in.
            if event.source == .initial { return }
            pendingAudits[cgroup] = pendingAudits[cgroup] ?? now + Self.postureDelay
        case .processExec:
            // A new process may hold more than the container did: look again, now and then.
            if let last = postures[cgroup], now - last.time >= Self.postureInterval, pendingAudits[cgroup] == nil {
                pendingAudits[cgroup] = now + Self.postureDelay
            }
        case .containerStop:
            pendingAudits[cgroup] = nil
            postures[cgroup] = nil
        default:
            break
        }
    }

    /// Audits every container now (at start, as the node is taken in).
    func auditAll(tracker: Tracker, into alerts: inout [Alert]) {
        guard configuration.settings(.insecureContainer).enabled, !tracker.containers.isEmpty else { return }
        let now = monotonicNanoseconds()
        for cgroup in tracker.containers.keys { pendingAudits[cgroup] = now }
        auditDue(now: now, tracker: tracker, into: &alerts)
    }

    /// Audits the containers that are due; one `insecure_container` alert when a container first shows
    /// findings, and again only when its posture gets worse (a new finding, or a worse severity).
    private func auditDue(now: UInt64, tracker: Tracker, into alerts: inout [Alert]) {
        let due = Set(pendingAudits.filter { $0.value <= now }.keys)
        guard !due.isEmpty else { return }
        for cgroup in due { pendingAudits[cgroup] = nil }
        guard let report = try? AuditCollector.collect(paths: paths, only: due) else { return }
        for audit in report.containers {
            let cgroup = audit.container.cgroup
            let findings = Set(audit.findings.map(\.check.rawValue))
            let worst = audit.findings.map(\.severity).max()
            let previous = postures[cgroup]
            let worstEver = [worst, previous?.worst].compactMap { $0 }.max()
            postures[cgroup] = (now, findings.union(previous?.findings ?? []), worstEver)
            guard !audit.findings.isEmpty else { continue }
            let new = findings.subtracting(previous?.findings ?? [])
            let worse = previous == nil || !new.isEmpty || (worst.map { w in previous?.worst.map { w > $0 } ?? true } ?? false)
            guard worse, let identity = tracker.containers[cgroup]?.identity,
                configuration.applies(.insecureContainer, workload: identity.workload.rawValue, exe: nil, name: nil, parent: nil)
            else { continue }
            let sorted = audit.findings.sorted { $0.severity > $1.severity }
            let list = sorted.map { "\($0.check.rawValue) (\($0.severity.rawValue)\($0.cis.map { ", CIS \($0)" } ?? ""))" }
            let priority: Priority
            switch worst {
            case .critical: priority = .critical
            case .high: priority = .error
            case .medium: priority = .warning
            default: priority = .notice
            }
            var alert = Alert(
                rule: .insecureContainer, priority: configuration.settings(.insecureContainer).priority ?? priority,
                time: .now(),
                output:
                    "\(previous == nil ? "Container started with" : "Container posture got worse:") \(audit.findings.count) finding\(audit.findings.count == 1 ? "" : "s") in \(identity.name ?? identity.shortID) (\(identity.shortID), \(identity.workload)): \(list.joined(separator: ", "))",
                container: identity,
                fields: [
                    ("vigil.findings", .strings(sorted.map { "\($0.check.rawValue):\($0.severity.rawValue)" })),
                    ("vigil.findings_new", .strings(new.sorted())),
                    ("vigil.evidence", .strings(sorted.map(\.evidence))),
                ])
            alert.subject = findings.sorted().joined(separator: ",")
            alerts.append(alert)
        }
    }

    /// Every pending summary, at shutdown.
    func flush(into alerts: inout [Alert]) {
        alerts.append(contentsOf: deduplicator.flush(window: configuration.dedupWindow))
    }
}
