import Testing
import VigilBaseline
import VigilDetect
import VigilKernel

@testable import VigilNode

/// Baselines for the comparator's tests: learned from processes built by `Scenario`, as the agent
/// learns them (the key from the process and its parent, the sighting's user and capabilities), then
/// locked.
enum BaselineScenario {
    /// The workload of `Scenario.container()` (`image:nginx:1.25`).
    static var workload: WorkloadKey { Scenario.container().workload }

    /// A baseline of `workload` that learned each process under its parent (nil: none followed),
    /// with the given high-water marks; locked unless `locked` is false.
    static func baseline(
        learning sightings: [(process: TrackedProcess, parent: TrackedProcess?)], locked: Bool = true,
        pidsHigh: UInt64? = nil, forkRateHigh: UInt64? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Baseline {
        var baseline = Baseline(workload: workload, created: Scenario.time, node: "node-1")
        for (process, parent) in sightings {
            let key = try #require(
                BaselineRules.key(of: process, parent: parent), "no key for \(process.comm)",
                sourceLocation: sourceLocation)
            baseline.learn(key, user: process.euid, capabilities: process.capabilities.effective, at: Scenario.time)
        }
        baseline.observe(pids: pidsHigh, forkRate: forkRateHigh, at: Scenario.time)
        if locked { lock(&baseline) }
        return baseline
    }

    /// A baseline of `workload` with the given marks and no process entries.
    static func baseline(pidsHigh: UInt64, forkRateHigh: UInt64, locked: Bool = true) -> Baseline {
        var baseline = Baseline(workload: workload, created: Scenario.time, node: "node-1")
        baseline.observe(pids: pidsHigh, forkRate: forkRateHigh, at: Scenario.time)
        if locked { lock(&baseline) }
        return baseline
    }

    static func lock(_ baseline: inout Baseline) {
        baseline.state = .locked
        baseline.lockedAt = Scenario.time
    }

    /// An entry key from its file form: `key("/bin/busybox[wget]", parent: "/bin/busybox[sh]")`.
    static func key(_ kind: String, parent: String, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> ProcessEntryKey
    {
        let kind = try #require(ProcessKind(parsing: kind), sourceLocation: sourceLocation)
        let parent = try #require(ParentKind(parsing: parent), sourceLocation: sourceLocation)
        return ProcessEntryKey(kind: kind, parent: parent)
    }

    /// The alerts the exec of `process` (under `parent`) raises against `baseline`, keyed as the agent
    /// keys it.
    static func inspect(
        _ process: TrackedProcess, parent: TrackedProcess?, baseline: Baseline,
        configuration: DetectionConfiguration = DetectionConfiguration(),
        container: ContainerIdentity = Scenario.container(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [Alert] {
        let key = try #require(BaselineRules.key(of: process, parent: parent), sourceLocation: sourceLocation)
        return BaselineRules.inspect(
            Scenario.exec(process, in: container), key: key, baseline: baseline, configuration: configuration)
    }

    /// The alerts a change of `process`'s effective user (from `previousEUID`) raises against `baseline`.
    static func inspectCredentials(
        _ process: TrackedProcess, previousEUID: UInt32?, parent: TrackedProcess?, baseline: Baseline,
        configuration: DetectionConfiguration = DetectionConfiguration(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [Alert] {
        let key = try #require(BaselineRules.key(of: process, parent: parent), sourceLocation: sourceLocation)
        return BaselineRules.inspectCredentials(
            Scenario.credentialsChanged(process, previousEUID: previousEUID), key: key, baseline: baseline,
            configuration: configuration)
    }

    /// The alerts one sample of a container's counters raises against `baseline`.
    static func counters(
        pids: UInt64?, forkRate: UInt64?, baseline: Baseline,
        configuration: DetectionConfiguration = DetectionConfiguration()
    ) -> [Alert] {
        BaselineRules.inspectCounters(
            container: Scenario.container(), pids: pids, forkRate: forkRate, baseline: baseline, time: Scenario.time,
            configuration: configuration)
    }

    /// Capabilities by number: `capabilities(0, 7)` is CHOWN and SETUID.
    static func capabilities(_ numbers: Int...) -> CapabilitySet {
        CapabilitySet(rawValue: numbers.reduce(0) { $0 | (UInt64(1) << UInt64($1)) })
    }
}
