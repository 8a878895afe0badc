import ArgumentParser
import Glibc
import VigilKernel
import VigilNode

@main
struct Vigil: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "An eBPF-free runtime monitor for container processes.",
        discussion: """
            Vigil reads only what the kernel already publishes (/proc, cgroup files) to show what runs in \
            every container on this node, whatever its runtime: Docker, containerd and Kubernetes, CRI-O, \
            Podman, LXC, systemd-nspawn.

            Exit status: 0 success; 1 runtime failure; 2 bad usage or bad input; 3 audit findings (or \
            baseline differences with --exit-code).
            """,
        subcommands: [PS.self, Watch.self, Learn.self, BaselineCommand.self, Audit.self, Record.self]
    )

    /// Runs the command line, mapping ArgumentParser's usage errors to exit status 2.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                Glibc.exit(0)
            }
            if !message.isEmpty { FileSystem.writeStandardError("vigil: " + message + "\n") }
            if code == .validationFailure { Glibc.exit(2) }
            Glibc.exit(code.rawValue)
        }
    }
}

/// The options every command takes: where the node's files are seen.
struct NodeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Where the host's filesystem is seen (runtime state such as var/lib/docker).", valueName: "DIR"))
    var hostRoot: String = "/"

    @Option(name: .long, help: ArgumentHelp("The host's /proc (default: <host-root>/proc).", valueName: "DIR"))
    var procRoot: String?

    @Option(name: .long, help: ArgumentHelp("The host's cgroup tree (default: <host-root>/sys/fs/cgroup).", valueName: "DIR"))
    var cgroupRoot: String?

    var paths: NodePaths { NodePaths(hostRoot: hostRoot, procRoot: procRoot, cgroupRoot: cgroupRoot) }

    func validate() throws {
        for (flag, path) in [("--host-root", hostRoot), ("--proc-root", procRoot), ("--cgroup-root", cgroupRoot)] {
            guard let path else { continue }
            if !FileSystem.exists(path) { throw ValidationError("\(flag) \(path): no such directory") }
            if (try? FileDescriptor.openDirectory(path)) == nil {
                throw ValidationError("\(flag) \(path): not a directory")
            }
        }
    }
}

/// A failure while running a command (exit status 1), with a message for the user.
struct RuntimeFailure: Error, CustomStringConvertible {
    var description: String
}

extension ParsableCommand {
    func fail(_ message: String) -> ExitCode {
        FileSystem.writeStandardError("vigil: \(message)\n")
        return ExitCode.failure
    }

    /// Bad input named on the command line (exit status 2).
    func badInput(_ message: String) -> ExitCode {
        FileSystem.writeStandardError("vigil: \(message)\n")
        return ExitCode(2)
    }

    /// The exit for an inventory failure: 2 when the user pointed at something that is not a node tree.
    func fail(_ error: InventoryError) -> ExitCode {
        error.isBadInput ? badInput(error.description) : fail(error.description)
    }
}
