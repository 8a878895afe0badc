public import VigilKernel

/// Everything `vigil ps` reports about a node at one moment.
public struct Inventory: Sendable {
    public var hostname: String
    public var time: Timestamp
    public var cgroupMode: CgroupMode
    /// The kernel's highest capability number (`cap_last_cap`), so "all" means all on this kernel.
    public var lastCapability: Int
    public var containers: [Container]
    /// Host processes grouped by cgroup; only with `--all`.
    public var hostGroups: [HostGroup]?
    public var warnings: [Warning]
}

/// One container and its processes.
public struct Container: Sendable {
    public var id: String
    public var runtime: Runtime
    public var name: String?
    public var image: String?
    public var cgroup: String
    public var kubernetes: KubernetesIdentity?
    public var isSandbox: Bool
    public var labels: [String: String]
    public var workload: WorkloadKey
    public var pids: PidCounters
    /// Processes ordered by pid.
    public var processes: [ProcessRecord]

    /// `id`'s first 12 characters, as Docker shows it.
    public var shortID: String { String(id.prefix(12)) }
}

/// Host processes in one cgroup (a systemd service, a session scope, the root).
public struct HostGroup: Sendable {
    public var cgroup: String
    /// The systemd unit the cgroup is, when it is one (`ssh.service`).
    public var unit: String?
    public var workload: WorkloadKey
    public var processes: [ProcessRecord]
}
