public import VigilKernel
public import VigilNode

/// How urgent an alert is: the `priority` field, spelled as Falco spells it, and syslog's severity.
public enum Priority: String, Sendable, CaseIterable, Comparable {
    case emergency = "Emergency"
    case alert = "Alert"
    case critical = "Critical"
    case error = "Error"
    case warning = "Warning"
    case notice = "Notice"
    case informational = "Informational"
    case debug = "Debug"

    /// The syslog severity, 0 (emergency) to 7 (debug), as RFC 5424 numbers them.
    public var syslogSeverity: Int { Priority.allCases.firstIndex(of: self)! }

    /// More urgent first: `.critical < .warning`.
    public static func < (a: Priority, b: Priority) -> Bool { a.syslogSeverity < b.syslogSeverity }

    /// Reads a priority by name, any case (`critical`, `Critical`).
    public init?(name: String) {
        guard let match = Priority.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
            return nil
        }
        self = match
    }
}

/// The rules Vigil raises alerts under (stable snake_case ids).
public enum RuleID: String, Sendable, CaseIterable, Hashable {
    case shellInContainer = "shell_in_container"
    case reverseShell = "reverse_shell"
    case forkStorm = "fork_storm"
    case unexpectedProcess = "unexpected_process"
    case privilegeEscalation = "privilege_escalation"
    case execFromVolatilePath = "exec_from_volatile_path"
    case containerDrift = "container_drift"
    case insecureContainer = "insecure_container"
    case sshdInContainer = "sshd_in_container"
    case packageManagerInContainer = "package_manager_in_container"
    case networkToolInContainer = "network_tool_in_container"
    case privilegeDrift = "privilege_drift"
    case pidsExcess = "pids_excess"
    case forkRateExcess = "fork_rate_excess"

    /// MITRE ATT&CK technique ids and tactic tags.
    public var tags: [String] {
        switch self {
        case .shellInContainer: ["container", "shell", "mitre_execution", "T1059.004"]
        case .reverseShell: ["container", "network", "shell", "mitre_execution", "mitre_command_and_control", "T1059.004", "T1071"]
        case .forkStorm: ["container", "process", "mitre_impact", "T1499"]
        case .unexpectedProcess: ["container", "process", "baseline", "mitre_execution", "T1059"]
        case .privilegeEscalation: ["container", "users", "mitre_privilege_escalation", "T1548", "T1548.001"]
        case .execFromVolatilePath: ["container", "filesystem", "mitre_defense_evasion", "mitre_execution", "T1036", "T1620"]
        case .containerDrift: ["container", "filesystem", "mitre_execution", "mitre_persistence", "T1105"]
        case .insecureContainer: ["container", "posture", "cis", "mitre_privilege_escalation", "T1610", "T1611"]
        case .sshdInContainer: ["container", "network", "mitre_lateral_movement", "T1021.004"]
        case .packageManagerInContainer: ["container", "software_mgmt", "mitre_persistence", "T1072"]
        case .networkToolInContainer: ["container", "network", "mitre_discovery", "mitre_credential_access", "T1046", "T1040"]
        case .privilegeDrift: ["container", "baseline", "users", "mitre_privilege_escalation", "T1548"]
        case .pidsExcess: ["container", "baseline", "process", "mitre_impact", "T1499"]
        case .forkRateExcess: ["container", "baseline", "process", "mitre_impact", "T1499"]
        }
    }

    /// The priority an alert of this rule has unless configured otherwise (a detector may raise it).
    public var defaultPriority: Priority {
        switch self {
        case .shellInContainer: .notice
        case .reverseShell: .critical
        case .forkStorm: .critical
        case .unexpectedProcess: .warning
        case .privilegeEscalation: .critical
        case .execFromVolatilePath: .error
        case .containerDrift: .error
        case .insecureContainer: .warning
        case .sshdInContainer: .warning
        case .packageManagerInContainer: .warning
        case .networkToolInContainer: .warning
        case .privilegeDrift: .error
        case .pidsExcess: .warning
        case .forkRateExcess: .warning
        }
    }
}

/// A value for an alert's own output fields.
public enum FieldValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case strings([String])
    case null
}

/// Something a security team should look at: a rule matched what a container process did.
public struct Alert: Sendable {
    public var rule: RuleID
    public var priority: Priority
    public var time: Timestamp
    /// One human sentence (`output`).
    public var output: String
    public var container: ContainerIdentity?
    public var process: TrackedProcess?
    public var ancestors: [String]
    public var parentExe: ExecutablePath?
    /// Rule-specific fields (`vigil.shell.interactive`, `fd.name`, `vigil.fork_rate`, ...).
    public var fields: [(String, FieldValue)]
    /// How many occurrences this line stands for (`vigil.count`): 1, or a dedup summary's count.
    public var count: UInt64 = 1
    /// A dedup summary: "repeated N times".
    public var isSummary = false
    /// What the rule matched, for deduplication: the shell or tool name, or the executable path for
    /// path rules; the same whatever else could be read of the process.
    public var subject: String = ""

    public init(
        rule: RuleID, priority: Priority, time: Timestamp, output: String, container: ContainerIdentity?,
        process: TrackedProcess? = nil, ancestors: [String] = [], parentExe: ExecutablePath? = nil,
        fields: [(String, FieldValue)] = []
    ) {
        self.rule = rule
        self.priority = priority
        self.time = time
        self.output = output
        self.container = container
        self.process = process
        self.ancestors = ancestors
        self.parentExe = parentExe
        self.fields = fields
    }

    /// What makes two alerts "the same" for deduplication: rule, workload, what the rule matched
    /// (its subject, else the executable), the parent, and the priority (so an interactive shell never
    /// hides among scripted ones).
    public var dedupKey: String {
        let what = subject.isEmpty ? (process.map { $0.exe?.path ?? $0.comm } ?? "") : subject
        return "\(rule.rawValue)|\(container?.workload.rawValue ?? "")|\(what)|\(ancestors.first ?? "")|\(priority.rawValue)"
    }
}
