import Glibc
import Testing
import VigilTestSupport
import VigilJSON
import VigilKernel
import VigilNode

/// `vigil ps` against real Docker containers, each configured the way the hardening guides discuss,
/// checked against what `docker inspect` and the kernel's own /proc files (read here, independently) say.
@Suite(.serialized, LiveGate.needsDocker, .timeLimit(.minutes(5)))
struct DockerInventoryTests {
    // MARK: The containers

    /// One way of running a container, and what Docker promises about it.
    struct Case: Sendable, CustomTestStringConvertible {
        var tag: String
        var options: [String]
        var uid: UInt32 = 0
        /// The effective set Docker grants (before the kernel's last capability is applied).
        var effective: UInt64 = DockerInventoryTests.dockerDefault
        /// The bounding set; the effective one unless the user is not root.
        var bounding: UInt64? = nil
        var noNewPrivs = false
        var seccomp = "filter"
        var pidsLimit: UInt64? = nil
        var hostPID = false
        /// `CapabilitySummary.describe` of the effective set, as `vigil ps` shows it.
        var summary: String

        var testDescription: String { tag }
    }

    static let dockerDefault: UInt64 = 0x0000_0000_a804_25fb
    static let netAdmin: UInt64 = 1 << 12
    static let sysResource: UInt64 = 1 << 24

    /// Docker 20.10's capability list ends at CAP_AUDIT_READ (37): it cannot grant PERFMON, BPF or
    /// CHECKPOINT_RESTORE (38-40), even with `--cap-add ALL`. Newer releases are taken to grant every
    /// capability the kernel has.
    static func dockerKnownCapabilities(serverVersion: String) -> UInt64 {
        let major = Int(serverVersion.prefix(while: { $0.isNumber })) ?? 0
        let last = major >= 23 ? LiveGate.lastCapability : min(37, LiveGate.lastCapability)
        return last >= 63 ? .max : (UInt64(1) << UInt64(last + 1)) - 1
    }

    /// The shell and its two children that every test container runs.
    static let script = "sleep 1000 & sleep 1000 & wait"
    static let command = ["sh", "-c", script]

    static func cases(serverVersion: String) -> [Case] {
        let nearPrivileged = dockerKnownCapabilities(serverVersion: serverVersion) & ~sysResource
        let missing = (0...LiveGate.lastCapability).filter { nearPrivileged & (UInt64(1) << UInt64($0)) == 0 }
        return [
            Case(tag: "default", options: [], summary: "docker default"),
            Case(tag: "user1000", options: ["--user", "1000"], uid: 1000, effective: 0, bounding: dockerDefault,
                 summary: "none"),
            Case(tag: "capdropall", options: ["--cap-drop", "ALL"], effective: 0, summary: "none"),
            Case(tag: "netadmin", options: ["--cap-add", "NET_ADMIN"], effective: dockerDefault | netAdmin,
                 summary: "default +NET_ADMIN"),
            Case(tag: "nearpriv",
                 options: ["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined"],
                 effective: nearPrivileged, seccomp: "disabled",
                 summary: "all " + missing.map { "-" + CapabilityNames.shortName(of: $0) }.joined(separator: " ")),
            Case(tag: "pidslimit", options: ["--pids-limit", "64"], pidsLimit: 64, summary: "docker default"),
            Case(tag: "nnp", options: ["--security-opt", "no-new-privileges"], noNewPrivs: true,
                 summary: "docker default"),
            Case(tag: "pidhost", options: ["--pid=host"], hostPID: true, summary: "docker default"),
        ]
    }

    /// Starts every case's container; the caller removes them with `docker.removeAll()`.
    static func startAll(_ docker: DockerHarness) throws -> [(Case, DockerHarness.Running)] {
        try LiveGate.require(LiveGate.dockerAvailable, "a Docker daemon with \(LiveGate.testImage)")
        let version = docker.serverVersion()
        var started: [(Case, DockerHarness.Running)] = []
        for testCase in cases(serverVersion: version) {
            let running = try docker.start(testCase.tag, options: testCase.options, command: command, children: 2)
            started.append((testCase, running))
        }
        return started
    }

    // MARK: What Vigil reported, from the library or from the JSON

