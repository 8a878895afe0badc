public import VigilKernel

/// A cgroup control file read for a limit: where, and its trimmed text (nil when absent).
public struct LimitFile: Sendable, Equatable {
    public var path: String
    public var value: String?
    /// cgroup v2 (`memory.max`, `cpu.max`) rather than v1 (`memory.limit_in_bytes`, `cpu.cfs_quota_us`).
    public var isV2: Bool

    public init(path: String, value: String?, isV2: Bool) {
        self.path = path
        self.value = value
        self.isV2 = isV2
    }
}

/// A namespace of the container's init compared with the agent's own.
public struct NamespaceComparison: Sendable, Equatable {
    /// `pid`, `net`, `ipc`, `uts` or `user`.
    public var type: String
    public var container: UInt64
    public var host: UInt64

    public init(type: String, container: UInt64, host: UInt64) {
        self.type = type
        self.container = container
        self.host = host
    }
}

/// A listening TCP socket: the file it was read from and its local port.
public struct ListeningPort: Sendable, Equatable {
    public var file: String
    public var port: Int

    public init(file: String, port: Int) {
        self.file = file
        self.port = port
    }
}

/// Everything the posture checks look at for one container, read once from /proc and cgroup files.
/// Every check is a pure function of it, so each can be tested on constructed values.
public struct ContainerPosture: Sendable {
    /// The container's init as the host (the /proc root) numbers it.
    public var pid: Int32
    /// Where /proc was read (`/proc`, or a fixture's), for evidence.
    public var procRoot = "/proc"
    public var runtime: Runtime
    public var status: ProcStatus
    /// `cap_last_cap` of the kernel.
    public var lastCapability: Int
    /// `/proc/PID/uid_map`; nil when unreadable.
    public var uidMap: String?
    /// `/proc/PID/attr/current`; nil when no LSM answers (EINVAL) or the file is absent: not applicable.
    public var lsmLabel: String?
    public var namespaces: [NamespaceComparison]
    /// Whether some container on this node has a user namespace of its own (user namespaces are in use).
    public var userNamespacesInUse: Bool
    /// `pids.max` of the container's cgroup (v1 pids hierarchy or cgroup v2).
    public var pids: LimitFile?
    public var memory: LimitFile?
    public var cpu: LimitFile?
    public var mounts: [MountEntry]
    /// `comm` of every process in the container.
    public var processNames: [(pid: Int32, name: String)]
    public var listening: [ListeningPort]

    public init(
        pid: Int32, runtime: Runtime, status: ProcStatus, lastCapability: Int, uidMap: String? = nil,
        lsmLabel: String? = nil, namespaces: [NamespaceComparison] = [], userNamespacesInUse: Bool = false,
        pids: LimitFile? = nil, memory: LimitFile? = nil, cpu: LimitFile? = nil,
        mounts: [MountEntry] = [], processNames: [(pid: Int32, name: String)] = [], listening: [ListeningPort] = []
    ) {
        self.pid = pid
        self.runtime = runtime
        self.status = status
        self.lastCapability = lastCapability
        self.uidMap = uidMap
        self.lsmLabel = lsmLabel
        self.namespaces = namespaces
        self.userNamespacesInUse = userNamespacesInUse
        self.pids = pids
        self.memory = memory
        self.cpu = cpu
        self.mounts = mounts
        self.processNames = processNames
        self.listening = listening
    }
}

/// The runtime posture checks (CIS Docker Benchmark section 5 and the usual hardening lists).
public enum PostureChecks {
    /// A container lacking at most this many of the kernel's capabilities (and holding CAP_SYS_ADMIN) is
    /// privileged in effect: Docker 20.10 cannot grant capabilities 38-40 even with --privileged.
    static let privilegedSlack = 5
    static let sysAdmin = 21

    /// Every check, in the contract's order.
    public static func evaluate(_ posture: ContainerPosture) -> [Finding] {
        var findings: [Finding] = []
        let isPrivileged = privileged(posture)
        if let isPrivileged { findings.append(isPrivileged) }
        // A privileged container has every capability: listing them again as "added" says nothing new.
        if isPrivileged == nil, let finding = addedCapabilities(posture) { findings.append(finding) }
        let singles: [(ContainerPosture) -> Finding?] = [
            runAsRoot, noNewPrivilegesUnset, seccompDisabled, lsmUnconfined,
        ]
        findings += singles.compactMap { $0(posture) }
        findings += hostNamespaces(posture)
        findings += [noPidsLimit(posture), noMemoryLimit(posture), noCPULimit(posture), writableRootfs(posture)]
            .compactMap { $0 }
        findings += sensitiveMounts(posture)
        findings += runtimeSockets(posture)
        findings += sharedPropagation(posture)
        findings += [sshdRunning(posture)].compactMap { $0 }
        findings += privilegedPorts(posture)
        return findings
    }

