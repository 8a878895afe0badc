import Glibc
import Testing
import VigilTestSupport
import VigilJSON
import VigilKernel
import VigilNode

/// Kubernetes pods as the kubelet's systemd cgroup driver lays them out under containerd, made for real
/// in the kernel's cgroup2 hierarchy with live processes in them, and named by a kubelet-style log tree
/// and containerd state under a temporary host root. No kubelet or containerd runs: the cgroups, the
/// processes and the files are what Vigil reads, so they are all it needs.
@Suite(LiveGate.needsCgroupWrite, .timeLimit(.minutes(2)))
struct KubernetesCgroupTests {
    // MARK: The node

    struct Pod {
        var namespace: String
        var name: String
        var uid: String
        /// `burstable`, `besteffort`, or nil for a guaranteed pod (directly under kubepods.slice).
        var qos: String?
        /// The owning workload, as a person reads it from the pod name.
        var owner: String

    }

    /// How the kubelet and containerd name cgroups (DESIGN.md, "Container cgroup layouts").
    enum Layout: String, CaseIterable, CustomTestStringConvertible {
        /// kubelet `--cgroup-driver=systemd`, containerd `SystemdCgroup = true`.
        case systemd
        /// kubelet `--cgroup-driver=cgroupfs`.
        case cgroupfs
        /// containerd without SystemdCgroup under a systemd kubelet: a slice:runtime:id leaf in containerd's service.
        case containerdService

        var testDescription: String { rawValue }

        /// The container's cgroup, relative to the test's parent cgroup.
        func path(_ pod: Pod, containerID id: String) -> String {
            let uid = pod.uid.replacingDashes()
            switch self {
            case .systemd:
                guard let qos = pod.qos else { return "kubepods.slice/kubepods-pod\(uid).slice/cri-containerd-\(id).scope" }
                return "kubepods.slice/kubepods-\(qos).slice/kubepods-\(qos)-pod\(uid).slice/cri-containerd-\(id).scope"
            case .cgroupfs:
                guard let qos = pod.qos else { return "kubepods/pod\(pod.uid)/\(id)" }
                return "kubepods/\(qos)/pod\(pod.uid)/\(id)"
            case .containerdService:
                let slice = pod.qos.map { "kubepods-\($0)-pod\(uid).slice" } ?? "kubepods-pod\(uid).slice"
                return "system.slice/containerd.service/\(slice):cri-containerd:\(id)"
            }
        }
    }

    struct PodContainer {
        var pod: Pod
        /// The Kubernetes container name; `POD` for the sandbox.
        var name: String
        var id: String
        var isSandbox = false
        /// containerd's task state (run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/config.json).
        var hasContainerdState = false
        /// kubelet's log files (var/log/pods/..., var/log/containers/...).
        var hasLogs = true
        var image: String?

        var workload: String { "k8s:\(pod.namespace)/\(pod.owner)/\(name)" }
    }

    /// Cgroups made for one test and the processes put in them; `remove()` undoes everything.
    final class Cgroups {
        let hierarchy: String
        /// A unique parent, so parallel runs (and a real kubelet, if one ran here) never clash.
        let prefix: String
        private var made: [String] = []
        private(set) var sleeps: [pid_t] = []

        /// A temporary host root for the kubelet's and containerd's files; removed with the cgroups.
        let hostRoot: String