    struct SeenProcess: Equatable, CustomStringConvertible {
        var pid: Int32
        var ppid: Int32
        var name: String
        var exe: String?
        var cmdline: [String]
        var uid: UInt32
        var euid: UInt32
        var gid: UInt32
        /// effective, permitted, bounding, inheritable, ambient.
        var caps: [String: [String]]
        var noNewPrivs: Bool
        var seccomp: String
        var nsPid: Int32?

        var description: String { "pid \(pid) ppid \(ppid) \(name) \(cmdline)" }
    }

    struct SeenContainer {
        var id: String
        var shortID: String
        var runtime: String
        var name: String?
        var image: String?
        var cgroup: String
        var hasKubernetes: Bool
        var workload: String
        var pidsCurrent: UInt64?
        var pidsMax: UInt64?
        var eventsMax: UInt64?
        var processes: [SeenProcess]
    }

    static let capabilitySetNames = ["effective", "permitted", "bounding", "inheritable", "ambient"]

    static func seen(_ container: Container) -> SeenContainer {
        SeenContainer(
            id: container.id, shortID: container.shortID, runtime: container.runtime.rawValue, name: container.name,
            image: container.image, cgroup: container.cgroup, hasKubernetes: container.kubernetes != nil,
            workload: container.workload.rawValue, pidsCurrent: container.pids.current, pidsMax: container.pids.max,
            eventsMax: container.pids.eventsMax,
            processes: container.processes.map { process in
                let sets = process.status.capabilities
                return SeenProcess(
                    pid: process.pid, ppid: process.ppid, name: process.comm, exe: process.exe?.display,
                    cmdline: process.cmdline, uid: process.status.uid.real, euid: process.status.uid.effective,
                    gid: process.status.gid.real,
                    caps: [
                        "effective": sets.effective.names, "permitted": sets.permitted.names,
                        "bounding": sets.bounding.names, "inheritable": sets.inheritable.names,
                        "ambient": sets.ambient.names,
                    ],
                    noNewPrivs: process.status.noNewPrivs, seccomp: process.status.seccomp.rawValue,
                    nsPid: process.status.namespacePids.last)
            })
    }

