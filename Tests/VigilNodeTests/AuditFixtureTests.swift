import Testing
import VigilTestSupport
import VigilKernel
import VigilNode

/// The audit collector on a node tree written here: a pure cgroup v2 node with one Docker container
/// (systemd driver), whose limit files, mounts, namespaces and sockets each test sets.
@Suite struct AuditFixtureTests {
    static let id = String(repeating: "c", count: 64)
    static let cgroup = "/system.slice/docker-\(id).scope"
    static let pid: Int32 = 4242

    struct Limits {
        var memory: String? = "67108864"
        var cpu: String? = "50000 100000"
        var pids: String? = "64"
    }

    /// Writes the node and returns its root; the caller removes it.
    static func node(limits: Limits, readOnlyRoot: Bool = true, hostNet: Bool = false, tcp: String = "") throws
        -> String
    {
        let root = try LiveGate.makeTemporaryDirectory("audit-node")
        let directory = "sys/fs/cgroup" + cgroup
        try LiveGate.writeFile(root, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
        try LiveGate.writeFile(root, "sys/fs/cgroup/cgroup.procs", "1\n")
        try LiveGate.writeFile(root, "etc/hostname", "audit-node\n")
        try LiveGate.writeFile(root, directory + "/cgroup.procs", "\(pid)\n")
        try LiveGate.writeFile(root, directory + "/pids.current", "1\n")
        if let memory = limits.memory { try LiveGate.writeFile(root, directory + "/memory.max", memory + "\n") }
        if let cpu = limits.cpu { try LiveGate.writeFile(root, directory + "/cpu.max", cpu + "\n") }
        if let pids = limits.pids { try LiveGate.writeFile(root, directory + "/pids.max", pids + "\n") }
        try LiveGate.writeFile(
            root, "var/lib/docker/containers/\(id)/config.v2.json",
            #"{"ID":"\#(id)","Name":"/fixture","Config":{"Image":"vigil-busybox:latest","Labels":{}},"State":{"Running":true}}"#
        )
        let process = "proc/\(pid)"
        try LiveGate.writeFile(
            root, process + "/stat",
            "\(pid) (sleep) S 50 \(pid) \(pid) 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 900 1839104 200 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        )
        try LiveGate.writeFile(
            root, process + "/status",
            """
            Name:\tsleep
            State:\tS (sleeping)
            Tgid:\t\(pid)
            Pid:\t\(pid)
            PPid:\t50
            Uid:\t1000\t1000\t1000\t1000
            Gid:\t1000\t1000\t1000\t1000
            NSpid:\t\(pid)\t1
            Threads:\t1
            CapInh:\t0000000000000000
            CapPrm:\t0000000000000000
            CapEff:\t0000000000000000
            CapBnd:\t00000000a80425fb
            CapAmb:\t0000000000000000
            NoNewPrivs:\t1
            Seccomp:\t2

            """)
        try LiveGate.writeFile(root, process + "/cmdline", "sleep\u{0}1000\u{0}")
        try LiveGate.writeFile(root, process + "/cgroup", "0::\(cgroup)\n")
        try LiveGate.symlink(root, process + "/exe", to: "/bin/busybox")
        try LiveGate.writeFile(root, process + "/uid_map", "         0          0 4294967295\n")
        try LiveGate.writeFile(
            root, process + "/mountinfo",
            "72 48 0:39 / / \(readOnlyRoot ? "ro" : "rw"),relatime master:2 - overlay overlay rw,lowerdir=/l\n"
                + "73 72 0:42 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n")
        let header =
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        try LiveGate.writeFile(root, process + "/net/tcp", header + tcp)
        // The agent's own namespaces are proc/self/ns in a fixture.
        for (type, inode) in [("pid", 1), ("net", 2), ("ipc", 3), ("uts", 4), ("user", 5)] {
            try LiveGate.symlink(root, "proc/self/ns/\(type)", to: "\(type):[\(4_026_531_000 + inode)]")
            let mine = type == "user" || (type == "net" && hostNet) ? inode : inode + 100
            try LiveGate.symlink(root, process + "/ns/\(type)", to: "\(type):[\(4_026_531_000 + mine)]")
        }
        return root
    }

    static func findings(_ root: String) throws -> [Finding] {
        let report = try AuditCollector.collect(paths: NodePaths(hostRoot: root))
        try #require(report.containers.count == 1, "one container in \(root): \(report.containers.map(\.container.id))")
        #expect(report.containers[0].container.name == "fixture")
        #expect(report.containers[0].initPid == pid)
        return report.containers[0].findings
    }

    @Test("cgroup v2: memory.max, cpu.max and pids.max with numbers are limits; the hardened container has no findings")
    func limitedHasNoFindings() throws {
        let root = try Self.node(limits: Limits())
        defer { LiveGate.removeTree(root) }
        let findings = try Self.findings(root)
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test("cgroup v2: memory.max max, cpu.max \"max 100000\" and pids.max max are no_*_limit with the file as evidence")
    func unlimitedV2() throws {
        let root = try Self.node(limits: Limits(memory: "max", cpu: "max 100000", pids: "max"))
        defer { LiveGate.removeTree(root) }
        let findings = try Self.findings(root)
        #expect(findings.map(\.check) == [.noPidsLimit, .noMemoryLimit, .noCPULimit])
        let directory = root + "/sys/fs/cgroup" + Self.cgroup
        #expect(
            findings.map(\.evidence) == [
                directory + "/pids.max max", directory + "/memory.max max", directory + "/cpu.max max 100000",
            ])
    }

    @Test("cgroup v2: absent limit files (controller not enabled) are no limit")
    func absentV2() throws {
        let root = try Self.node(limits: Limits(memory: nil, cpu: nil, pids: nil))
        defer { LiveGate.removeTree(root) }
        let findings = try Self.findings(root)
        #expect(findings.map(\.check) == [.noPidsLimit, .noMemoryLimit, .noCPULimit])
        #expect(findings.allSatisfy { $0.evidence.hasSuffix(" absent") })
    }

    @Test("a writable root, the host's network namespace and a listener on port 22 are found from the fixture's files")
    func mountsNamespacesAndPorts() throws {
        let listener =
            "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
        let root = try Self.node(limits: Limits(), readOnlyRoot: false, hostNet: true, tcp: listener)
        defer { LiveGate.removeTree(root) }
        let findings = try Self.findings(root)
        #expect(findings.map(\.check) == [.hostNetworkNamespace, .writableRootfs, .privilegedPort])
        #expect(findings.last?.evidence == root + "/proc/\(Self.pid)/net/tcp LISTEN port 22")
    }
}