    static func statusEvidence(_ posture: ContainerPosture, _ field: String, _ value: String) -> String {
        "\(posture.procRoot)/\(posture.pid)/status \(field) \(value)"
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    static func shortNames(_ set: CapabilitySet) -> String {
        set.numbers.map { CapabilityNames.shortName(of: $0) }.joined(separator: ", ")
    }

    // MARK: Capabilities and confinement

    public static func privileged(_ posture: ContainerPosture) -> Finding? {
        let effective = posture.status.capabilities.effective
        guard effective.contains(sysAdmin) else { return nil }
        let missing = CapabilitySet.all(upTo: posture.lastCapability).subtracting(effective)
        guard missing.count <= privilegedSlack else { return nil }
        let lacking = missing.isEmpty ? "every capability" : "every capability but \(shortNames(missing))"
        return Finding(
            check: .privileged, severity: .critical,
            evidence: statusEvidence(posture, "CapEff", hex16(effective.rawValue)) + " (\(lacking))",
            remediation: "drop --privileged (and --cap-add ALL); add only the capabilities needed with --cap-add")
    }

    /// The capabilities the container's runtime grants by default.
    public static func defaultCapabilities(_ runtime: Runtime) -> CapabilitySet {
        runtime == .crio ? .crioDefault : .dockerDefault
    }

    public static func addedCapabilities(_ posture: ContainerPosture) -> Finding? {
        let effective = posture.status.capabilities.effective
        let added = effective.subtracting(defaultCapabilities(posture.runtime))
        guard !added.isEmpty else { return nil }
        return Finding(
            check: .addedCapabilities, severity: .high,
            evidence: statusEvidence(posture, "CapEff", hex16(effective.rawValue))
                + " (beyond the \(posture.runtime.rawValue) default: \(shortNames(added)))",
            remediation:
                "remove --cap-add \(added.numbers.map { CapabilityNames.shortName(of: $0) }.joined(separator: ",")) unless required; prefer --cap-drop ALL and add back only what is needed"
        )
    }

    /// The host uid that uid 0 in the container maps to, from `uid_map` text; nil when 0 is unmapped.
    public static func hostUID(ofRootIn uidMap: String) -> UInt64? {
        for line in uidMap.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 3, let inside = UInt64(fields[0]), let outside = UInt64(fields[1]),
                let count = UInt64(fields[2])
            else { continue }
            if inside == 0 && count > 0 { return outside }
        }
        return nil
    }

    public static func runAsRoot(_ posture: ContainerPosture) -> Finding? {
        guard posture.status.uid.effective == 0 else { return nil }
        var evidence = statusEvidence(posture, "Uid", "\(posture.status.uid.real) \(posture.status.uid.effective)")
        if let map = posture.uidMap {
            guard hostUID(ofRootIn: map) == 0 else { return nil }
            let first = map.split(separator: "\n").first.map { $0.split(separator: " ").joined(separator: " ") } ?? ""
            evidence += "; /proc/\(posture.pid)/uid_map \(first)"
        } else {
            evidence += "; /proc/\(posture.pid)/uid_map unreadable (taken as the host's)"
        }
        return Finding(
            check: .runAsRoot, severity: .medium, evidence: evidence,
            remediation:
                "run as an unprivileged user (USER in the image, or --user UID:GID), or remap root with user namespaces (userns-remap)"
        )
    }

    public static func noNewPrivilegesUnset(_ posture: ContainerPosture) -> Finding? {
        guard !posture.status.noNewPrivs else { return nil }
        return Finding(
            check: .noNewPrivilegesUnset, severity: .low, evidence: statusEvidence(posture, "NoNewPrivs", "0"),
            remediation: "run with --security-opt no-new-privileges (Kubernetes: allowPrivilegeEscalation: false)")
    }

    public static func seccompDisabled(_ posture: ContainerPosture) -> Finding? {
        guard posture.status.seccomp == .disabled else { return nil }
        return Finding(
            check: .seccompDisabled, severity: .high, evidence: statusEvidence(posture, "Seccomp", "0"),
            remediation:
                "remove --security-opt seccomp=unconfined; use the runtime's default profile or a custom one (Kubernetes: seccompProfile RuntimeDefault)"
        )
    }

    public static func lsmUnconfined(_ posture: ContainerPosture) -> Finding? {
        guard let label = posture.lsmLabel else { return nil }
        let selinuxUnconfined = label.contains(":unconfined_t:") || label.contains(":spc_t:")
        guard label == "unconfined" || selinuxUnconfined else { return nil }
        return Finding(
            check: .lsmUnconfined, severity: .medium,
            evidence: "\(posture.procRoot)/\(posture.pid)/attr/current \(label)",
            remediation: selinuxUnconfined
                ? "remove --security-opt label=disable; run with the container_t SELinux type"
                : "remove --security-opt apparmor=unconfined; run with docker-default or a custom AppArmor profile",
            cis: selinuxUnconfined ? "5.2" : "5.1")
    }

