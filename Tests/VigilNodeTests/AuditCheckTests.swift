import Testing
import VigilKernel
import VigilNode

/// Each posture check on constructed inputs: what fires it, what does not, and what it says.
@Suite struct AuditCheckTests {
    static let dockerMounts = """
        72 48 0:39 / / rw,relatime master:2 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
        73 72 0:42 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
        74 72 0:43 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
        75 74 0:44 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666
        76 72 0:45 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
        81 77 0:32 /docker/abc /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
        87 74 0:41 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw
        89 72 254:0 /var/lib/docker/containers/abc/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw
        90 72 254:0 /var/lib/docker/containers/abc/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw
        91 72 254:0 /var/lib/docker/containers/abc/hosts /etc/hosts rw,relatime - ext4 /dev/vda rw
        49 73 0:42 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw
        54 73 0:43 /null /proc/keys rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
        """

    static func mounts(_ text: String) -> [MountEntry] {
        Array((text + "\n").utf8).withParserInput { MountEntry.parse($0) }
    }

    /// A hardened container's posture: nothing should fire.
    static func hardened() -> ContainerPosture {
        var status = ProcStatus()
        status.uid = (1000, 1000, 1000, 1000)
        status.noNewPrivs = true
        status.seccomp = .filter
        status.capabilities.effective = .empty
        var readOnly = mounts(dockerMounts)
        readOnly[0].options = ["ro", "relatime"]
        return ContainerPosture(
            pid: 4242, runtime: .docker, status: status, lastCapability: 40, uidMap: "         0          0 4294967295",
            lsmLabel: nil,
            namespaces: ["pid", "net", "ipc", "uts", "user"].map {
                NamespaceComparison(type: $0, container: 10, host: $0 == "user" ? 10 : 20)
            },
            pids: LimitFile(path: "/sys/fs/cgroup/pids/docker/abc/pids.max", value: "64", isV2: false),
            memory: LimitFile(
                path: "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", value: "67108864", isV2: false),
            cpu: LimitFile(path: "/sys/fs/cgroup/cpu/docker/abc/cpu.cfs_quota_us", value: "50000", isV2: false),
            mounts: readOnly, processNames: [(4242, "sleep")], listening: [])
    }

    static func checks(_ posture: ContainerPosture) -> [String] {
        PostureChecks.evaluate(posture).map(\.check.rawValue)
    }

    @Test("a hardened posture (non-root, no capabilities, nnp, seccomp, limits, read-only root) has no findings")
    func hardenedHasNoFindings() {
        #expect(PostureChecks.evaluate(Self.hardened()).isEmpty, "\(PostureChecks.evaluate(Self.hardened()))")
    }

    @Test("the CIS id of every check is the benchmark's")
    func cisIDs() {
        #expect(PostureCheck.privileged.cis == "5.4")
        #expect(PostureCheck.addedCapabilities.cis == "5.3")
        #expect(PostureCheck.runAsRoot.cis == "4.1")
        #expect(PostureCheck.sensitiveMount.cis == "5.5")
        #expect(PostureCheck.runtimeSocketMounted.cis == "5.31")
        #expect(PostureCheck.privilegedPort.cis == "5.7")
        #expect(PostureCheck.allCases.count == 20)
    }

    @Test("all capabilities but 38-40 and SYS_RESOURCE, with SYS_ADMIN, is privileged and names what it lacks")
    func nearPrivileged() throws {
        var posture = Self.hardened()
        let effective = CapabilitySet.all(upTo: 37).subtracting(CapabilitySet(rawValue: 1 << 24))
        posture.status.capabilities.effective = effective
        let findings = PostureChecks.evaluate(posture)
        let privileged = try #require(findings.first { $0.check == .privileged })
        #expect(privileged.severity == .critical)
        #expect(privileged.evidence.contains("/proc/4242/status CapEff 0000003ffeffffff"), "\(privileged.evidence)")
        #expect(privileged.evidence.contains("SYS_RESOURCE") && privileged.evidence.contains("PERFMON"))
        // Privileged subsumes added capabilities.
        #expect(!findings.contains { $0.check == .addedCapabilities })
    }

    @Test("SYS_ADMIN alone is added, not privileged; the docker default set is neither")
    func addedNotPrivileged() throws {
        var posture = Self.hardened()
        posture.status.capabilities.effective = CapabilitySet.dockerDefault.union(CapabilitySet(rawValue: 1 << 21))
        #expect(Self.checks(posture) == ["added_capabilities"])
        let finding = try #require(PostureChecks.addedCapabilities(posture))
        #expect(finding.evidence.contains("SYS_ADMIN"), "\(finding.evidence)")
        posture.status.capabilities.effective = .dockerDefault
        #expect(Self.checks(posture).isEmpty)
    }

