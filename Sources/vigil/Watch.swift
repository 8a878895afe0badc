import ArgumentParser
import Glibc
import VigilAgent
import VigilKernel
import VigilNode

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow every container process on the node until SIGTERM or SIGINT.",
        discussion: """
            Vigil subscribes to the kernel's process-events connector (root, host namespaces) and sees every \
            fork, exec and exit as it happens, including processes that live for a millisecond. Without the \
            connector it polls the cgroup tree (--source poll forces that) and says what that loses.

            With --events it writes one line per container_start, container_stop, process_exec and \
            process_exit, with container, workload, process, ancestry, user and capabilities: the activity \
            log of the node. Lines about Vigil itself (lost events, reloads) are agent_status events.

            Baselines: every new workload is learned for --learn-for (default 1h) of running time, then its \
            baseline locks by itself and anything outside it raises unexpected_process (and privilege_drift, \
            pids_excess, fork_rate_excess). Learning resumes where it stopped after a restart. See \
            `vigil baseline --help`.

            SIGHUP rereads --config and the baselines without losing state; SIGTERM and SIGINT flush and exit 0.
            """
    )

    @OptionGroup var node: NodeOptions

    @Option(help: ArgumentHelp("Line format: json or text (default: text on a terminal, json otherwise).", valueName: "FORMAT"))
    var format: String?

    @Flag(help: "Also write every process start and exit, and container start and stop: the activity log.")
    var events = false

    @Option(help: ArgumentHelp("Event source: auto (connector, else polling), connector, or poll.", valueName: "SOURCE"))
    var source: String?

    @Option(help: ArgumentHelp("How often the poll source walks the cgroup tree (default 250ms).", valueName: "DURATION"))
    var pollInterval: String?

    @Option(help: ArgumentHelp("With the connector, how often the process table is checked against /proc (default 30s).", valueName: "DURATION"))
    var resyncInterval: String?

    @Option(
        help: ArgumentHelp(
            "Where lines go, repeatable: stdout, file:PATH, syslog (/dev/log), syslog:unix:PATH, syslog:udp://HOST:PORT, syslog:tcp://HOST:PORT (default stdout).",
            valueName: "SPEC"))
    var output: [String] = []

    @Option(help: ArgumentHelp("Syslog facility of syslog outputs (default authpriv).", valueName: "NAME"))
    var syslogFacility: String?

    @Option(help: ArgumentHelp("Configuration file ([watch], [alerts], [fork_storm], [baseline], [rule NAME]; see the README).", valueName: "FILE"))
    var config: String?

    @OptionGroup var baselines: BaselineDirectoryOption

    @Option(help: ArgumentHelp("How long a new workload is learned before its baseline locks (default 1h; 0: no learning).", valueName: "DURATION"))
    var learnFor: String?

    func validate() throws {
        for spec in output {
            do { _ = try OutputSpec.parse(spec) } catch { throw ValidationError("\(error)") }
        }
        if let syslogFacility, SyslogFacility(name: syslogFacility) == nil {
            throw ValidationError(
                "--syslog-facility must be one of \(SyslogFacility.allCases.map(\.rawValue).joined(separator: ", ")), not '\(syslogFacility)'")
        }
        if let format, LineFormat(rawValue: format) == nil { throw ValidationError("--format must be json or text, not '\(format)'") }
        if let source, EventSourceChoice(rawValue: source) == nil {
            throw ValidationError("--source must be auto, connector or poll, not '\(source)'")
        }
        if let learnFor, DurationParser.nanoseconds(learnFor) == nil {
            throw ValidationError("--learn-for must be a duration such as 1h, 10m or 90s, or 0 (no learning), not '\(learnFor)'")
        }
        for (flag, value) in [("--poll-interval", pollInterval), ("--resync-interval", resyncInterval)] {
            guard let value else { continue }
            guard let nanoseconds = DurationParser.nanoseconds(value), nanoseconds >= 10_000_000 else {
                throw ValidationError("\(flag) must be a duration of at least 10ms such as 250ms, 30s or 10m, not '\(value)'")
            }
        }
    }

    /// Applies the command-line flags over a configuration (at start and on every reload).
    func apply(_ configuration: inout WatchConfiguration) {
        if events { configuration.events = true }
        if let source, let choice = EventSourceChoice(rawValue: source) { configuration.source = choice }
        if let pollInterval, let value = DurationParser.nanoseconds(pollInterval) { configuration.pollInterval = value }
        if let resyncInterval, let value = DurationParser.nanoseconds(resyncInterval) { configuration.resyncInterval = value }
        if !output.isEmpty { configuration.outputs = output.compactMap { try? OutputSpec.parse($0) } }
        if let syslogFacility, let facility = SyslogFacility(name: syslogFacility) { configuration.syslogFacility = facility }
        if let directory = baselines.baselineDir { configuration.baselineDirectory = directory }
        if let learnFor, let value = DurationParser.nanoseconds(learnFor) { configuration.learnFor = value }
    }

    func run() throws {
        var configuration = WatchConfiguration()
        if let config {
            do {
                configuration = try ConfigurationFile.load(config)
            } catch {
                throw badInput(error.description)
            }
        }
        apply(&configuration)
        let lineFormat = format.flatMap(LineFormat.init(rawValue:)) ?? (isatty(1) == 1 ? .text : .json)
        let flags = self
        let agent = Agent(
            paths: node.paths, configuration: configuration, configurationFile: config,
            overrides: { flags.apply(&$0) }, format: lineFormat, outputs: configuration.outputs,
            facility: configuration.syslogFacility)
        do {
            try agent.run()
        } catch {
            throw error.isBadInput ? badInput(error.description) : fail(error.description)
        }
    }
}