    // MARK: Namespaces

    public static func hostNamespaces(_ posture: ContainerPosture) -> [Finding] {
        posture.namespaces.compactMap { namespace in
            guard namespace.container == namespace.host else { return nil }
            let check: PostureCheck
            let severity: Severity
            let flag: String
            switch namespace.type {
            case "pid": (check, severity, flag) = (.hostPIDNamespace, .high, "--pid=host (hostPID)")
            case "net": (check, severity, flag) = (.hostNetworkNamespace, .high, "--network host (hostNetwork)")
            case "ipc": (check, severity, flag) = (.hostIPCNamespace, .medium, "--ipc=host (hostIPC)")
            case "uts": (check, severity, flag) = (.hostUTSNamespace, .low, "--uts=host")
            case "user":
                // Without user namespaces in use on the node every container shares the host's: that is
                // the runtime's default, and run_as_root already says what it means for root.
                guard posture.userNamespacesInUse else { return nil }
                (check, severity, flag) = (.hostUserNamespace, .medium, "--userns=host")
            default: return nil
            }
            return Finding(
                check: check, severity: severity,
                evidence:
                    "\(posture.procRoot)/\(posture.pid)/ns/\(namespace.type) \(namespace.type):[\(namespace.container)] is the host's (/proc/self/ns/\(namespace.type))",
                remediation: "remove \(flag)")
        }
    }

    // MARK: Limits

    public static func noPidsLimit(_ posture: ContainerPosture) -> Finding? {
        let remediation = "set --pids-limit (Kubernetes: the kubelet's podPidsLimit)"
        guard let file = posture.pids, let value = file.value else {
            return Finding(
                check: .noPidsLimit, severity: .medium, evidence: "\(posture.pids?.path ?? "pids.max") absent",
                remediation: remediation)
        }
        guard value == "max" else { return nil }
        return Finding(check: .noPidsLimit, severity: .medium, evidence: "\(file.path) max", remediation: remediation)
    }

    /// v1 reports "no limit" as a huge page-rounded number (9223372036854771712).
    static let v1Unlimited: UInt64 = 1 << 62

    public static func noMemoryLimit(_ posture: ContainerPosture) -> Finding? {
        let remediation = "set --memory (Kubernetes: resources.limits.memory)"
        guard let file = posture.memory, let value = file.value else {
            return Finding(
                check: .noMemoryLimit, severity: .medium,
                evidence: "\(posture.memory?.path ?? "memory.max / memory.limit_in_bytes") absent",
                remediation: remediation)
        }
        let unlimited = file.isV2 ? value == "max" : (UInt64(value).map { $0 >= v1Unlimited } ?? false)
        guard unlimited else { return nil }
        return Finding(
            check: .noMemoryLimit, severity: .medium, evidence: "\(file.path) \(value)", remediation: remediation)
    }

    public static func noCPULimit(_ posture: ContainerPosture) -> Finding? {
        let remediation = "set --cpus (Kubernetes: resources.limits.cpu)"
        guard let file = posture.cpu, let value = file.value else {
            return Finding(
                check: .noCPULimit, severity: .low,
                evidence: "\(posture.cpu?.path ?? "cpu.max / cpu.cfs_quota_us") absent", remediation: remediation)
        }
        let unlimited = file.isV2 ? value.hasPrefix("max") : value.hasPrefix("-")
        guard unlimited else { return nil }
        return Finding(check: .noCPULimit, severity: .low, evidence: "\(file.path) \(value)", remediation: remediation)
    }

    // MARK: Mounts

    public static func writableRootfs(_ posture: ContainerPosture) -> Finding? {
        // The last mount on "/" is the one the container sees.
        guard let root = posture.mounts.last(where: { $0.mountPoint == "/" }), !root.isReadOnly else { return nil }
        return Finding(
            check: .writableRootfs, severity: .low,
            evidence: "\(posture.procRoot)/\(posture.pid)/mountinfo / \(root.options.joined(separator: ","))",
            remediation:
                "run with --read-only and mount writable tmpfs or volumes where needed (Kubernetes: readOnlyRootFilesystem: true)"
        )
    }

    /// Host directories whose bind mount into a container gives it the host (CIS 5.5).
    public static let sensitiveDirectories = [
        "/", "/etc", "/proc", "/sys", "/boot", "/dev", "/usr", "/lib", "/var/lib/kubelet", "/var/lib/docker", "/root",
        "/home", "/run", "/var/run",
    ]
    /// Of those, the ones whose subdirectories are sensitive too (not /run, /var/lib/docker, where runtimes
    /// keep per-container files that they bind on purpose).
    static let sensitiveTrees = ["/etc", "/boot", "/usr", "/lib", "/root", "/proc", "/sys"]
    /// Filesystems a runtime makes for the container itself.
    static let containerOwnTypes: Set<String> = [
        "overlay", "aufs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2", "shm", "fuse-overlayfs",
    ]

