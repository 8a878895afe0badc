public import VigilKernel

/// Builds the audit: takes the inventory, reads what the checks need for each container's init from
/// /proc and the cgroup tree, and evaluates `PostureChecks`.
public enum AuditCollector {
    /// - Parameters:
    ///   - only: audit just these containers (by cgroup), as the agent does when one starts.
    ///   - recorder: receives a copy of every file read (`vigil record`), so an audit replays.
    public static func collect(paths: NodePaths, only: Set<String>? = nil) throws(InventoryError) -> AuditReport {
        try audit(InventoryCollector.collect(paths: paths, parallelReads: true, only: only), paths: paths)
    }

    /// Audits the containers of an inventory already taken, reading only what the checks add to it.
    /// - Parameter recorder: receives a copy of every file read (`vigil record`), so an audit replays.
    public static func audit(
        _ inventory: Inventory, paths: NodePaths, recorder: (any FileRecorder)? = nil
    ) throws(InventoryError) -> AuditReport {
        var proc: ProcReader
        do {
            proc = try ProcReader(root: paths.procRoot)
        } catch {
            throw InventoryError(description: "cannot read processes: \(error) (set --proc-root?)")
        }
        proc.recorder = recorder
        let mode = inventory.cgroupMode
        let hierarchies = LimitHierarchies(cgroupRoot: paths.cgroupRoot, mode: mode, recorder: recorder)
        let types = ["pid", "net", "ipc", "uts", "user"]
        var own: [String: UInt64] = [:]
        for type in types { own[type] = proc.namespace(pid: 0, type)?.inode }

        var postures: [(Container, ContainerPosture)] = []
        for container in inventory.containers where !container.isSandbox {
            guard let initProcess = initProcess(of: container) else { continue }
            let pid = initProcess.pid
            var namespaces: [NamespaceComparison] = []
            for type in types {
                guard let mine = proc.namespace(pid: pid, type)?.inode, let host = own[type] else { continue }
                namespaces.append(NamespaceComparison(type: type, container: mine, host: host))
            }
            var listening: [ListeningPort] = []
            for table in ["tcp", "tcp6"] {
                let file = "\(pid)/net/\(table)"
                guard let text = proc.readValue(file) else { continue }
                for port in PostureChecks.listeningPorts(tcpTable: text) {
                    listening.append(ListeningPort(file: NodePaths.join(paths.procRoot, file), port: port))
                }
            }
            let cgroups = proc.readCgroups(pid: pid) ?? []
            var posture = ContainerPosture(
                pid: pid, runtime: container.runtime, status: initProcess.status,
                lastCapability: inventory.lastCapability, uidMap: proc.readValue("\(pid)/uid_map"),
                lsmLabel: proc.readValue("\(pid)/attr/current").map { $0.trimmingNUL() },
                namespaces: namespaces, userNamespacesInUse: false,
                pids: hierarchies.pids(cgroups: cgroups, fallback: container.cgroup),
                memory: hierarchies.memory(cgroups: cgroups, fallback: container.cgroup),
                cpu: hierarchies.cpu(cgroups: cgroups, fallback: container.cgroup),
                mounts: proc.readMounts(pid: pid) ?? [],
                processNames: container.processes.map { ($0.pid, $0.comm) }, listening: listening)
            posture.procRoot = paths.procRoot
            postures.append((container, posture))
        }
        // User namespaces are in use when any container has one of its own.
        let userNamespaces = postures.contains { _, posture in
            posture.namespaces.contains { $0.type == "user" && $0.container != $0.host }
        }
        let audits = postures.map { container, posture in
            var posture = posture
            posture.userNamespacesInUse = userNamespaces
            return ContainerAudit(container: container, initPid: posture.pid, findings: PostureChecks.evaluate(posture))
        }
        var notApplicable: [String] = []
        if !postures.isEmpty && postures.allSatisfy({ $0.1.lsmLabel == nil }) {
            notApplicable.append(
                "lsm_unconfined: no LSM answers /proc/PID/attr/current on this node (no AppArmor or SELinux)")
        }
        return AuditReport(
            hostname: inventory.hostname, time: inventory.time, containers: audits, notApplicable: notApplicable)
    }

    /// The container's init: the process that is pid 1 in its own pid namespace, else its lowest pid.
    static func initProcess(of container: Container) -> ProcessRecord? {
        container.processes.first { $0.status.namespacePids.last == 1 } ?? container.processes.min { $0.pid < $1.pid }
    }
}

/// Where memory and CPU limits are read: cgroup v2 files in the unified tree, or v1 controller hierarchies.
struct LimitHierarchies {
    let cgroupRoot: String
    let mode: CgroupMode
    var recorder: (any FileRecorder)?

    /// The directory of v1 `controller` (`cpu` may be mounted as `cpu,cpuacct`).
    func v1Directory(_ controller: String) -> String? {
        let candidates = controller == "cpu" ? ["cpu,cpuacct", "cpu", "cpuacct,cpu"] : [controller]
        return candidates.map { NodePaths.join(cgroupRoot, $0) }.first { FileSystem.exists($0) }
    }

    /// The container's path in the hierarchy holding `controller`, from /proc/PID/cgroup.
    func path(controller: String, cgroups: [CgroupMembership], fallback: String) -> String {
        if mode == .unified {
            return cgroups.first { $0.hierarchy == 0 }?.path ?? fallback
        }
        return cgroups.first { $0.controllers.contains(controller) }?.path ?? fallback
    }

    func read(directory: String, path: String, file: String) -> (String, String?) {
        let full = NodePaths.join(NodePaths.join(directory, path), file)
        // Named as the hierarchy's directory under the cgroup root, so a recording lays it out the same.
        let name = directory.hasPrefix(cgroupRoot) ? String(directory.dropFirst(cgroupRoot.count).drop { $0 == "/" }) : ""
        guard let hierarchy = try? CgroupHierarchy(root: directory, name: name) else { return (full, nil) }
        hierarchy.recorder = recorder
        return (full, hierarchy.value(path, file))
    }

    func pids(cgroups: [CgroupMembership], fallback: String) -> LimitFile? {
        limit(controller: "pids", v2File: "pids.max", v1File: "pids.max", cgroups: cgroups, fallback: fallback)
    }

    func memory(cgroups: [CgroupMembership], fallback: String) -> LimitFile? {
        limit(
            controller: "memory", v2File: "memory.max", v1File: "memory.limit_in_bytes", cgroups: cgroups,
            fallback: fallback)
    }

    func cpu(cgroups: [CgroupMembership], fallback: String) -> LimitFile? {
        limit(controller: "cpu", v2File: "cpu.max", v1File: "cpu.cfs_quota_us", cgroups: cgroups, fallback: fallback)
    }

    func limit(controller: String, v2File: String, v1File: String, cgroups: [CgroupMembership], fallback: String)
        -> LimitFile?
    {
        let path = path(controller: controller, cgroups: cgroups, fallback: fallback)
        if mode == .unified {
            let (full, value) = read(directory: cgroupRoot, path: path, file: v2File)
            return LimitFile(path: full, value: value, isV2: true)
        }
        guard let directory = v1Directory(controller) else { return nil }
        let (full, value) = read(directory: directory, path: path, file: v1File)
        return LimitFile(path: full, value: value, isV2: false)
    }
}

extension String {
    /// Without the trailing NUL some LSMs write after the label.
    func trimmingNUL() -> String {
        var text = self
        while text.last == "\0" { text.removeLast() }
        return text
    }
}
