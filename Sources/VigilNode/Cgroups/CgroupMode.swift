import VigilKernel

/// How a node mounts its cgroups.
public enum CgroupMode: String, Sendable, Equatable {
    /// Pure cgroup v2: the cgroup root is cgroup2.
    case unified
    /// v1 controllers at `<root>/<controller>`, cgroup2 (usually without controllers) at `<root>/unified`.
    case hybrid
    /// v1 only.
    case legacy

    /// Detects the mode from the tree's own files, so it works on a live node and on a fixture alike:
    /// `cgroup.controllers` at the root means unified; in a `unified/` subdirectory, hybrid; else legacy.
    static func detect(_ root: CgroupHierarchy) -> CgroupMode {
        if root.has("/", "cgroup.controllers") { return .unified }
        if root.has("/unified", "cgroup.controllers") { return .hybrid }
        return .legacy
    }
}

/// The hierarchies the inventory reads on a node: where containers and their processes are found, and
/// where PID counters live.
struct CgroupLayout {
    let mode: CgroupMode
    /// Walked for containers; their `cgroup.procs` are united (a hybrid node may hold a container in
    /// only one of them).
    var walked: [CgroupHierarchy]
    /// Index in `walked` of the hierarchy with the pids controller, if any.
    var pidsIndex: Int?

    init(cgroupRoot: String, recorder: (any FileRecorder)?) throws(SystemError) {
        let root = try CgroupHierarchy(root: cgroupRoot, name: "")
        root.recorder = recorder
        let mode = CgroupMode.detect(root)
        self.mode = mode
        var walked: [CgroupHierarchy] = []
        var pidsIndex: Int?
        switch mode {
        case .unified:
            walked.append(root)
            pidsIndex = 0
        case .hybrid, .legacy:
            if mode == .hybrid, let unified = try? CgroupHierarchy(root: NodePaths.join(cgroupRoot, "unified"), name: "unified") {
                unified.recorder = recorder
                walked.append(unified)
            }
            if let pids = try? CgroupHierarchy(root: NodePaths.join(cgroupRoot, "pids"), name: "pids") {
                pids.recorder = recorder
                pidsIndex = walked.count
                walked.append(pids)
            } else if let systemd = try? CgroupHierarchy(root: NodePaths.join(cgroupRoot, "systemd"), name: "systemd") {
                systemd.recorder = recorder
                walked.append(systemd)
            }
        }
        self.walked = walked
        self.pidsIndex = pidsIndex
    }
}
