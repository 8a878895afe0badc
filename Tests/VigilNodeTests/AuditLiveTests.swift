import Glibc
import Testing
import VigilTestSupport
import VigilJSON
import VigilKernel
import VigilNode

/// `vigil audit` against real Docker containers, each made to fail one check (or none), read from the
/// audit JSON the binary prints.
@Suite(.serialized, LiveGate.needsDocker, LiveGate.needsRoot, .timeLimit(.minutes(5)))
struct AuditLiveTests {
    /// What a default `docker run` deserves on this node: root mapped to the host's root (no userns-remap),
    /// no no-new-privileges, no pids, memory or CPU limit, and a writable root filesystem. Not
    /// added_capabilities (Docker's default set), not seccomp (default profile), not lsm (no LSM here),
    /// no host namespace, no sensitive mount (hosts/hostname/resolv.conf come from /var/lib/docker/containers).
    static let defaults: Set<String> = [
        "run_as_root", "no_new_privileges_unset", "no_pids_limit", "no_memory_limit", "no_cpu_limit", "writable_rootfs",
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        var tag: String
        var options: [String]
        var command: [String] = ["sleep", "1000"]
        /// Another image than the test image.
        var image: String? = nil
        var expected: Set<String>
        var testDescription: String { tag }
    }

    static let dropbearImage = "vigil-dropbear:latest"

    static var cases: [Case] {
        var cases = [
            Case(tag: "default", options: [], expected: defaults),
            Case(
                tag: "hardened",
                options: [
                    "--user", "1000", "--cap-drop", "ALL", "--read-only", "--security-opt", "no-new-privileges",
                    "--pids-limit", "64", "--memory", "64m", "--cpus", "0.5",
                ],
                expected: []),
            Case(
                tag: "nearpriv",
                options: ["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined"],
                expected: defaults.union(["privileged", "seccomp_disabled"])),
            Case(
                tag: "netadmin", options: ["--cap-add", "NET_ADMIN"], expected: defaults.union(["added_capabilities"])),
            Case(tag: "pidhost", options: ["--pid=host"], expected: defaults.union(["host_pid_namespace"])),
            Case(tag: "ipchost", options: ["--ipc=host"], expected: defaults.union(["host_ipc_namespace"])),
            Case(tag: "utshost", options: ["--uts=host"], expected: defaults.union(["host_uts_namespace"])),
            // The host's network namespace: no bridge is made (this machine's network is loopback only).
            Case(tag: "nethost", options: ["--network", "host"], expected: defaults.union(["host_network_namespace"])),
            Case(tag: "etc", options: ["-v", "/etc:/host-etc:ro"], expected: defaults.union(["sensitive_mount"])),
            // 60 binds before it: the host's /etc lies beyond mountinfo's first page (which one read returns).
            Case(
                tag: "manymounts",
                options: (1...60).flatMap { ["-v", "/tmp:/scratch\($0):ro"] } + ["-v", "/etc:/zz-host-etc:ro"],
                expected: defaults.union(["sensitive_mount"])),
            Case(
                tag: "httpd", options: [], command: ["httpd", "-f", "-p", "80"],
                expected: defaults.union(["privileged_port"])),
        ]
        // A real SSH server (dropbear; Scripts/dropbear-image.sh builds the image, as Scripts/test does).
        if LiveGate.isCI || LiveGate.run([LiveGate.dockerClient, "image", "inspect", dropbearImage]).status == 0 {
            cases.append(
                Case(
                    tag: "sshd", options: [], command: ["/usr/sbin/dropbear", "-F", "-E", "-R", "-p", "2222"], image: dropbearImage,
                    expected: defaults.union(["sshd_running"])))
        }
        if access("/var/run/docker.sock", F_OK) == 0 {
            cases.append(
                Case(
                    tag: "sock", options: ["-v", "/var/run/docker.sock:/var/run/docker.sock"],
                    expected: defaults.union(["runtime_socket_mounted"])))
        }
        return cases
    }

    /// The audit JSON's containers by full id, and the whole document.
    static func audit(_ extra: [String] = []) throws -> (LiveGate.Output, JSONValue, [String: JSONValue]) {
        let result = LiveGate.run([try LiveGate.requireVigil(), "audit", "--json"] + extra, timeoutSeconds: 60)
        let document = try JSONParser.parse(result.stdout)
        var byID: [String: JSONValue] = [:]
        for container in document["containers"]?.array ?? [] {
            if let id = container["id"]?.string { byID[id] = container }
        }
        return (result, document, byID)
    }