        init(hierarchy: String, hostRoot: String) {
            self.hierarchy = hierarchy
            self.hostRoot = hostRoot
            prefix = "/vigil-k8s-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        }

        /// For a live test: needs root and a writable cgroup2 hierarchy (fails under CI without them).
        static func live() throws -> Cgroups {
            try LiveGate.require(LiveGate.cgroupWritable, "root with a writable cgroup2 hierarchy")
            let hierarchy = try #require(LiveGate.unifiedCgroupRoot)
            return Cgroups(hierarchy: hierarchy, hostRoot: try LiveGate.makeTemporaryDirectory("k8s-test"))
        }

        /// Makes `relative` (below the prefix) and its missing parents; returns its path from the root.
        func make(_ relative: String) throws -> String {
            var current = ""
            for component in (prefix + "/" + relative).split(separator: "/") {
                current += "/" + component
                if made.contains(current) { continue }
                guard mkdir(hierarchy + current, 0o755) == 0 else {
                    throw LiveGate.SetupError("mkdir \(hierarchy + current): \(String(cString: strerror(errno)))")
                }
                made.append(current)
            }
            return current
        }

        /// Starts `sleep 300` and moves it into the cgroup at `path` (from the root).
        func startSleep(in path: String) throws -> pid_t { try start(["sleep", "300"], in: path) }

        /// Starts `argv` and moves it into the cgroup at `path` (from the root); with `verify`, checks it is there.
        func start(_ argv: [String], in path: String, verify: Bool = true) throws -> pid_t {
            guard case .success(let pid) = LiveGate.spawn(argv) else {
                throw LiveGate.SetupError("cannot start \(argv)")
            }
            sleeps.append(pid)
            if let failure = LiveGate.writeExisting(hierarchy + path + "/cgroup.procs", "\(pid)\n") {
                throw LiveGate.SetupError("moving \(pid) into \(path): \(String(cString: strerror(failure)))")
            }
            if !verify { return pid }
            let membership = LiveGate.readText("/proc/\(pid)/cgroup") ?? ""
            guard membership.split(separator: "\n").contains(where: { $0.hasPrefix("0::") && $0.hasSuffix(path) }) else {
                throw LiveGate.SetupError("pid \(pid) is not in \(path): \(membership)")
            }
            return pid
        }

        /// Kills and reaps the sleeps (by pid: they are our children), then removes the cgroups deepest first.
        func remove() {
            for pid in sleeps { kill(pid, SIGKILL) }
            for pid in sleeps { LiveGate.wait(for: pid) }
            sleeps = []
            for path in made.reversed() {
                // A killed task can take a moment to leave its cgroup.
                let removed = LiveGate.waitUntil(seconds: 5) { rmdir(hierarchy + path) == 0 || errno == ENOENT }
                if !removed { Issue.record("cannot remove cgroup \(hierarchy + path): \(String(cString: strerror(errno)))") }
            }
            made = []
            if access(hierarchy + prefix, F_OK) == 0 { Issue.record("cgroup \(hierarchy + prefix) left behind") }
            LiveGate.removeTree(hostRoot)
        }
    }

