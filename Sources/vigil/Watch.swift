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

            SIGHUP rereads --config without losing state; SIGTERM and SIGINT flush and exit 0.
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

    @Option(help: ArgumentHelp("Configuration file ([watch], [alerts], [fork_storm], [rule NAME]; see the README).", valueName: "FILE"))
    var config: String?

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
            throw fail(String(describing: error))
        }
    }
}