    static func seen(json container: JSONValue) throws -> SeenContainer {
        func uint(_ value: JSONValue?) -> UInt64? { value?.int.flatMap { $0 >= 0 ? UInt64($0) : nil } }
        let pids = try #require(container["pids"])
        var processes: [SeenProcess] = []
        for process in try #require(container["processes"]?.array) {
            var caps: [String: [String]] = [:]
            for set in capabilitySetNames {
                caps[set] = try #require(process["caps"]?[set]?.array).compactMap(\.string)
            }
            processes.append(
                SeenProcess(
                    pid: Int32(try #require(process["pid"]?.int)), ppid: Int32(try #require(process["ppid"]?.int)),
                    name: try #require(process["name"]?.string), exe: process["exe"]?.string,
                    cmdline: try #require(process["cmdline"]?.array).compactMap(\.string),
                    uid: UInt32(try #require(process["uid"]?.int)), euid: UInt32(try #require(process["euid"]?.int)),
                    gid: UInt32(try #require(process["gid"]?.int)), caps: caps,
                    noNewPrivs: try #require(process["no_new_privs"]?.bool as Bool?),
                    seccomp: try #require(process["seccomp"]?.string),
                    nsPid: process["ns_pid"]?.int.map { Int32($0) }))
        }
        return SeenContainer(
            id: try #require(container["id"]?.string), shortID: try #require(container["short_id"]?.string),
            runtime: try #require(container["runtime"]?.string), name: container["name"]?.string,
            image: container["image"]?.string, cgroup: try #require(container["cgroup"]?.string),
            hasKubernetes: !(container["k8s"]?.isNull ?? true), workload: try #require(container["workload"]?.string),
            pidsCurrent: uint(pids["current"]), pidsMax: uint(pids["max"]), eventsMax: uint(pids["events_max"]),
            processes: processes)
    }

    /// `image:<image>` as the workload key names a plain Docker container of the test image.
    static var expectedWorkload: String {
        var image = LiveGate.testImage
        if image.hasPrefix("docker.io/library/") { image = String(image.dropFirst("docker.io/library/".count)) }
        if !(image.split(separator: "/").last ?? "").contains(":") { image += ":latest" }
        return "image:" + image
    }

    // MARK: The checks

    /// Checks what Vigil reported about one container against `docker inspect`, Docker's documented
    /// behaviour for the case, and /proc read here.
    static func verify(_ seen: SeenContainer, _ truth: DockerHarness.Running, _ testCase: Case, via: String) {
        let label = "\(via) \(testCase.tag)"
        #expect(seen.id == truth.id, "\(label): id")
        #expect(seen.shortID == String(truth.id.prefix(12)), "\(label): short id")
        #expect(seen.runtime == "docker", "\(label): runtime")
        #expect(seen.name == truth.name, "\(label): name")
        #expect(seen.image == truth.image, "\(label): image (Config.Image)")
        #expect(truth.image == LiveGate.testImage)
        #expect(!seen.hasKubernetes, "\(label): a plain Docker container has no k8s identity")
        #expect(seen.workload == expectedWorkload, "\(label): workload key")

        // The cgroup names the container and holds its first process in some hierarchy.
        #expect(seen.cgroup.contains(truth.id), "\(label): cgroup \(seen.cgroup) does not name the container")
        let initPaths = DockerHarness.cgroupPaths(of: truth.pid)
        #expect(
            initPaths.contains { $0 == seen.cgroup || $0.hasPrefix(seen.cgroup + "/") },
            "\(label): cgroup \(seen.cgroup) is not one of /proc/\(truth.pid)/cgroup's \(initPaths)")

        // PID counters: the kernel's files, Docker's limit.
        let current = DockerHarness.pidsFile(of: truth.pid, "pids.current").flatMap { UInt64($0) }
        let maxText = DockerHarness.pidsFile(of: truth.pid, "pids.max")
        #expect(seen.pidsCurrent == current, "\(label): pids.current")
        #expect(seen.pidsCurrent == 3, "\(label): sh and two sleeps are 3 tasks")
        #expect(seen.pidsMax == truth.pidsLimit, "\(label): pids.max against HostConfig.PidsLimit")
        #expect(seen.pidsMax == testCase.pidsLimit, "\(label): pids.max against --pids-limit")
        if let maxText { #expect(seen.pidsMax == UInt64(maxText), "\(label): pids.max against the file (\(maxText))") }
        #expect(seen.eventsMax == 0, "\(label): no fork was refused")

        // The process tree: the shell and its two sleeps, and nothing else.
        let children = LiveGate.children(of: truth.pid)
        let expectedPids = ([truth.pid] + children).sorted()
        #expect(seen.processes.map(\.pid).sorted() == expectedPids, "\(label): processes \(seen.processes)")
        let inside = Set(expectedPids)
        for process in seen.processes {
            let isInit = process.pid == truth.pid
            let who = "\(label) pid \(process.pid)"
            if isInit {
                #expect(process.name == "sh", "\(who): name")
                #expect(process.cmdline == command, "\(who): cmdline")
                #expect(!inside.contains(process.ppid), "\(who): the first process's parent is outside the container")
                #expect(LiveGate.comm(process.ppid)?.hasPrefix("containerd-shim") == true,
                        "\(who): parent \(process.ppid) is \(LiveGate.comm(process.ppid) ?? "?"), not the shim")
            } else {
                #expect(process.name == "sleep", "\(who): name")
                #expect(process.cmdline == ["sleep", "1000"], "\(who): cmdline")
                #expect(process.ppid == truth.pid, "\(who): the shell is the parent of both sleeps")
            }
            // busybox applets all run /bin/busybox.
            #expect(process.exe == "/bin/busybox", "\(who): exe")
            if let nsPid = process.nsPid {
                if testCase.hostPID {
                    #expect(nsPid == process.pid, "\(who): --pid=host shares the host's pid numbers")
                } else if isInit {
                    #expect(nsPid == 1, "\(who): the first process is pid 1 in its namespace")
                } else {
                    #expect(nsPid != process.pid, "\(who): a private pid namespace renumbers")
                }
            }

            // /proc/PID/status, read here.
            guard let status = LiveGate.procStatus(process.pid) else {
                Issue.record("\(who): /proc/\(process.pid)/status unreadable")
                continue
            }
            #expect(process.ppid == status.ppid, "\(who): ppid against /proc")
            #expect(process.uid == status.uid[0], "\(who): uid against /proc")
            #expect(process.euid == status.uid[1], "\(who): euid against /proc")
            #expect(process.gid == status.gid[0], "\(who): gid against /proc")
            let masks = [
                "effective": status.capEff, "permitted": status.capPrm, "bounding": status.capBnd,
                "inheritable": status.capInh, "ambient": status.capAmb,
            ]
            for set in capabilitySetNames {
                #expect(process.caps[set] == LiveGate.capabilityNames(masks[set]!), "\(who): \(set) capabilities")
            }
            #expect(process.noNewPrivs == status.noNewPrivs, "\(who): no_new_privs against /proc")
            #expect(process.seccomp == status.seccompName, "\(who): seccomp against /proc")

            // What Docker promises for this configuration.
            #expect(process.uid == testCase.uid && process.euid == testCase.uid, "\(who): --user")
            let kernel = CapabilitySet.all(upTo: LiveGate.lastCapability).rawValue
            let effective = testCase.effective & kernel
            #expect(process.caps["effective"] == LiveGate.capabilityNames(effective), "\(who): Docker's effective set")
            #expect(
                process.caps["bounding"] == LiveGate.capabilityNames((testCase.bounding ?? testCase.effective) & kernel),
                "\(who): Docker's bounding set")
            #expect(process.caps["ambient"] == [], "\(who): no ambient capabilities")
            #expect(process.noNewPrivs == testCase.noNewPrivs, "\(who): no-new-privileges")
            #expect(process.seccomp == testCase.seccomp, "\(who): seccomp profile")
        }
    }

