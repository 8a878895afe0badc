public import VigilBaseline
public import VigilKernel
public import VigilNode

/// The comparator: what a locked baseline says about a process or a container's counters.
///
/// - `unexpected_process`: a process kind (executable and name, under its parent's kind) that is not
///   in the baseline; the alert names the closest kind that is.
/// - `privilege_drift`: a known kind running as a user, or with effective capabilities, beyond what
///   was learned for it.
/// - `pids_excess`, `fork_rate_excess`: a container holding more PIDs, or forking faster, than
///   `factor` times its workload's learned high-water mark.
public enum BaselineRules {
    /// The baseline entry key of `process`, whose parent (when a followed process) is `parent`.
    public static func key(of process: TrackedProcess, parent: TrackedProcess?) -> ProcessEntryKey? {
        guard let kind = ProcessKind(of: process), let parentKind = ParentKind.of(process, parent: parent) else { return nil }
        return ProcessEntryKey(kind: kind, parent: parentKind)
    }

    /// Checks a process that started (or was found running) in a workload whose baseline is locked.
    public static func inspect(
        _ event: ActivityEvent, key: ProcessEntryKey, baseline: Baseline, configuration: DetectionConfiguration
    ) -> [Alert] {
        guard baseline.state == .locked, let process = event.process, let container = event.container else { return [] }
        let parentName: String? = if case .process(let kind) = key.parent { kind.name } else { nil }
        guard let (_, entry) = baseline.entry(for: key) else {
            guard
                configuration.applies(
                    .unexpectedProcess, workload: baseline.workload.rawValue, exe: key.kind.executable, name: key.kind.name,
                    parent: parentName)
            else { return [] }
            let closest = baseline.closest(to: key)
            let started = started(by: key.parent)
            var alert = Alert(
                rule: .unexpectedProcess,
                priority: configuration.settings(.unexpectedProcess).priority ?? RuleID.unexpectedProcess.defaultPriority,
                time: event.time,
                output:
                    "Unexpected process \(key.kind) \(started) in \(container.name ?? container.shortID) (\(container.shortID), \(baseline.workload)): not in the workload's baseline\(closest.map { "; closest known: \($0)" } ?? "") (user=\(process.euid) cmdline=\(commandLine(process)))",
                container: container, process: process, ancestors: event.ancestors, parentExe: event.parentExe,
                fields: [
                    ("vigil.baseline.kind", .string(key.kind.description)),
                    ("vigil.baseline.parent", .string(key.parent.description)),
                    ("vigil.baseline.closest", closest.map { .string($0.description) } ?? .null),
                ])
            alert.subject = "\(key.kind)|\(key.parent)"
            return [alert]
        }
        var reasons: [String] = []
        var fields: [(String, FieldValue)] = [("vigil.baseline.kind", .string(key.kind.description))]
        if let users = entry.users, !users.contains(process.euid) {
            reasons.append("runs as user \(process.euid), learned as \(BaselineFile.formatUsers(users))")
            fields.append(("vigil.baseline.users", .strings(users.sorted().map(String.init))))
        }
        if let learned = entry.capabilities {
            let extra = process.capabilities.effective.subtracting(learned)
            if !extra.isEmpty {
                reasons.append("holds capabilities beyond those learned: \(BaselineFile.formatCapabilities(extra))")
                fields.append(("vigil.baseline.capabilities_added", .strings(extra.names)))
            }
        }
        guard !reasons.isEmpty else { return [] }
        return drift(event, key: key, baseline: baseline, reasons: reasons, fields: fields, configuration: configuration)
    }

    /// A known process changed its effective user (a connector uid event) to one not learned for it.
    public static func inspectCredentials(
        _ event: ActivityEvent, key: ProcessEntryKey, baseline: Baseline, configuration: DetectionConfiguration
    ) -> [Alert] {
        guard baseline.state == .locked, let process = event.process, let (_, entry) = baseline.entry(for: key),
            let users = entry.users, !users.contains(process.euid)
        else { return [] }
        return drift(
            event, key: key, baseline: baseline,
            reasons: ["changed to user \(process.euid)\(event.previousEffectiveUID.map { " from \($0)" } ?? ""), learned as \(BaselineFile.formatUsers(users))"],
            fields: [
                ("vigil.baseline.kind", .string(key.kind.description)),
                ("vigil.baseline.users", .strings(users.sorted().map(String.init))),
            ], configuration: configuration)
    }