struct Learn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learn",
        abstract: "Learn the baselines of the workloads running on this node, write them, and exit.",
        discussion: """
            Follows every container as `vigil watch` does, for --for (or until SIGTERM/SIGINT), adding every \
            process kind, user, capability and peak it sees to its workload's baseline in --baseline-dir, \
            then writes them and prints a summary. Locked baselines are left as they are; baselines already \
            being learned go on from where they were. It raises no alerts. Review with `vigil baseline show` \
            and `vigil baseline diff`, then `vigil baseline lock` (or pass --lock).
            """
    )

    @OptionGroup var node: NodeOptions
    @OptionGroup var baselines: BaselineDirectoryOption

    @Option(name: .customLong("for"), help: ArgumentHelp("How long to learn: 10m, 1h, 90s.", valueName: "DURATION"))
    var duration: String

    @Flag(help: "Lock the baselines at the end.")
    var lock = false

    @Option(help: ArgumentHelp("Event source: auto (connector, else polling), connector, or poll.", valueName: "SOURCE"))
    var source: String?

    @Option(help: ArgumentHelp("Where status lines go (as `vigil watch --output`; default stdout).", valueName: "SPEC"))
    var output: [String] = []

    func validate() throws {
        guard let nanoseconds = DurationParser.nanoseconds(duration), nanoseconds > 0 else {
            throw ValidationError("--for must be a duration such as 10m, 1h or 90s, not '\(duration)'")
        }
        if let source, EventSourceChoice(rawValue: source) == nil {
            throw ValidationError("--source must be auto, connector or poll, not '\(source)'")
        }
        for spec in output {
            do { _ = try OutputSpec.parse(spec) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        var configuration = WatchConfiguration()
        if let directory = baselines.baselineDir { configuration.baselineDirectory = directory }
        if let source, let choice = EventSourceChoice(rawValue: source) { configuration.source = choice }
        let outputs = output.compactMap { try? OutputSpec.parse($0) }
        let agent = Agent(
            mode: .learn(duration: DurationParser.nanoseconds(duration)!, lock: lock), paths: node.paths,
            configuration: configuration, configurationFile: nil, overrides: { _ in }, format: isatty(1) == 1 ? .text : .json,
            outputs: outputs, facility: configuration.syslogFacility)
        do {
            try agent.run()
        } catch {
            throw error.isBadInput ? badInput(error.description) : fail(error.description)
        }
        var summary = "Baselines in \(configuration.baselineDirectory):\n"
        if agent.learnedSummary.isEmpty { summary += "  (none: no container ran while learning)\n" }
        for line in agent.learnedSummary {
            summary += "  \(line.workload)  \(line.state)  \(line.kinds) process kind\(line.kinds == 1 ? "" : "s")  learned \(DurationParser.format(line.learned / 1_000_000_000 * 1_000_000_000))\n"
        }
        FileSystem.writeStandardError(summary)
    }
}