    // MARK: Tests

    @Test("the library's inventory agrees with docker inspect and /proc for every container configuration")
    func libraryInventoryAgreesWithDockerAndProc() throws {
        let docker = DockerHarness(test: "lib")
        defer { docker.removeAll() }
        let started = try Self.startAll(docker)

        let inventory = try InventoryCollector.collect(paths: NodePaths(), includeHost: false)
        #expect(inventory.lastCapability == LiveGate.lastCapability, "cap_last_cap")
        let expectedMode = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
            ? CgroupMode.unified : access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0 ? .hybrid : .legacy
        #expect(inventory.cgroupMode == expectedMode)

        for (testCase, truth) in started {
            let matches = inventory.containers.filter { $0.id == truth.id }
            guard let container = matches.first, matches.count == 1 else {
                Issue.record("\(testCase.tag): container \(truth.id) listed \(matches.count) times in the inventory")
                continue
            }
            Self.verify(Self.seen(container), truth, testCase, via: "library")

            // The summary `vigil ps` shows in its CAPS column, for every process of the container.
            for process in container.processes {
                let summary = CapabilitySummary.describe(
                    process.status.capabilities.effective, runtime: container.runtime,
                    lastCapability: inventory.lastCapability)
                #expect(summary == testCase.summary, "\(testCase.tag) pid \(process.pid): capability summary")
            }
        }

        // The summaries named in the design, spelled out for this kernel and Docker 20.10.
        let byTag = Dictionary(uniqueKeysWithValues: Self.cases(serverVersion: docker.serverVersion()).map { ($0.tag, $0) })
        #expect(byTag["default"]?.summary == "docker default")
        #expect(byTag["capdropall"]?.summary == "none")
        #expect(byTag["user1000"]?.summary == "none")
        #expect(byTag["netadmin"]?.summary == "default +NET_ADMIN")
        if LiveGate.lastCapability == 40 && docker.serverVersion().hasPrefix("20.") {
            #expect(byTag["nearpriv"]?.summary == "all -SYS_RESOURCE -PERFMON -BPF -CHECKPOINT_RESTORE")
        }
    }

