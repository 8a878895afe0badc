import ArgumentParser
import Glibc
import VigilKernel
import VigilNode

struct PS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ps",
        abstract: "Show every container on the node with its processes, PID count and capabilities.",
        discussion: """
            For each container: runtime, short id, name, image, Kubernetes namespace/pod/container, PID count \
            against its limit, and its process tree with user, effective capabilities, no_new_privs, seccomp \
            mode and command line. Metadata comes from the runtimes' files on disk; no runtime socket is used.

            Replay a fixture or a node captured with `vigil record`: vigil ps --host-root DIR
            """
    )

    @OptionGroup var node: NodeOptions

    @Flag(help: "Print the inventory as JSON.")
    var json = false

    @Flag(help: "Also show host processes and systemd services, grouped by cgroup.")
    var all = false

    func run() throws {
        let inventory: Inventory
        do {
            inventory = try InventoryCollector.collect(paths: node.paths, includeHost: all)
        } catch {
            throw fail(error)
        }
        if json {
            // Indented for a person at a terminal, one compact line for a pipe or a file.
            inventory.writeJSON(indent: isatty(1) == 1 ? 2 : 0) { FileSystem.writeStandardOutput($0) }
        } else {
            FileSystem.writeStandardOutput(Array(inventory.text().utf8))
        }
        for warning in inventory.warnings where json {
            FileSystem.writeStandardError("vigil: warning: \(warning)\n")
        }
    }
}
