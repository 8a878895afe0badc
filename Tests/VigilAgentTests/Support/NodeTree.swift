import Glibc
import VigilTestSupport
import VigilNode

/// A temporary directory laid out like a node, as the fixtures under Fixtures/ are: `proc/<pid>/{stat,
/// status,cmdline,cgroup,exe}`, a cgroup2 tree at `sys/fs/cgroup` (Docker with the systemd driver:
/// `system.slice/docker-<64hex>.scope/cgroup.procs`) and Docker's `config.v2.json` files. Tests change
/// it between tracker calls to play what the kernel would show.
final class NodeTree {
    let root: String

    init() throws {
        root = try LiveGate.makeTemporaryDirectory("tracker-node")
        try LiveGate.writeFile(root, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
        try LiveGate.writeFile(root, "sys/fs/cgroup/cgroup.procs", "1\n")
        try LiveGate.writeFile(root, "etc/hostname", "tracker-node\n")
        // Host processes above the containers, for ancestry.
        try addProcess(
            pid: 1, ppid: 0, comm: "systemd", args: ["/sbin/init"], exe: "/usr/lib/systemd/systemd", startTime: 1,
            cgroup: "/init.scope")
        try addProcess(
            pid: 50, ppid: 1, comm: "containerd-shim", args: ["/usr/bin/containerd-shim-runc-v2"],
            exe: "/usr/bin/containerd-shim-runc-v2",
            startTime: 500, cgroup: "/system.slice/containerd.service")
    }

    func remove() { LiveGate.removeTree(root) }

    var paths: NodePaths { NodePaths(hostRoot: root) }

    /// A container id: 64 hex digits made from `seed`.
    static func containerID(_ seed: Character) -> String { String(repeating: String(seed), count: 64) }

    /// The cgroup of the Docker container `id` (systemd driver).
    static func cgroup(of id: String) -> String { "/system.slice/docker-\(id).scope" }

    /// A Docker container: its cgroup with `pids` in cgroup.procs, and its config.v2.json.
    func addContainer(_ id: String, name: String, image: String = "vigil-busybox:latest", pids: [Int32]) throws {
        try setProcs(id, pids)
        try LiveGate.writeFile(
            root, "var/lib/docker/containers/\(id)/config.v2.json",
            #"{"ID":"\#(id)","Name":"/\#(name)","Config":{"Image":"\#(image)","Labels":{}},"State":{"Running":true}}"#)
    }

    /// Rewrites the container's cgroup.procs.
    func setProcs(_ id: String, _ pids: [Int32]) throws {
        try LiveGate.writeFile(
            root, "sys/fs/cgroup" + Self.cgroup(of: id) + "/cgroup.procs", pids.map { "\($0)\n" }.joined())
    }

    /// Removes the container's cgroup directory (what Docker does when the container ends).
    func removeContainerCgroup(_ id: String) {
        let directory = root + "/sys/fs/cgroup" + Self.cgroup(of: id)
        unlink(directory + "/cgroup.procs")
        rmdir(directory)
    }

    /// Writes `/proc/<pid>` for a process (replacing what was there).
    func addProcess(
        pid: Int32, ppid: Int32, comm: String, args: [String], exe: String = "/bin/busybox", startTime: UInt64,
        cgroup: String, state: Character = "S", threads: Int = 1, uid: UInt32 = 0, capEff: String = "00000000a80425fb"
    ) throws {
        removeProcess(pid)
        let directory = "proc/\(pid)"
        try LiveGate.writeFile(
            root, directory + "/stat",
            "\(pid) (\(comm)) \(state) \(ppid) \(pid) \(pid) 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 \(threads) 0 \(startTime) 1839104 200 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        )
        try LiveGate.writeFile(
            root, directory + "/status",
            """
            Name:\t\(comm)
            State:\t\(state) (sleeping)
            Tgid:\t\(pid)
            Pid:\t\(pid)
            PPid:\t\(ppid)
            Uid:\t\(uid)\t\(uid)\t\(uid)\t\(uid)
            Gid:\t0\t0\t0\t0
            NSpid:\t\(pid)\t1
            Threads:\t\(threads)
            CapInh:\t0000000000000000
            CapPrm:\t\(capEff)
            CapEff:\t\(capEff)
            CapBnd:\t00000000a80425fb
            CapAmb:\t0000000000000000
            NoNewPrivs:\t0
            Seccomp:\t2

            """)
        try LiveGate.writeFile(root, directory + "/cmdline", args.map { $0 + "\0" }.joined())
        try LiveGate.writeFile(root, directory + "/cgroup", "0::\(cgroup)\n")
        try LiveGate.symlink(root, directory + "/exe", to: exe)
    }

    /// A process in the container `id`.
    func addContainerProcess(
        _ id: String, pid: Int32, ppid: Int32, comm: String, args: [String], startTime: UInt64,
        exe: String = "/bin/busybox"
    ) throws {
        try addProcess(
            pid: pid, ppid: ppid, comm: comm, args: args, exe: exe, startTime: startTime, cgroup: Self.cgroup(of: id))
    }

    /// Removes `/proc/<pid>`: the process is gone.
    func removeProcess(_ pid: Int32) {
        let directory = root + "/proc/\(pid)"
        guard access(directory, F_OK) == 0 else { return }
        for name in LiveGate.listDirectory(directory) { unlink(directory + "/" + name) }
        rmdir(directory)
    }
}