    @Test("vigil ps --json agrees with docker inspect and /proc for every container configuration")
    func psJSONAgreesWithDockerAndProc() throws {
        let vigil = try LiveGate.requireVigil()
        let docker = DockerHarness(test: "json")
        defer { docker.removeAll() }
        let started = try Self.startAll(docker)

        let result = LiveGate.run([vigil, "ps", "--json"])
        try #require(result.status == 0, "vigil ps --json: \(result)")
        let document = try JSONParser.parse(result.stdout)
        InventoryJSONContract.check(document, label: "vigil ps --json")
        let containers = try #require(document["containers"]?.array)
        for (testCase, truth) in started {
            let matches = containers.filter { $0["id"]?.string == truth.id }
            guard let container = matches.first, matches.count == 1 else {
                Issue.record("\(testCase.tag): container \(truth.id) listed \(matches.count) times in the JSON")
                continue
            }
            Self.verify(try Self.seen(json: container), truth, testCase, via: "json")
        }
    }

    @Test("vigil ps lists every running container with its process tree and capability summary")
    func psTextListsEveryContainer() throws {
        let vigil = try LiveGate.requireVigil()
        let docker = DockerHarness(test: "text")
        defer { docker.removeAll() }
        let started = try Self.startAll(docker)

        let before = docker.runningIDs()
        let result = LiveGate.run([vigil, "ps"])
        let after = docker.runningIDs()
        try #require(result.status == 0, "vigil ps: \(result)")
        let blocks = Self.blocks(result.text)
        let heading = try #require(blocks.first?.first)
        let runtimes = ["docker", "containerd", "cri-o", "podman", "lxc", "systemd-nspawn"]
        let containerBlocks = blocks.dropFirst().filter { block in
            runtimes.contains { block.first?.hasPrefix($0 + "  ") == true }
        }
        #expect(
            heading.contains(": \(containerBlocks.count) container"),
            "the heading \"\(heading)\" counts the \(containerBlocks.count) blocks")

        // Every container running both before and after `vigil ps` is listed.
        let listedShortIDs = Set(containerBlocks.compactMap { $0.first?.split(separator: " ").dropFirst().first.map(String.init) })
        for id in before.intersection(after) {
            #expect(listedShortIDs.contains(String(id.prefix(12))), "running container \(id.prefix(12)) is not listed")
        }