    static func randomHex(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<count).map { _ in digits[Int(generator.next() % 16)] })
    }

    static func randomUID() -> String {
        let hex = randomHex(32)
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), "4" + hex.dropFirst(13).prefix(3),
                     "a" + hex.dropFirst(17).prefix(3), hex.suffix(12)]
        return parts.joined(separator: "-")
    }

    /// Writes the kubelet's log tree and containerd's task state for `containers` under `hostRoot`.
    static func writeHostFiles(_ containers: [PodContainer], under hostRoot: String) throws {
        for container in containers {
            let pod = container.pod
            let podDirectory = "var/log/pods/\(pod.namespace)_\(pod.name)_\(pod.uid)"
            if container.hasLogs {
                let log = "\(podDirectory)/\(container.name)/0.log"
                try LiveGate.writeFile(hostRoot, log, "2026-01-01T00:00:00.000000000Z stdout F started\n")
                // kubelet's links are absolute paths on the host.
                try LiveGate.symlink(
                    hostRoot, "var/log/containers/\(pod.name)_\(pod.namespace)_\(container.name)-\(container.id).log",
                    to: "/" + log)
            } else {
                try LiveGate.makeDirectories(hostRoot, podDirectory)
            }
            if container.hasContainerdState {
                var annotations = [
                    ("io.kubernetes.cri.container-type", container.isSandbox ? "sandbox" : "container"),
                    ("io.kubernetes.cri.sandbox-name", pod.name),
                    ("io.kubernetes.cri.sandbox-namespace", pod.namespace),
                    ("io.kubernetes.cri.sandbox-uid", pod.uid),
                ]
                if !container.isSandbox { annotations.append(("io.kubernetes.cri.container-name", container.name)) }
                if let image = container.image { annotations.append(("io.kubernetes.cri.image-name", image)) }
                let members = annotations.map { "\"\($0.0)\": \"\($0.1)\"" }.joined(separator: ",\n    ")
                let config = """
                    {
                      "ociVersion": "1.1.0",
                      "process": {"user": {"uid": 0, "gid": 0}, "args": ["/pause"], "cwd": "/"},
                      "root": {"path": "rootfs"},
                      "annotations": {
                        \(members)
                      }
                    }

                    """
                try LiveGate.writeFile(
                    hostRoot, "run/containerd/io.containerd.runtime.v2.task/k8s.io/\(container.id)/config.json", config)
            }
        }
    }

    // MARK: Tests

    @Test("pods in every kubelet/containerd cgroup layout appear with their Kubernetes names and workload keys",
          arguments: Layout.allCases)
    func podsAreNamed(_ layout: Layout) throws {
        let cgroups = try Cgroups.live()
        defer { cgroups.remove() }
        let hostRoot = cgroups.hostRoot

        let web = Pod(namespace: "shop", name: "web-7d4b9c8f6d-x2x9k", uid: Self.randomUID(), qos: "burstable", owner: "web")
        let db = Pod(namespace: "data", name: "db-0", uid: Self.randomUID(), qos: nil, owner: "db")
        let containers = [
            PodContainer(pod: web, name: "POD", id: Self.randomHex(64), isSandbox: true, hasContainerdState: true,
                         hasLogs: false, image: "registry.k8s.io/pause:3.9"),
            PodContainer(pod: web, name: "app", id: Self.randomHex(64)),
            PodContainer(pod: web, name: "sidecar", id: Self.randomHex(64), hasContainerdState: true,
                         image: "registry.example/proxy:1.2"),
            PodContainer(pod: db, name: "postgres", id: Self.randomHex(64)),
        ]
        try Self.writeHostFiles(containers, under: hostRoot)

        var cgroupOf: [String: String] = [:]
        var sleepOf: [String: pid_t] = [:]
        for container in containers {
            let path = try cgroups.make(layout.path(container.pod, containerID: container.id))
            cgroupOf[container.id] = path
            sleepOf[container.id] = try cgroups.startSleep(in: path)
        }
        // The layouts are the kubelet's and containerd's, to the letter.
        let (app, postgres) = (containers[1].id, containers[3].id)
        let (webUID, dbUID) = (web.uid.replacingDashes(), db.uid.replacingDashes())
        switch layout {
        case .systemd:
            #expect(cgroupOf[app] == cgroups.prefix + "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(webUID).slice/cri-containerd-\(app).scope")
            #expect(cgroupOf[postgres] == cgroups.prefix + "/kubepods.slice/kubepods-pod\(dbUID).slice/cri-containerd-\(postgres).scope")
        case .cgroupfs:
            #expect(cgroupOf[app] == cgroups.prefix + "/kubepods/burstable/pod\(web.uid)/\(app)")
            #expect(cgroupOf[postgres] == cgroups.prefix + "/kubepods/pod\(db.uid)/\(postgres)")
        case .containerdService:
            #expect(cgroupOf[app] == cgroups.prefix + "/system.slice/containerd.service/kubepods-burstable-pod\(webUID).slice:cri-containerd:\(app)")
            #expect(cgroupOf[postgres] == cgroups.prefix + "/system.slice/containerd.service/kubepods-pod\(dbUID).slice:cri-containerd:\(postgres)")
        }

        let paths = NodePaths(hostRoot: hostRoot, procRoot: "/proc", cgroupRoot: "/sys/fs/cgroup")
        let inventory = try InventoryCollector.collect(paths: paths, includeHost: true)

        // Exactly the four containers; the kubepods slices and pod slices are not containers.
        let ours = inventory.containers.filter { $0.cgroup.hasPrefix(cgroups.prefix + "/") }
        #expect(ours.count == containers.count, "containers found: \(ours.map(\.cgroup))")
        for container in containers {
            let label = "\(container.pod.name)/\(container.name)"
            guard let found = ours.first(where: { $0.id == container.id }) else {
                Issue.record("\(label): \(container.id) not in the inventory")
                continue
            }
            #expect(found.runtime == .containerd, "\(label): runtime")
            #expect(found.cgroup == cgroupOf[container.id], "\(label): cgroup")
            #expect(found.kubernetes?.namespace == container.pod.namespace, "\(label): namespace")
            #expect(found.kubernetes?.pod == container.pod.name, "\(label): pod")
            #expect(found.kubernetes?.podUID == container.pod.uid, "\(label): pod uid")
            #expect(found.kubernetes?.container == container.name, "\(label): container name")
            #expect(found.isSandbox == container.isSandbox, "\(label): sandbox")
            #expect(found.workload.rawValue == container.workload, "\(label): workload key")
            if let image = container.image { #expect(found.image == image, "\(label): image from containerd state") }

            // The one live process, as /proc has it.
            let pid = try #require(sleepOf[container.id])
            #expect(found.processes.map(\.pid) == [pid], "\(label): processes")
            if let process = found.processes.first {
                #expect(process.ppid == getpid(), "\(label): the test started it")
                #expect(process.comm == "sleep", "\(label): name")
                #expect(process.cmdline == ["sleep", "300"], "\(label): cmdline")
                #expect(process.exe?.path == LiveGate.readLink("/proc/\(pid)/exe"), "\(label): exe")
                let status = try #require(LiveGate.procStatus(pid))
                #expect(process.status.uid.real == status.uid[0], "\(label): uid")
                #expect(process.status.capabilities.effective.rawValue == status.capEff, "\(label): effective capabilities")
                #expect(process.status.seccomp.rawValue == status.seccompName, "\(label): seccomp")
            }
            #expect(found.pids.current == 1, "\(label): one task")
            #expect(found.pids.max == nil, "\(label): no limit was set")
        }
        // A container's processes are not also reported as host processes.
        let sleeps = Set(sleepOf.values)
        let hostPids = (inventory.hostGroups ?? []).flatMap { $0.processes.map(\.pid) }
        #expect(hostPids.allSatisfy { !sleeps.contains($0) }, "container processes listed among host processes")
        #expect(inventory.hostGroups?.isEmpty == false, "includeHost: the test process itself is a host process")
        // Every container is named, so nothing to warn about them.
        let warnings = inventory.warnings.filter { warning in containers.contains { warning.message.contains($0.id.prefix(12)) } }
        #expect(warnings.isEmpty, "warnings: \(warnings)")

        // The same, through the command line and its JSON.
        if let vigil = LiveGate.vigilBinary {
            let result = LiveGate.run([
                vigil, "ps", "--json", "--host-root", hostRoot, "--proc-root", "/proc", "--cgroup-root", "/sys/fs/cgroup",
            ])
            #expect(result.status == 0, "\(result)")
            let document = try JSONParser.parse(result.stdout)
            InventoryJSONContract.check(document, label: "k8s ps --json (\(layout))")
            let listed = try #require(document["containers"]?.array)
            for container in containers {
                guard let json = listed.first(where: { $0["id"]?.string == container.id }) else {
                    Issue.record("\(container.name): \(container.id) not in vigil ps --json")
                    continue
                }
                #expect(json["runtime"]?.string == "containerd")
                #expect(json["k8s"]?["namespace"]?.string == container.pod.namespace)
                #expect(json["k8s"]?["pod"]?.string == container.pod.name)
                #expect(json["k8s"]?["pod_uid"]?.string == container.pod.uid)
                #expect(json["k8s"]?["container"]?.string == container.name)
                #expect(json["workload"]?.string == container.workload)
                #expect(json["processes"]?.array?.compactMap { $0["pid"]?.int } == [Int(sleepOf[container.id]!)])
            }
        } else {
            Issue.record("no built vigil binary to check the JSON with (run swift build)")
        }
    }

    @Test("a pod whose log directories are missing is still found by its cgroup, with its uid and a warning")
    func podWithoutLogsIsFoundWithAWarning() throws {
        let cgroups = try Cgroups.live()
        defer { cgroups.remove() }
        let hostRoot = cgroups.hostRoot

        let pod = Pod(namespace: "batch", name: "report-28419120-x2x9k", uid: Self.randomUID(), qos: "besteffort",
                      owner: "report")
        let id = Self.randomHex(64)
        let path = try cgroups.make(Layout.systemd.path(pod, containerID: id))
        let pid = try cgroups.startSleep(in: path)

        let inventory = try InventoryCollector.collect(
            paths: NodePaths(hostRoot: hostRoot, procRoot: "/proc", cgroupRoot: "/sys/fs/cgroup"), includeHost: false)
        let found = try #require(inventory.containers.first { $0.id == id }, "\(id) not in the inventory")
        #expect(found.runtime == .containerd)
        #expect(found.cgroup == path)
        #expect(found.kubernetes?.podUID == pod.uid, "the uid comes from the cgroup path alone")
        #expect(found.kubernetes?.namespace == nil)
        #expect(found.processes.map(\.pid) == [pid])
        #expect(found.workload.rawValue.hasPrefix("container:containerd/"), "an unnamed container's key says so")
        #expect(
            inventory.warnings.contains { $0.message.contains(String(id.prefix(12))) && $0.message.contains(pod.uid) },
            "a warning names the container and its pod uid: \(inventory.warnings)")
    }

    @Test("a container of 1,000 processes is read whole: cgroup.procs comes a page (about 680 pids) at a time")
    func largeContainerIsReadWhole() throws {
        let cgroups = try Cgroups.live()
        defer { cgroups.remove() }
        let hostRoot = cgroups.hostRoot

        let pod = Pod(namespace: "batch", name: "workers-x2x9k", uid: Self.randomUID(), qos: "besteffort", owner: "workers")
        let id = Self.randomHex(64)
        let path = try cgroups.make(Layout.systemd.path(pod, containerID: id))
        // One cgroup.procs write per process, no other check: the test is quick and light, since live
        // agent tests in other suites watch the whole node meanwhile.
        var pids: [Int32] = []
        for _ in 0..<1000 { pids.append(try cgroups.start(["sleep", "300"], in: path, verify: false)) }
        let procs = LiveGate.readText(cgroups.hierarchy + path + "/cgroup.procs") ?? ""
        #expect(procs.utf8.count > 4096, "the test needs a cgroup.procs of more than one page")

        let inventory = try InventoryCollector.collect(
            paths: NodePaths(hostRoot: hostRoot, procRoot: "/proc", cgroupRoot: "/sys/fs/cgroup"), includeHost: false)
        let found = try #require(inventory.containers.first { $0.id == id }, "\(id) not in the inventory")
        #expect(found.processes.map(\.pid) == pids.sorted(), "\(found.processes.count) of \(pids.count) processes")
    }

    @Test(
        "with a container in a user namespace of its own on the node, one sharing the host's is host_user_namespace; the remapped one is not run_as_root"
    )
    func userNamespaces() throws {
        let cgroups = try Cgroups.live()
        defer { cgroups.remove() }
        let hostRoot = cgroups.hostRoot

        let pod = Pod(namespace: "apps", name: "api-7d4b9c8f6d-x2x9k", uid: Self.randomUID(), qos: "burstable", owner: "api")
        let remapped = PodContainer(pod: pod, name: "remapped", id: Self.randomHex(64))
        let shared = PodContainer(pod: pod, name: "shared", id: Self.randomHex(64))
        try Self.writeHostFiles([remapped, shared], under: hostRoot)
        let remappedPath = try cgroups.make(Layout.systemd.path(pod, containerID: remapped.id))
        let sharedPath = try cgroups.make(Layout.systemd.path(pod, containerID: shared.id))

        // As a runtime with user namespaces does it: host uid 100000 is root in the container's own
        // user namespace (uid_map "0 100000 65536").
        let pid = try cgroups.start(
            ["setpriv", "--reuid=100000", "--regid=100000", "--clear-groups", "unshare", "--user", "sleep", "300"], in: remappedPath)
        let own = LiveGate.readLink("/proc/self/ns/user")
        let entered = LiveGate.waitUntil(seconds: 10) {
            LiveGate.readText("/proc/\(pid)/comm") == "sleep\n" && LiveGate.readLink("/proc/\(pid)/ns/user") != own
        }
        try #require(entered, "pid \(pid) did not enter a user namespace of its own")
        for (file, text) in [("setgroups", "deny"), ("gid_map", "0 100000 65536"), ("uid_map", "0 100000 65536")] {
            if let failure = LiveGate.writeExisting("/proc/\(pid)/\(file)", text + "\n") {
                throw LiveGate.SetupError("writing /proc/\(pid)/\(file): \(String(cString: strerror(failure)))")
            }
        }
        _ = try cgroups.startSleep(in: sharedPath)

        let report = try AuditCollector.collect(
            paths: NodePaths(hostRoot: hostRoot, procRoot: "/proc", cgroupRoot: "/sys/fs/cgroup"), only: [remappedPath, sharedPath])
        func checks(_ id: String) -> Set<String>? {
            report.containers.first { $0.container.id == id }.map { Set($0.findings.map(\.check.rawValue)) }
        }
        let remappedChecks = try #require(checks(remapped.id), "the remapped container was not audited")
        let sharedChecks = try #require(checks(shared.id), "the shared container was not audited")
        #expect(sharedChecks.contains("host_user_namespace"), "\(sharedChecks)")
        #expect(sharedChecks.contains("run_as_root"), "\(sharedChecks)")
        #expect(!remappedChecks.contains("host_user_namespace"), "\(remappedChecks)")
        #expect(!remappedChecks.contains("run_as_root"), "root in its own namespace is host uid 100000: \(remappedChecks)")
        let finding = report.containers.first { $0.container.id == shared.id }?.findings.first { $0.check.rawValue == "host_user_namespace" }
        #expect(finding?.evidence.contains("/ns/user") == true, "\(String(describing: finding?.evidence))")
    }
}

extension String {
    /// The pod uid as the systemd driver spells it in slice names (`-` → `_`).
    fileprivate func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}
