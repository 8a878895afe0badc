import VigilBaseline
public import VigilDetect
import VigilKernel

/// How the agent gets process events.
public enum EventSourceChoice: String, Sendable, CaseIterable {
    /// The connector when it can be used, else polling (with a warning saying what is lost).
    case auto
    /// The connector or nothing: fail when it is unavailable.
    case connector
    /// Poll the cgroup tree only (hosts that forbid netlink; tests).
    case poll
}

/// The agent's settings: built-in defaults, then the configuration file, then command-line flags.
public struct WatchConfiguration: Equatable, Sendable {
    public var source: EventSourceChoice = .auto
    /// Emit every process start and exit (`--events`).
    public var events = false
    /// How often the poll source walks the cgroup tree.
    public var pollInterval: UInt64 = 250_000_000
    /// How often, with the connector, the table is checked against the cgroup tree.
    public var resyncInterval: UInt64 = 30_000_000_000
    /// The longest a command-line read may block the loop before the event goes out without it.
    public var slowReadTimeout: UInt64 = 20_000_000
    /// The connector socket's receive buffer.
    public var receiveBuffer = 8 << 20
    /// Rules, their exceptions and thresholds, deduplication.
    public var detection = DetectionConfiguration()
    /// Where lines go (`--output`); standard output when empty. Read at start only.
    public var outputs: [OutputSpec] = []
    /// The syslog facility of syslog outputs.
    public var syslogFacility: SyslogFacility = .authpriv
    /// Deny the agent system calls it never needs (seccomp) once it is set up. Read at start.
    public var confine = true
    /// Where baselines are kept (`--baseline-dir`). Read at start only.
    public var baselineDirectory = BaselineStore.defaultDirectory
    /// How long a new workload is learned before its baseline locks (`--learn-for`); 0: no learning.
    public var learnFor: UInt64 = 3_600_000_000_000
    /// How soon a baseline being learned is written after it changed.
    public var baselineWriteInterval: UInt64 = 5_000_000_000

    public init() {}
}

/// A configuration file error: the file, the line, and what was wrong.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String

    public var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}

/// Reads the configuration file: `key = value` lines in `[sections]`, `#` comments.
///
///     [watch]
///     source = auto            # auto | connector | poll
///     events = false
///     poll_interval = 250ms
///     resync_interval = 30s
///     slow_read_timeout = 20ms
///     receive_buffer = 8388608
///     output = stdout, syslog  # as --output, comma-separated; read at start
///     syslog_facility = authpriv
///     confine = true           # seccomp: refuse execve, ptrace, mount, setns, module loading, setuid… to itself
///
///     [alerts]
///     dedup_window = 60s
///
///     [fork_storm]
///     rate = 200               # forks per second in one container
///     pids_fraction = 0.9      # of pids.max
///     quiet_period = 3s
///
///     [baseline]
///     dir = /var/lib/vigil/baselines   # as --baseline-dir; read at start
///     learn_for = 1h           # as --learn-for; 0 turns learning off
///     pids_factor = 2          # pids_excess above factor × max(learned peak, pids_floor)
///     pids_floor = 8
///     fork_rate_factor = 4     # fork_rate_excess above factor × max(learned peak, fork_rate_floor)
///     fork_rate_floor = 5
///     write_interval = 5s      # how soon a baseline being learned is written after it changed
///
///     [rule shell_in_container]
///     enabled = true
///     priority = notice
///     except_workloads = k8s:ops/debug/*, image:busybox:latest
///     except_exes = /usr/local/bin/healthcheck
///     except_parents = crond
///
/// Unknown sections and keys are errors, so a typo is never silently ignored.
public enum ConfigurationFile {
    public static func load(_ path: String, onto base: WatchConfiguration = WatchConfiguration()) throws(ConfigurationError) -> WatchConfiguration {
        guard let directory = try? FileDescriptor.openDirectory("/"),
            let file = try? directory.open(relative: path.hasPrefix("/") ? String(path.dropFirst()) : path)
        else {
            // Relative paths: resolve against the working directory.
            return try loadRelative(path, onto: base)
        }
        var buffer = ReadBuffer(capacity: 4096)
        guard case .success(true) = file.readAll(into: &buffer, limit: 1 << 20) else {
            throw ConfigurationError(file: path, line: 0, reason: "cannot read the file (or it is larger than 1 MiB)")
        }
        return try parse(Bytes.string(buffer.bytes[...]), file: path, onto: base)
    }

