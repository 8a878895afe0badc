import ArgumentParser
import Glibc
import VigilKernel
import VigilNode

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract:
            "Check every running container's runtime posture (CIS Docker Benchmark section 5) from /proc and cgroups.",
        discussion: """
            For each container, from its init process: privileged or added capabilities, root mapped to the \
            host's root, no_new_privs, seccomp, AppArmor/SELinux, host namespaces, pids/memory/CPU limits, \
            writable root filesystem, sensitive host mounts, runtime sockets, shared mount propagation, sshd, \
            privileged ports. No runtime API is used.

            Exit status: 0 success; 1 runtime failure; 2 bad usage; 3 when --fail-on is given and a finding \
            at or above that severity exists.
            """
    )

    @OptionGroup var node: NodeOptions

    @Flag(help: "Print the audit as JSON.")
    var json = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Exit 3 when a finding at or above this severity exists.", valueName: "critical|high|medium|low"))
    var failOn: String?

    func validate() throws {
        if let failOn, Severity(rawValue: failOn) == nil {
            throw ValidationError("--fail-on \(failOn): expected critical, high, medium or low")
        }
    }

    func run() throws {
        let report: AuditReport
        do {
            report = try AuditCollector.collect(paths: node.paths)
        } catch {
            throw fail(error)
        }
        if json {
            FileSystem.writeStandardOutput(report.json(indent: isatty(1) == 1 ? 2 : 0))
        } else {
            FileSystem.writeStandardOutput(Array(report.text().utf8))
        }
        if let failOn, let threshold = Severity(rawValue: failOn), report.hasFinding(atLeast: threshold) {
            throw ExitCode(3)
        }
    }
}