    @Test("CRI-O's default is smaller: Docker's default set is added capabilities under cri-o")
    func crioDefault() {
        var posture = Self.hardened()
        posture.runtime = .crio
        posture.status.capabilities.effective = .dockerDefault
        #expect(Self.checks(posture) == ["added_capabilities"])
        posture.status.capabilities.effective = .crioDefault
        #expect(Self.checks(posture).isEmpty)
    }

    @Test("uid 0 is run_as_root only when it maps to the host's uid 0")
    func runAsRoot() {
        var posture = Self.hardened()
        posture.status.uid = (0, 0, 0, 0)
        #expect(Self.checks(posture) == ["run_as_root"])
        posture.uidMap = "         0     100000      65536"
        #expect(Self.checks(posture).isEmpty)
        #expect(PostureChecks.hostUID(ofRootIn: "0 100000 65536\n") == 100000)
        #expect(PostureChecks.hostUID(ofRootIn: "1000 1000 1\n") == nil)
    }

    @Test("no_new_privs 0 and seccomp 0 are findings")
    func nnpAndSeccomp() {
        var posture = Self.hardened()
        posture.status.noNewPrivs = false
        posture.status.seccomp = .disabled
        #expect(Self.checks(posture) == ["no_new_privileges_unset", "seccomp_disabled"])
    }

    @Test("lsm: unconfined (AppArmor) and spc_t (SELinux) are findings; a profile or no LSM is not")
    func lsm() throws {
        var posture = Self.hardened()
        posture.lsmLabel = "unconfined"
        #expect(try #require(PostureChecks.lsmUnconfined(posture)).cis == "5.1")
        posture.lsmLabel = "system_u:system_r:spc_t:s0"
        #expect(try #require(PostureChecks.lsmUnconfined(posture)).cis == "5.2")
        posture.lsmLabel = "docker-default (enforce)"
        #expect(PostureChecks.lsmUnconfined(posture) == nil)
        posture.lsmLabel = nil
        #expect(PostureChecks.lsmUnconfined(posture) == nil)
    }