    private static func loadRelative(_ path: String, onto base: WatchConfiguration) throws(ConfigurationError) -> WatchConfiguration {
        guard !path.hasPrefix("/"), let directory = try? FileDescriptor.openDirectory("."),
            let file = try? directory.open(relative: path)
        else { throw ConfigurationError(file: path, line: 0, reason: "cannot open the file") }
        var buffer = ReadBuffer(capacity: 4096)
        guard case .success(true) = file.readAll(into: &buffer, limit: 1 << 20) else {
            throw ConfigurationError(file: path, line: 0, reason: "cannot read the file (or it is larger than 1 MiB)")
        }
        return try parse(Bytes.string(buffer.bytes[...]), file: path, onto: base)
    }

    /// Parses configuration text; `file` names it in errors.
    public static func parse(_ text: String, file: String, onto base: WatchConfiguration = WatchConfiguration()) throws(ConfigurationError) -> WatchConfiguration {
        var configuration = base
        var section = ""
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            line = trim(line)
            if line.isEmpty { continue }
            func fail(_ reason: String) -> ConfigurationError {
                ConfigurationError(file: file, line: lineNumber, reason: reason)
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw fail("a section header must end with ']'") }
                section = String(trim(line.dropFirst().dropLast()))
                if section.hasPrefix("rule ") {
                    let name = String(trim(section.dropFirst(5)))
                    guard RuleID(rawValue: name) != nil else {
                        throw fail("unknown rule '\(name)'; rules are \(RuleID.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    section = "rule " + name
                    continue
                }
                guard ["watch", "alerts", "fork_storm", "baseline"].contains(section) else {
                    throw fail("unknown section [\(section)]; expected [watch], [alerts], [fork_storm], [baseline] or [rule NAME]")
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { throw fail("expected 'key = value', found '\(line)'") }
            let key = String(trim(line[..<equals]))
            let value = String(trim(line[line.index(after: equals)...]))
            if section.isEmpty { throw fail("'\(key)' must be inside a section such as [watch]") }
            if section.hasPrefix("rule "), let rule = RuleID(rawValue: String(section.dropFirst(5))) {
                var settings = configuration.detection.settings(rule)
                let list = value.split(separator: ",").map { String(trim($0)) }.filter { !$0.isEmpty }
                switch key {
                case "enabled":
                    guard value == "true" || value == "false" else { throw fail("enabled must be true or false; found '\(value)'") }
                    settings.enabled = value == "true"
                case "priority":
                    guard let priority = VigilDetect.Priority(name: value) else {
                        throw fail("priority must be one of \(VigilDetect.Priority.allCases.map { $0.rawValue.lowercased() }.joined(separator: ", ")); found '\(value)'")
                    }
                    settings.priority = priority
                case "except_workloads": settings.exceptWorkloads = list
                case "except_exes": settings.exceptExes = list
                case "except_parents": settings.exceptParents = list
                default:
                    throw fail("unknown key '\(key)' in [\(section)]; expected enabled, priority, except_workloads, except_exes or except_parents")
                }
                configuration.detection.rules[rule] = settings
                continue
            }
            if section == "alerts" {
                guard key == "dedup_window" else { throw fail("unknown key '\(key)' in [alerts]; expected dedup_window") }
                guard let window = DurationParser.nanoseconds(value) else {
                    throw fail("dedup_window must be a duration such as 60s or 0 (off); found '\(value)'")
                }
                configuration.detection.dedupWindow = window
                continue
            }
            if section == "fork_storm" {
                switch key {
                case "rate":
                    guard let rate = Double(value), rate > 0 else { throw fail("rate must be a positive number of forks per second; found '\(value)'") }
                    configuration.detection.forkRate = rate
                case "pids_fraction":
                    guard let fraction = Double(value), fraction > 0, fraction <= 1 else {
                        throw fail("pids_fraction must be a number above 0 and at most 1; found '\(value)'")
                    }
                    configuration.detection.pidsFraction = fraction
                case "quiet_period":
                    guard let period = DurationParser.nanoseconds(value), period > 0 else {
                        throw fail("quiet_period must be a positive duration such as 3s; found '\(value)'")
                    }
                    configuration.detection.stormQuietPeriod = period
                default:
                    throw fail("unknown key '\(key)' in [fork_storm]; expected rate, pids_fraction or quiet_period")
                }
                continue
            }
            if section == "baseline" {
                var thresholds = configuration.detection.baselineThresholds
                switch key {
                case "dir":
                    guard !value.isEmpty else { throw fail("dir must be a directory path") }
                    configuration.baselineDirectory = value
                case "learn_for":
                    guard let duration = DurationParser.nanoseconds(value) else {
                        throw fail("learn_for must be a duration such as 1h or 10m, or 0 (no learning); found '\(value)'")
                    }
                    configuration.learnFor = duration
                case "write_interval":
                    guard let interval = DurationParser.nanoseconds(value), interval >= 1_000_000 else {
                        throw fail("write_interval must be a duration of at least 1ms such as 5s; found '\(value)'")
                    }
                    configuration.baselineWriteInterval = interval
                case "pids_factor", "fork_rate_factor":
                    guard let factor = Double(value), factor >= 1, factor <= 1000 else {
                        throw fail("\(key) must be a number from 1 to 1000; found '\(value)'")
                    }
                    if key == "pids_factor" { thresholds.pidsFactor = factor } else { thresholds.forkRateFactor = factor }
                case "pids_floor", "fork_rate_floor":
                    guard let floor = UInt64(value) else { throw fail("\(key) must be a whole number; found '\(value)'") }
                    if key == "pids_floor" { thresholds.pidsFloor = floor } else { thresholds.forkRateFloor = floor }
                default:
                    throw fail(
                        "unknown key '\(key)' in [baseline]; expected dir, learn_for, write_interval, pids_factor, pids_floor, fork_rate_factor or fork_rate_floor")
                }
                configuration.detection.baselineThresholds = thresholds
                continue
            }
            switch key {
            case "source":
                guard let choice = EventSourceChoice(rawValue: value) else {
                    throw fail("source must be auto, connector or poll; found '\(value)'")
                }
                configuration.source = choice
            case "events", "confine":
                guard value == "true" || value == "false" else { throw fail("\(key) must be true or false; found '\(value)'") }
                if key == "events" { configuration.events = value == "true" } else { configuration.confine = value == "true" }
            case "poll_interval", "resync_interval", "slow_read_timeout":
                guard let nanoseconds = DurationParser.nanoseconds(value), nanoseconds > 0 else {
                    throw fail("\(key) must be a positive duration such as 250ms, 30s or 10m; found '\(value)'")
                }
                if key == "poll_interval" {
                    guard nanoseconds >= 10_000_000 else { throw fail("poll_interval must be at least 10ms") }
                    configuration.pollInterval = nanoseconds
                } else if key == "resync_interval" {
                    configuration.resyncInterval = nanoseconds
                } else {
                    configuration.slowReadTimeout = nanoseconds
                }
            case "output":
                var specs: [OutputSpec] = []
                for item in value.split(separator: ",") {
                    do {
                        specs.append(try OutputSpec.parse(String(trim(item))))
                    } catch {
                        throw fail("\(error)")
                    }
                }
                guard !specs.isEmpty else { throw fail("output needs at least one of stdout, file:PATH, syslog, syslog:unix:PATH, syslog:udp://HOST:PORT, syslog:tcp://HOST:PORT") }
                configuration.outputs = specs
            case "syslog_facility":
                guard let facility = SyslogFacility(name: value) else {
                    throw fail("syslog_facility must be one of \(SyslogFacility.allCases.map(\.rawValue).joined(separator: ", ")); found '\(value)'")
                }
                configuration.syslogFacility = facility
            case "receive_buffer":
                guard let bytes = Int(value), bytes >= 65536, bytes <= 1 << 30 else {
                    throw fail("receive_buffer must be a number of bytes between 65536 and 1073741824; found '\(value)'")
                }
                configuration.receiveBuffer = bytes
            default:
                throw fail("unknown key '\(key)' in [watch]")
            }
        }
        return configuration
    }

    private static func trim(_ text: Substring) -> Substring {
        var result = text
        while let first = result.first, first == " " || first == "\t" || first == "\r" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result = result.dropLast() }
        return result
    }
}