    static func checks(_ container: JSONValue?) -> Set<String> {
        Set((container?["findings"]?.array ?? []).compactMap { $0["check"]?.string })
    }

    @Test("each container gets exactly the findings its options deserve; --fail-on high and critical exit 3")
    func containersGetTheirFindings() throws {
        try LiveGate.require(LiveGate.dockerAvailable, "a Docker daemon with \(LiveGate.testImage)")
        let docker = DockerHarness(test: "audit")
        defer { docker.removeAll() }
        var started: [(Case, DockerHarness.Running)] = []
        for testCase in Self.cases {
            started.append(
                (testCase, try docker.start(testCase.tag, options: testCase.options, command: testCase.command, image: testCase.image)))
        }
        // httpd binds its port just after it starts: wait until the audit sees every container complete.
        var byID: [String: JSONValue] = [:]
        var document = JSONValue.null
        var output = LiveGate.Output(status: -1, stdout: [], stderr: [])
        _ = LiveGate.waitUntil(seconds: 20) {
            guard let (result, parsed, containers) = try? Self.audit() else { return false }
            (output, document, byID) = (result, parsed, containers)
            return started.allSatisfy { testCase, running in Self.checks(containers[running.id]) == testCase.expected }
        }
        #expect(output.status == 0, "vigil audit --json without --fail-on exits 0: \(output)")
        for (testCase, running) in started {
            let container = byID[running.id]
            try #require(
                container != nil,
                "\(testCase.tag): container \(running.id) not in the audit: \(output.text.prefix(3000))")
            let got = Self.checks(container)
            #expect(
                got == testCase.expected,
                "\(testCase.tag): missing \(testCase.expected.subtracting(got).sorted()), unexpected \(got.subtracting(testCase.expected).sorted()); \(container!)"
            )
            #expect(container?["name"]?.string == running.name)
            #expect(container?["short_id"]?.string == String(running.id.prefix(12)))
            for finding in container?["findings"]?.array ?? [] {
                #expect(
                    ["critical", "high", "medium", "low"].contains(finding["severity"]?.string ?? ""), "\(finding)")
                #expect(!(finding["evidence"]?.string ?? "").isEmpty && !(finding["remediation"]?.string ?? "").isEmpty)
                #expect(finding["cis"] != nil, "cis is present (a string or null): \(finding)")
            }
        }

        // What the findings say for the cases that matter most.
        func finding(_ tag: String, _ check: String) -> JSONValue? {
            guard let running = started.first(where: { $0.0.tag == tag })?.1 else { return nil }
            return byID[running.id]?["findings"]?.array?.first { $0["check"]?.string == check }
        }
        let privileged = finding("nearpriv", "privileged")
        #expect(privileged?["severity"]?.string == "critical")
        #expect(privileged?["cis"]?.string == "5.4")
        #expect(
            privileged?["evidence"]?.string?.contains("SYS_RESOURCE") == true,
            "names what it lacks: \(String(describing: privileged))")
        #expect(finding("netadmin", "added_capabilities")?["evidence"]?.string?.contains("NET_ADMIN") == true)
        #expect(finding("etc", "sensitive_mount")?["evidence"]?.string?.contains("/etc on /host-etc") == true)
        #expect(finding("httpd", "privileged_port")?["evidence"]?.string?.contains("port 80") == true)
        #expect(finding("default", "run_as_root")?["evidence"]?.string?.contains("uid_map 0 0 4294967295") == true)

        // Summary counts agree with the findings listed.
        var counts: [String: Int] = [:]
        for container in document["containers"]?.array ?? [] {
            for finding in container["findings"]?.array ?? [] {
                counts[finding["severity"]?.string ?? "", default: 0] += 1
            }
        }
        #expect(document["summary"]?["containers"]?.int == document["containers"]?.array?.count)
        for severity in ["critical", "high", "medium", "low"] {
            #expect(
                document["summary"]?["findings"]?[severity]?.int == counts[severity, default: 0], "summary \(severity)")
        }
        #expect(document["hostname"]?.string != nil && document["time"]?.string != nil)

        for threshold in ["high", "critical"] {
            let gated = LiveGate.run(
                [try LiveGate.requireVigil(), "audit", "--fail-on", threshold], timeoutSeconds: 60)
            #expect(gated.status == 3, "--fail-on \(threshold) with a near-privileged container: \(gated)")
            #expect(gated.text.contains("privileged"), "the text table lists the finding: \(gated.text.prefix(2000))")
        }
    }

    @Test("a volume mounted with shared propagation is shared_mount_propagation (the host side made a shared mount first)")
    func sharedPropagation() throws {
        try LiveGate.require(LiveGate.dockerAvailable, "a Docker daemon with \(LiveGate.testImage)")
        let source = try LiveGate.makeTemporaryDirectory("shared-mount")
        defer { LiveGate.removeTree(source) }
        // Docker accepts `:shared` only when the source is on a shared mount; the host root here is private.
        let bind = LiveGate.run(["mount", "--bind", source, source])
        try #require(bind.status == 0, "\(bind)")
        defer {
            let unmount = LiveGate.run(["umount", source])
            if unmount.status != 0 { Issue.record("umount \(source): \(unmount)") }
        }
        let shared = LiveGate.run(["mount", "--make-shared", source])
        try #require(shared.status == 0, "\(shared)")
        let docker = DockerHarness(test: "audit-shared")
        defer { docker.removeAll() }
        let running = try docker.start("shared", options: ["-v", "\(source):/data:shared"], command: ["sleep", "1000"])
        let (result, _, byID) = try Self.audit()
        #expect(result.status == 0, "\(result)")
        let container = byID[running.id]
        #expect(Self.checks(container) == Self.defaults.union(["shared_mount_propagation"]), "\(Self.checks(container))")
        let finding = container?["findings"]?.array?.first { $0["check"]?.string == "shared_mount_propagation" }
        #expect(finding?["evidence"]?.string?.contains("/data") == true, "\(String(describing: finding))")
        docker.removeAll()
    }
}

