public import VigilKernel

/// How bad a finding is; ordered so that `.critical > .low`.
public enum Severity: String, Sendable, CaseIterable, Comparable {
    case low, medium, high, critical

    var rank: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        case .critical: 3
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// The check ids of DESIGN.md's "Audit JSON" contract.
public enum PostureCheck: String, Sendable, CaseIterable {
    case privileged
    case addedCapabilities = "added_capabilities"
    case runAsRoot = "run_as_root"
    case noNewPrivilegesUnset = "no_new_privileges_unset"
    case seccompDisabled = "seccomp_disabled"
    case lsmUnconfined = "lsm_unconfined"
    case hostPIDNamespace = "host_pid_namespace"
    case hostNetworkNamespace = "host_network_namespace"
    case hostIPCNamespace = "host_ipc_namespace"
    case hostUTSNamespace = "host_uts_namespace"
    case hostUserNamespace = "host_user_namespace"
    case noPidsLimit = "no_pids_limit"
    case noMemoryLimit = "no_memory_limit"
    case noCPULimit = "no_cpu_limit"
    case writableRootfs = "writable_rootfs"
    case sensitiveMount = "sensitive_mount"
    case runtimeSocketMounted = "runtime_socket_mounted"
    case sharedMountPropagation = "shared_mount_propagation"
    case sshdRunning = "sshd_running"
    case privilegedPort = "privileged_port"

    /// Its CIS Docker Benchmark (runtime section) id; nil where the benchmark has none.
    public var cis: String? {
        switch self {
        case .privileged: "5.4"
        case .addedCapabilities: "5.3"
        case .runAsRoot: "4.1"
        case .noNewPrivilegesUnset: "5.25"
        case .seccompDisabled: "5.21"
        case .lsmUnconfined: "5.1"
        case .hostPIDNamespace: "5.15"
        case .hostNetworkNamespace: "5.9"
        case .hostIPCNamespace: "5.16"
        case .hostUTSNamespace: "5.20"
        case .hostUserNamespace: "5.30"
        case .noPidsLimit: "5.28"
        case .noMemoryLimit: "5.10"
        case .noCPULimit: "5.11"
        case .writableRootfs: "5.12"
        case .sensitiveMount: "5.5"
        case .runtimeSocketMounted: "5.31"
        case .sharedMountPropagation: "5.19"
        case .sshdRunning: "5.6"
        case .privilegedPort: "5.7"
        }
    }
}

/// One practice a container does not follow, with what was read to show it.
public struct Finding: Sendable, Equatable {
    public var check: PostureCheck
    public var severity: Severity
    /// The file read and the value found, such as `/proc/1234/status CapEff 0000003ffeffffff`.
    public var evidence: String
    public var remediation: String

    /// The CIS Docker Benchmark id; the check's own unless the finding names a more precise one.
    public var cis: String?

    public init(check: PostureCheck, severity: Severity, evidence: String, remediation: String, cis: String? = nil) {
        self.check = check
        self.severity = severity
        self.cis = cis ?? check.cis
        self.evidence = evidence
        self.remediation = remediation
    }
}

/// A container and its findings.
public struct ContainerAudit: Sendable {
    public var container: Container
    /// The process the checks were evaluated on: the container's init (namespace pid 1), else its lowest pid.
    public var initPid: Int32
    public var findings: [Finding]
}

/// Everything `vigil audit` reports about a node.
public struct AuditReport: Sendable {
    public var hostname: String
    public var time: Timestamp
    public var containers: [ContainerAudit]
    /// Checks that cannot apply on this node and why (no LSM active, say); not findings.
    public var notApplicable: [String]

    public init(hostname: String, time: Timestamp, containers: [ContainerAudit], notApplicable: [String] = []) {
        self.hostname = hostname
        self.time = time
        self.containers = containers
        self.notApplicable = notApplicable
    }

    /// Findings at each severity over every container.
    public func count(_ severity: Severity) -> Int {
        containers.reduce(0) { $0 + $1.findings.filter { $0.severity == severity }.count }
    }

    /// True when a finding at or above `threshold` exists (`--fail-on`).
    public func hasFinding(atLeast threshold: Severity) -> Bool {
        containers.contains { $0.findings.contains { $0.severity >= threshold } }
    }
}