    /// The host path a mount shows, or nil when it is one the runtime made for the container.
    static func hostSource(_ mount: MountEntry) -> String? {
        var root = mount.root
        if root.hasSuffix("//deleted") { root.removeLast("//deleted".count) }
        switch mount.filesystemType {
        case _ where containerOwnTypes.contains(mount.filesystemType): return nil
        case "proc":
            // The container's own /proc and its masked parts are fine; a proc elsewhere is the host's view.
            return mount.mountPoint == "/proc" || mount.mountPoint.hasPrefix("/proc/") ? nil : "/proc"
        case "sysfs":
            return mount.mountPoint == "/sys" || mount.mountPoint.hasPrefix("/sys/") ? nil : "/sys"
        case "devtmpfs":
            // A single device (--device) is fine; the whole of devtmpfs is the host's /dev.
            return root == "/" ? "/dev" : nil
        default:
            return root
        }
    }

    public static func isSensitive(hostPath path: String) -> Bool {
        if sensitiveDirectories.contains(path) { return true }
        return sensitiveTrees.contains { path.hasPrefix($0 + "/") }
    }

    public static func sensitiveMounts(_ posture: ContainerPosture) -> [Finding] {
        posture.mounts.compactMap { mount in
            guard let source = hostSource(mount), isSensitive(hostPath: source) else { return nil }
            return Finding(
                check: .sensitiveMount, severity: mount.isReadOnly ? .high : .critical,
                evidence:
                    "\(posture.procRoot)/\(posture.pid)/mountinfo \(source) on \(mount.mountPoint) (\(mount.filesystemType) \(mount.isReadOnly ? "ro" : "rw"))",
                remediation:
                    "do not mount the host's \(source) into the container; mount only the files needed, read-only")
        }
    }

    static let runtimeSockets = ["docker.sock", "containerd.sock", "crio.sock", "podman.sock"]

    public static func runtimeSockets(_ posture: ContainerPosture) -> [Finding] {
        posture.mounts.compactMap { mount in
            let hit = runtimeSockets.first { name in
                mount.mountPoint.hasSuffix("/" + name) || mount.root.hasSuffix("/" + name)
            }
            guard let hit else { return nil }
            return Finding(
                check: .runtimeSocketMounted, severity: .critical,
                evidence: "\(posture.procRoot)/\(posture.pid)/mountinfo \(mount.root) on \(mount.mountPoint)",
                remediation: "do not mount \(hit) into a container: it gives root on the host")
        }
    }

    public static func sharedPropagation(_ posture: ContainerPosture) -> [Finding] {
        posture.mounts.compactMap { mount in
            guard let shared = mount.propagation.first(where: { $0.hasPrefix("shared:") }) else { return nil }
            return Finding(
                check: .sharedMountPropagation, severity: .medium,
                evidence: "\(posture.procRoot)/\(posture.pid)/mountinfo \(mount.mountPoint) \(shared)",
                remediation: "mount \(mount.mountPoint) with private or rslave propagation, not shared/rshared")
        }
    }

    // MARK: Processes and sockets

    /// SSH servers by their process name: OpenSSH and dropbear (common in small images).
    public static let sshServers: Set<String> = ["sshd", "dropbear"]

    public static func sshdRunning(_ posture: ContainerPosture) -> Finding? {
        guard let sshd = posture.processNames.first(where: { sshServers.contains($0.name) }) else { return nil }
        return Finding(
            check: .sshdRunning, severity: .medium, evidence: "\(posture.procRoot)/\(sshd.pid)/stat comm \(sshd.name)",
            remediation: "do not run sshd in a container; use docker exec / kubectl exec")
    }

    public static func privilegedPorts(_ posture: ContainerPosture) -> [Finding] {
        var seen = Set<Int>()
        return posture.listening.compactMap { socket in
            guard socket.port < 1024, seen.insert(socket.port).inserted else { return nil }
            return Finding(
                check: .privilegedPort, severity: .low, evidence: "\(socket.file) LISTEN port \(socket.port)",
                remediation: "listen on a port above 1023 and map it with -p HOST:CONTAINER")
        }
    }

    /// Local ports of LISTEN (state 0A) sockets in `/proc/PID/net/tcp` or `tcp6` text.
    public static func listeningPorts(tcpTable text: String) -> [Int] {
        var ports: [Int] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3, fields[3] == "0A", let colon = fields[1].lastIndex(of: ":"),
                let port = Int(fields[1][fields[1].index(after: colon)...], radix: 16)
            else { continue }
            ports.append(port)
        }
        return ports
    }
}