/// `vigil audit` usage and replay of recorded nodes.
@Suite(.timeLimit(.minutes(2)))
struct AuditCLITests {
    static func vigil(_ arguments: [String]) throws -> LiveGate.Output {
        LiveGate.run([try LiveGate.requireVigil()] + arguments, timeoutSeconds: 60)
    }

    @Test("--fail-on with an unknown severity exits 2 naming the choices")
    func badSeverityExitsTwo() throws {
        let result = try Self.vigil(["audit", "--fail-on", "severe"])
        #expect(result.status == 2, "\(result)")
        #expect(result.errorText.contains("critical, high, medium or low"), "\(result.errorText)")
    }

    @Test("vigil audit --json --host-root FIXTURE prints the audit JSON; --fail-on gates on it (3 or 0)")
    func fixtureReplay() throws {
        let root = try #require(LiveGate.packageRoot)
        let fixture = root + "/Fixtures/docker-hybrid-live"
        let result = try Self.vigil(["audit", "--json", "--host-root", fixture])
        #expect(result.status == 0, "\(result)")
        let document = try JSONParser.parse(result.stdout)
        let containers = try #require(document["containers"]?.array)
        #expect(!containers.isEmpty)
        let keys = Set(document.members?.map(\.0) ?? [])
        #expect(keys == ["hostname", "time", "containers", "summary"], "\(keys)")
        for container in containers {
            let containerKeys = Set(container.members?.map(\.0) ?? [])
            #expect(
                containerKeys == ["id", "short_id", "runtime", "name", "image", "workload", "findings"],
                "\(containerKeys)")
            for finding in container["findings"]?.array ?? [] {
                #expect(
                    Set(finding.members?.map(\.0) ?? []) == ["check", "severity", "cis", "evidence", "remediation"])
            }
        }
        let severities = containers.flatMap { $0["findings"]?.array ?? [] }.compactMap { $0["severity"]?.string }
        for (threshold, atOrAbove) in [("critical", ["critical"]), ("low", ["critical", "high", "medium", "low"])] {
            let gated = try Self.vigil(["audit", "--host-root", fixture, "--fail-on", threshold])
            let expected: Int32 = severities.contains(where: atOrAbove.contains) ? 3 : 0
            #expect(gated.status == expected, "--fail-on \(threshold): \(gated)")
        }
    }

    @Test("a node with no containers gates nothing and its summary counts zero")
    func noFindingsGatesNothing() throws {
        let report = AuditReport(hostname: "h", time: Timestamp.now(), containers: [], notApplicable: [])
        #expect(!report.hasFinding(atLeast: .low))
        #expect(
            String(decoding: report.json(indent: 0), as: UTF8.self).contains(
                #""summary":{"containers":0,"findings":{"critical":0,"high":0,"medium":0,"low":0}}"#))
    }
}
