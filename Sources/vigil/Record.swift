import ArgumentParser
import VigilKernel
import VigilNode

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Capture this node's container files into a fixture directory that `vigil ps` and `vigil audit` replay.",
        discussion: """
            Copies every file `vigil ps` and `vigil audit` read (the containers' /proc files, namespaces, \
            uid maps, sockets, the cgroup files and limits, runtime metadata) into DIR, laid out like a host \
            root, and writes DIR/expected-ps.json and DIR/expected-audit.json, the inventory and the audit \
            taken from those same files. `vigil ps --json --host-root DIR` and `vigil audit --json --host-root \
            DIR` then print the same (but for their time). Attach DIR to a bug report: it holds command lines of container processes, \
            and with --all of host processes too.
            """
    )

    @OptionGroup var node: NodeOptions

    @Option(help: ArgumentHelp("The fixture directory to create (must not exist or be empty).", valueName: "DIR"))
    var out: String

    @Flag(help: "Also capture host processes (for `vigil ps --all`).")
    var all = false

    func validate() throws {
        if FileSystem.exists(out), !FileSystem.isEmptyDirectory(out) {
            throw ValidationError("--out \(out): exists and is not an empty directory")
        }
    }

    func run() throws {
        let paths = node.paths
        let recorder = NodeRecorder(output: out, paths: paths)
        do {
            try FileSystem.makeDirectories(out)
        } catch {
            throw fail(error.description)
        }
        let inventory: Inventory
        do {
            inventory = try InventoryCollector.collect(paths: paths, includeHost: all, recorder: recorder)
        } catch {
            throw fail(error)
        }
        for warning in inventory.warnings {
            FileSystem.writeStandardError("vigil: warning: \(warning)\n")
        }
        recorder.recordHostname(inventory.hostname)
        let audit: AuditReport
        do {
            // From the inventory just recorded, so both expected files describe the same recorded files.
            audit = try AuditCollector.audit(inventory, paths: paths, recorder: recorder)
        } catch {
            throw fail(error)
        }
        do {
            try FileSystem.writeFile(NodePaths.join(out, all ? "expected-ps-all.json" : "expected-ps.json"), inventory.json())
            try FileSystem.writeFile(NodePaths.join(out, "expected-audit.json"), audit.json())
        } catch {
            throw fail(error.description)
        }
        if let failure = recorder.failure {
            throw fail("recording was incomplete: \(failure)")
        }
        let processes = inventory.containers.reduce(0) { $0 + $1.processes.count }
        print("recorded \(inventory.containers.count) containers, \(processes) processes into \(out)")
    }
}