    @Test("a namespace equal to the agent's own is a host namespace; the user namespace only when others remap")
    func hostNamespaces() {
        var posture = Self.hardened()
        posture.namespaces = ["pid", "net", "ipc", "uts", "user"].map {
            NamespaceComparison(type: $0, container: 7, host: 7)
        }
        #expect(
            Self.checks(posture) == [
                "host_pid_namespace", "host_network_namespace", "host_ipc_namespace", "host_uts_namespace",
            ])
        posture.userNamespacesInUse = true
        #expect(Self.checks(posture).last == "host_user_namespace")
    }

    @Test("cgroup v2 limits: pids.max, memory.max and cpu.max of max are findings; numbers are not")
    func v2Limits() {
        var posture = Self.hardened()
        posture.pids = LimitFile(path: "/sys/fs/cgroup/x/pids.max", value: "max", isV2: true)
        posture.memory = LimitFile(path: "/sys/fs/cgroup/x/memory.max", value: "max", isV2: true)
        posture.cpu = LimitFile(path: "/sys/fs/cgroup/x/cpu.max", value: "max 100000", isV2: true)
        #expect(Self.checks(posture) == ["no_pids_limit", "no_memory_limit", "no_cpu_limit"])
        posture.pids?.value = "100"
        posture.memory?.value = "67108864"
        posture.cpu?.value = "50000 100000"
        #expect(Self.checks(posture).isEmpty)
    }

    @Test("cgroup v1 limits: an unlimited memory.limit_in_bytes and a cfs quota of -1 are findings; absent files too")
    func v1Limits() throws {
        var posture = Self.hardened()
        posture.memory?.value = "9223372036854771712"
        posture.cpu?.value = "-1"
        #expect(Self.checks(posture) == ["no_memory_limit", "no_cpu_limit"])
        let finding = try #require(PostureChecks.noMemoryLimit(posture))
        #expect(finding.evidence == "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes 9223372036854771712")
        posture.memory = nil
        posture.cpu = LimitFile(path: "/x/cpu.cfs_quota_us", value: nil, isV2: false)
        #expect(Self.checks(posture) == ["no_memory_limit", "no_cpu_limit"])
    }

    @Test("a root mount without ro is writable_rootfs")
    func writableRoot() {
        var posture = Self.hardened()
        posture.mounts = Self.mounts(Self.dockerMounts)
        #expect(Self.checks(posture) == ["writable_rootfs"])
    }

    @Test("Docker's own mounts (hosts, hostname, resolv.conf, proc, masks) are not sensitive")
    func dockerMountsAreNotSensitive() {
        var posture = Self.hardened()
        posture.mounts = Self.mounts(Self.dockerMounts)
        #expect(PostureChecks.sensitiveMounts(posture).isEmpty)
        #expect(PostureChecks.runtimeSockets(posture).isEmpty)
        #expect(PostureChecks.sharedPropagation(posture).isEmpty)
    }

    @Test("host /etc, /, a subdirectory of /etc, host /proc and the whole host /dev are sensitive mounts")
    func sensitiveMounts() {
        var posture = Self.hardened()
        posture.mounts = Self.mounts(
            """
            100 72 254:0 /etc /host-etc ro,relatime - ext4 /dev/vda rw
            101 72 254:0 / /host rw,relatime - ext4 /dev/vda rw
            102 72 254:0 /etc/ssh /ssh rw,relatime - ext4 /dev/vda rw
            103 72 0:5 / /hostproc rw - proc proc rw
            104 72 0:6 / /hostdev rw - devtmpfs udev rw
            105 72 0:6 /fuse /dev/fuse rw - devtmpfs udev rw
            106 72 254:0 /srv/data /data rw,relatime - ext4 /dev/vda rw
            """)
        let findings = PostureChecks.sensitiveMounts(posture)
        #expect(
            findings.map(\.evidence) == [
                "/proc/4242/mountinfo /etc on /host-etc (ext4 ro)", "/proc/4242/mountinfo / on /host (ext4 rw)",
                "/proc/4242/mountinfo /etc/ssh on /ssh (ext4 rw)", "/proc/4242/mountinfo /proc on /hostproc (proc rw)",
                "/proc/4242/mountinfo /dev on /hostdev (devtmpfs rw)",
            ])
        #expect(findings.map(\.severity) == [.high, .critical, .critical, .critical, .critical])
    }

    @Test("docker.sock, containerd.sock, crio.sock and podman.sock mounts are runtime_socket_mounted")
    func runtimeSockets() {
        var posture = Self.hardened()
        posture.mounts = Self.mounts(
            """
            100 72 0:25 /docker.sock /var/run/docker.sock rw - tmpfs tmpfs rw
            101 72 0:25 /containerd/containerd.sock /run/c.sock rw - tmpfs tmpfs rw
            102 72 0:25 /crio/crio.sock /crio.sock rw - tmpfs tmpfs rw
            103 72 0:25 /podman/podman.sock /p rw - tmpfs tmpfs rw
            104 72 0:25 /other.sock /o.sock rw - tmpfs tmpfs rw
            """)
        #expect(PostureChecks.runtimeSockets(posture).count == 4)
        #expect(PostureChecks.runtimeSockets(posture).allSatisfy { $0.severity == .critical })
    }

    @Test("a shared mount is shared_mount_propagation; master (slave) and private are not")
    func sharedPropagation() {
        var posture = Self.hardened()
        posture.mounts = Self.mounts(
            """
            100 72 254:0 /srv /srv rw shared:5 - ext4 /dev/vda rw
            101 72 254:0 /opt /opt rw master:2 - ext4 /dev/vda rw
            """)
        #expect(PostureChecks.sharedPropagation(posture).map(\.evidence) == ["/proc/4242/mountinfo /srv shared:5"])
    }

    @Test("a process named sshd or dropbear is sshd_running; a name that merely starts alike is not")
    func sshd() {
        var posture = Self.hardened()
        posture.processNames = [(10, "sh"), (11, "sshd")]
        #expect(PostureChecks.sshdRunning(posture)?.evidence == "/proc/11/stat comm sshd")
        posture.processNames = [(10, "sh"), (12, "dropbear")]
        #expect(PostureChecks.sshdRunning(posture)?.evidence == "/proc/12/stat comm dropbear")
        posture.processNames = [(10, "sshd-keygen"), (13, "dropbearkey")]
        #expect(PostureChecks.sshdRunning(posture) == nil)
    }

    @Test("LISTEN sockets below 1024 in net/tcp and tcp6 are privileged ports; other states and high ports are not")
    func privilegedPorts() {
        let tcp = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
               1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
               2: 0100007F:0016 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
            """
        #expect(PostureChecks.listeningPorts(tcpTable: tcp) == [80, 8080])
        let tcp6 = """
              sl  local_address                         remote_address                        st
               0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 0
            """
        #expect(PostureChecks.listeningPorts(tcpTable: tcp6) == [443])
        var posture = Self.hardened()
        posture.listening = [
            ListeningPort(file: "/proc/1/net/tcp", port: 80), ListeningPort(file: "/proc/1/net/tcp6", port: 80),
            ListeningPort(file: "/proc/1/net/tcp", port: 8080),
        ]
        #expect(Self.checks(posture) == ["privileged_port"])
    }

    @Test("severities order critical > high > medium > low")
    func severityOrder() {
        #expect(Severity.critical > .high && Severity.high > .medium && Severity.medium > .low)
    }
}
