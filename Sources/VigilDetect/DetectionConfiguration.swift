/// What the detectors do: which rules run, at which priority, with which exceptions and thresholds.
/// Built-in defaults without a configuration file.
public struct DetectionConfiguration: Equatable, Sendable {
    /// One rule's settings.
    public struct RuleSettings: Equatable, Sendable {
        public var enabled = true
        /// Overrides the rule's default priority.
        public var priority: Priority?
        /// Workload keys (`image:nginx:latest`, `k8s:shop/web/app`) the rule ignores; a trailing `*`
        /// matches a prefix.
        public var exceptWorkloads: [String] = []
        /// Executable paths or process names the rule ignores.
        public var exceptExes: [String] = []
        /// Parent process names the rule ignores.
        public var exceptParents: [String] = []

        public init() {}
    }

    public var rules: [RuleID: RuleSettings] = [:]

    /// Fork storm: forks (and thread creations) per second in one container that start a storm.
    public var forkRate: Double = 200
    /// Fork storm: pids.current at or above this fraction of pids.max is a storm.
    public var pidsFraction: Double = 0.9
    /// Fork storm: how long a container must be calm before its storm is over (nanoseconds).
    public var stormQuietPeriod: UInt64 = 3_000_000_000

    /// When a locked baseline's PID and fork-rate high-water marks are exceeded.
    public var baselineThresholds = BaselineRules.Thresholds()

    /// Identical alerts (rule, workload, executable, parent) within this window are counted and
    /// summarised once ("repeated N times"), never dropped silently.
    public var dedupWindow: UInt64 = 60_000_000_000

    public init() {}

    public func settings(_ rule: RuleID) -> RuleSettings { rules[rule] ?? RuleSettings() }

    /// True when `rule` is on and none of its exceptions covers this workload, executable or parent.
    public func applies(_ rule: RuleID, workload: String?, exe: String?, name: String?, parent: String?) -> Bool {
        let settings = settings(rule)
        guard settings.enabled else { return false }
        if let workload, settings.exceptWorkloads.contains(where: { Self.matches($0, workload) }) { return false }
        for candidate in [exe, name].compactMap({ $0 }) where settings.exceptExes.contains(where: { Self.matches($0, candidate) }) {
            return false
        }
        if let parent, settings.exceptParents.contains(where: { Self.matches($0, parent) }) { return false }
        return true
    }

    private static func matches(_ pattern: String, _ value: String) -> Bool {
        pattern.hasSuffix("*") ? value.hasPrefix(pattern.dropLast()) : pattern == value
    }
}