    private static func drift(
        _ event: ActivityEvent, key: ProcessEntryKey, baseline: Baseline, reasons: [String], fields: [(String, FieldValue)],
        configuration: DetectionConfiguration
    ) -> [Alert] {
        guard let process = event.process, let container = event.container else { return [] }
        let parentName: String? = if case .process(let kind) = key.parent { kind.name } else { nil }
        guard
            configuration.applies(
                .privilegeDrift, workload: baseline.workload.rawValue, exe: key.kind.executable, name: key.kind.name, parent: parentName)
        else { return [] }
        var alert = Alert(
            rule: .privilegeDrift,
            priority: configuration.settings(.privilegeDrift).priority ?? RuleID.privilegeDrift.defaultPriority,
            time: event.time,
            output:
                "Privilege drift in \(container.name ?? container.shortID) (\(container.shortID), \(baseline.workload)): \(key.kind) \(reasons.joined(separator: "; ")) (cmdline=\(commandLine(process)))",
            container: container, process: process, ancestors: event.ancestors, parentExe: event.parentExe, fields: fields)
        alert.subject = "\(key.kind)|\(process.euid)|\(process.capabilities.effective.rawValue)"
        return [alert]
    }

    /// How many PIDs and forks per second are too many for a workload: `factor` times the learned
    /// high-water mark, never less than `factor` times `floor` (a workload that learned 1 PID may
    /// still run a health check).
    public struct Thresholds: Equatable, Sendable {
        public var pidsFactor: Double = 2
        public var pidsFloor: UInt64 = 8
        public var forkRateFactor: Double = 4
        public var forkRateFloor: UInt64 = 5

        public init() {}

        public func pidsLimit(learned: UInt64) -> UInt64 { Self.limit(max(learned, pidsFloor), pidsFactor) }
        public func forkRateLimit(learned: UInt64) -> UInt64 { Self.limit(max(learned, forkRateFloor), forkRateFactor) }

        /// `value × factor`, rounded up; saturates rather than overflowing.
        private static func limit(_ value: UInt64, _ factor: Double) -> UInt64 {
            let product = (Double(value) * factor).rounded(.up)
            return product >= 18_446_744_073_709_551_615 ? .max : UInt64(product)
        }
    }

    /// Checks one container's PID count and fork rate against its workload's locked baseline.
    public static func inspectCounters(
        container: ContainerIdentity, pids: UInt64?, forkRate: UInt64?, baseline: Baseline, time: Timestamp,
        configuration: DetectionConfiguration
    ) -> [Alert] {
        guard baseline.state == .locked else { return [] }
        let thresholds = configuration.baselineThresholds
        let place = "Container \(container.name ?? container.shortID) (\(container.shortID), \(baseline.workload))"
        /// One counter against its limit: an alert when above it and the rule applies.
        func excess(
            _ rule: RuleID, _ value: UInt64?, limit: UInt64, high: UInt64, field: String, highField: String,
            says: (UInt64) -> String, peak: String
        ) -> Alert? {
            guard let value, value > limit,
                configuration.applies(rule, workload: baseline.workload.rawValue, exe: nil, name: nil, parent: nil)
            else { return nil }
            var alert = Alert(
                rule: rule, priority: configuration.settings(rule).priority ?? rule.defaultPriority, time: time,
                output: "\(place) \(says(value)), more than \(limit) (its workload's baseline peaked at \(peak))", container: container,
                fields: [(field, .int(Int64(value))), (highField, .int(Int64(high)))])
            alert.subject = field
            return alert
        }
        return [
            excess(
                .pidsExcess, pids, limit: thresholds.pidsLimit(learned: baseline.pidsHigh), high: baseline.pidsHigh,
                field: "vigil.pids.current", highField: "vigil.baseline.pids_high",
                says: { "holds \($0) PIDs" }, peak: "\(baseline.pidsHigh)"),
            excess(
                .forkRateExcess, forkRate, limit: thresholds.forkRateLimit(learned: baseline.forkRateHigh),
                high: baseline.forkRateHigh, field: "vigil.fork_rate", highField: "vigil.baseline.fork_rate_high",
                says: { "forks \($0) times a second" }, peak: "\(baseline.forkRateHigh)/s"),
        ].compactMap { $0 }
    }

    private static func started(by parent: ParentKind) -> String {
        switch parent {
        case .none: "as the container's first process"
        case .outside: "started from outside the container (exec)"
        case .any: "started"
        case .process(let kind): "started by \(kind)"
        }
    }

    private static func commandLine(_ process: TrackedProcess) -> String {
        let text = process.cmdline.joined(separator: " ")
        return text.utf8.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}