        for (testCase, truth) in started {
            let short = String(truth.id.prefix(12))
            let limit = testCase.pidsLimit.map(String.init) ?? "unlimited"
            let header = "docker  \(short)  \(truth.name)  (\(truth.image))  pids 3/\(limit)"
            let matching = containerBlocks.filter { $0.first?.hasPrefix("docker  \(short)  ") == true }
            guard let lines = matching.first, matching.count == 1 else {
                Issue.record("\(testCase.tag): \(matching.count) blocks for \(short) in:\n\(result.text)")
                continue
            }
            let block = lines.joined(separator: "\n")
            #expect(lines.first == header, "\(testCase.tag): header")
            #expect(lines.contains { $0.hasPrefix("  workload \(Self.expectedWorkload)  cgroup ") }, "\(testCase.tag): workload line")
            guard let tableStart = lines.firstIndex(where: { $0.hasPrefix("  PID ") }) else {
                Issue.record("\(testCase.tag): no process table in\n\(block)")
                continue
            }
            let rows = lines[(tableStart + 1)...].map(Self.cells)
            #expect(rows.count == 3, "\(testCase.tag): three process rows in\n\(block)")
            let user = "\(testCase.uid)"
            let nnp = testCase.noNewPrivs ? "yes" : "no"
            let children = LiveGate.children(of: truth.pid)
            for row in rows {
                guard row.count >= 7, let pid = Int32(row[0]) else {
                    Issue.record("\(testCase.tag): malformed row \(row)")
                    continue
                }
                #expect(row[2] == user, "\(testCase.tag) \(pid): USER")
                #expect(row[3] == testCase.summary, "\(testCase.tag) \(pid): CAPS")
                #expect(row[4] == nnp, "\(testCase.tag) \(pid): NNP")
                #expect(row[5] == testCase.seccomp, "\(testCase.tag) \(pid): SECCOMP")
                let commandCell = row[6]
                if pid == truth.pid {
                    #expect(commandCell == "sh -c \"\(Self.script)\"", "\(testCase.tag): the shell's command")
                    #expect(row == rows.first!, "\(testCase.tag): the shell comes first, as the root of the tree")
                } else {
                    #expect(children.contains(pid), "\(testCase.tag): pid \(pid) is not a child of the shell")
                    #expect(row[1] == "\(truth.pid)", "\(testCase.tag) \(pid): PPID")
                    let branch = row == rows.last! ? "└─ " : "├─ "
                    #expect(commandCell == branch + "sleep 1000", "\(testCase.tag) \(pid): tree branch and command")
                }
                // argv[0] (sh, sleep) differs from the executable's name: the executable is shown too.
                #expect(row.last == "[/bin/busybox]", "\(testCase.tag) \(pid): executable shown")
            }
        }
    }

    @Test("vigil record, replayed with vigil ps --json and vigil audit --json --host-root, gives the recorded inventory and audit")
    func recordThenReplayGivesTheRecordedInventory() throws {
        let vigil = try LiveGate.requireVigil()
        let docker = DockerHarness(test: "record")
        defer { docker.removeAll() }
        let started = try Self.startAll(docker)
        let directory = try LiveGate.makeTemporaryDirectory("record-test")
        defer { LiveGate.removeTree(directory) }
        let fixture = directory + "/node"

        let recording = LiveGate.run([vigil, "record", "--out", fixture])
        try #require(recording.status == 0, "vigil record: \(recording)")
        #expect(recording.text.hasPrefix("recorded "), "vigil record says what it recorded: \(recording.text)")
        let expectedBytes = try #require(LiveGate.readFile(fixture + "/expected-ps.json"), "no expected-ps.json")
        let expected = try JSONParser.parse(expectedBytes)

        let replay = LiveGate.run([vigil, "ps", "--json", "--host-root", fixture])
        try #require(replay.status == 0, "vigil ps --host-root \(fixture): \(replay)")
        let replayed = try JSONParser.parse(replay.stdout)
        InventoryJSONContract.check(replayed, label: "replay")

        let a = JSONComparison.removing("time", from: expected)
        let b = JSONComparison.removing("time", from: replayed)
        #expect(a == b, "the replay differs from the recording: \(JSONComparison.firstDifference(a, b) ?? "?")")

        // The recording is not vacuous: it holds this test's containers, as they are.
        let recorded = try #require(expected["containers"]?.array)
        for (testCase, truth) in started {
            guard let container = recorded.first(where: { $0["id"]?.string == truth.id }) else {
                Issue.record("\(testCase.tag): \(truth.id) is not in the recording")
                continue
            }
            #expect(container["name"]?.string == truth.name)
            #expect(container["processes"]?.array?.count == 3, "\(testCase.tag): three processes recorded")
        }
        #expect(expected["hostname"]?.string == replayed["hostname"]?.string)

        // The audit replays too: limits, uid maps, namespaces and sockets were recorded, so the findings
        // from the recording are the node's own.
        let expectedAudit = try JSONParser.parse(try #require(LiveGate.readFile(fixture + "/expected-audit.json"), "no expected-audit.json"))
        let auditReplay = LiveGate.run([vigil, "audit", "--json", "--host-root", fixture])
        try #require(auditReplay.status == 0, "vigil audit --host-root \(fixture): \(auditReplay)")
        // Evidence names the files read: under the fixture in the replay, under / when recorded.
        let replayedAudit = try JSONParser.parse(Array(String(decoding: auditReplay.stdout, as: UTF8.self).replacingAll(fixture, with: "").utf8))
        let x = JSONComparison.removing("time", from: expectedAudit)
        let y = JSONComparison.removing("time", from: replayedAudit)
        #expect(x == y, "the audit replay differs from the recording: \(JSONComparison.firstDifference(x, y) ?? "?")")
        let live = try JSONParser.parse(LiveGate.run([vigil, "audit", "--json"]).stdout)
        func checks(_ document: JSONValue, _ id: String) -> [String]? {
            document["containers"]?.array?.first { $0["id"]?.string == id }?["findings"]?.array?.compactMap { $0["check"]?.string }.sorted()
        }
        for (testCase, truth) in started {
            let recordedChecks = checks(replayedAudit, truth.id)
            #expect(recordedChecks != nil && recordedChecks == checks(live, truth.id), "\(testCase.tag): replayed \(recordedChecks ?? []), live \(checks(live, truth.id) ?? [])")
        }
    }

    @Test("a container at its PID limit shows the forks the kernel refused, as pids.events counts them")
    func refusedForksAreCounted() throws {
        let vigil = try LiveGate.requireVigil()
        let docker = DockerHarness(test: "pidsmax")
        defer { docker.removeAll() }
        try LiveGate.require(LiveGate.dockerAvailable, "a Docker daemon with \(LiveGate.testImage)")
        let busyboxPaths: [String] = ["/bin/busybox", "/usr/bin/busybox"]
        let busybox = try #require(busyboxPaths.first { access($0, X_OK) == 0 }, "no busybox on the host")

        // sh, sleep and httpd: three tasks, the limit. busybox httpd forks per connection and, when the
        // fork fails, closes the connection and goes on serving.
        let running = try docker.start(
            "limit", options: ["--pids-limit", "3"],
            command: ["sh", "-c", "sleep 1000 & httpd -f -p 127.0.0.1:8080 & wait"], children: 1)
        let listening = LiveGate.waitUntil(seconds: 10) {
            // 127.0.0.1:8080 in LISTEN state (0A) in the container's own network namespace.
            (LiveGate.readText("/proc/\(running.pid)/net/tcp") ?? "").split(separator: "\n").contains {
                $0.contains("0100007F:1F90") && $0.split(separator: " ").dropFirst(3).first == "0A"
            }
        }
        try #require(listening, "httpd did not listen on 127.0.0.1:8080 in container \(running.name)")
        #expect(DockerHarness.pidsFile(of: running.pid, "pids.events") == "max 0")

        // Three connections over the container's loopback, from its network namespace: three refused forks.
        let refused = 3
        for _ in 0..<refused {
            let connection = LiveGate.run(
                ["nsenter", "-t", "\(running.pid)", "-n", busybox, "nc", "-w", "2", "127.0.0.1", "8080"],
                timeoutSeconds: 10)
            #expect(connection.status == 0, "nc over the container's loopback: \(connection)")
        }
        let events = DockerHarness.pidsFile(of: running.pid, "pids.events")
        try #require(events == "max \(refused)", "the kernel counted \(events ?? "nothing"), not \(refused) refused forks")

        let inventory = try InventoryCollector.collect(paths: NodePaths(), includeHost: false)
        let container = try #require(inventory.containers.first { $0.id == running.id })
        #expect(container.pids.current == 3)
        #expect(container.pids.max == 3)
        #expect(container.pids.eventsMax == UInt64(refused))
        #expect(container.processes.map(\.comm).sorted() == ["httpd", "sh", "sleep"])

        let text = LiveGate.run([vigil, "ps"])
        #expect(text.status == 0, "\(text)")
        let header = "docker  \(running.id.prefix(12))  \(running.name)  (\(running.image))  pids 3/3 (\(refused) forks refused)"
        #expect(text.text.split(separator: "\n").contains { $0 == header }, "no line \"\(header)\" in:\n\(text.text)")
    }

    /// The lines of `text` in groups separated by empty lines.
    static func blocks(_ text: String) -> [[String]] {
        var groups: [[String]] = [[]]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty {
                if !(groups.last?.isEmpty ?? true) { groups.append([]) }
            } else {
                groups[groups.count - 1].append(String(line))
            }
        }
        return groups.filter { !$0.isEmpty }
    }

    /// A text table row split into its cells: columns are separated by two or more spaces; the command
    /// (the rest) is split into the command and a trailing `[exe]`.
    static func cells(_ row: String) -> [String] {
        var cells: [String] = []
        var current = ""
        var spaces = 0
        for character in row.drop(while: { $0 == " " }) {
            if character == " " {
                spaces += 1
                continue
            }
            if spaces >= 2, !current.isEmpty, cells.count < 6 || character == "[" {
                cells.append(current)
                current = ""
            } else if spaces > 0 {
                current += String(repeating: " ", count: spaces)
            }
            spaces = 0
            current.append(character)
        }
        if !current.isEmpty { cells.append(current) }
        return cells
    }
}
