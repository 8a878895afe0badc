import Testing
import VigilBaseline
import VigilKernel

// TrackedProcess has internal initializers only (the tracker makes them); tests build them through
// @testable (debug builds).
@testable import VigilNode

/// A process kind is written as `EXE[NAME]`, or `EXE` alone when the name is the file's own, and read
/// back to the same kind; the kind of a followed process tells busybox applets apart.
@Suite("Process kinds")
struct ProcessKindTests {
    // MARK: Description and parsing

    @Test(
        "description is EXE when the name is the file's base name, EXE[NAME] otherwise",
        arguments: [
            (kind("/usr/sbin/nginx"), "/usr/sbin/nginx"),
            (kind("/bin/busybox", "wget"), "/bin/busybox[wget]"),
            (kind("/bin/busybox", "busybox"), "/bin/busybox"),
            (kind("?", "sh"), "?[sh]"),
            // An unknown executable never takes the short form, even for a process named `?`.
            (kind("?", "?"), "?[?]"),
            // `[`, `]` and `\` inside either part are written `\x5b`, `\x5d`, `\\`, so every kind reads back.
            (kind("/opt/x]", "x]"), "/opt/x\\x5d"),
            (kind("/opt/a[b", "a[b"), "/opt/a\\x5bb"),
            (kind("/opt/x", "y]"), "/opt/x[y\\x5d]"),
            (kind("/bin/busybox", "a[b"), "/bin/busybox[a\\x5bb]"),
            (kind("/opt/[x]", "y"), "/opt/\\x5bx\\x5d[y]"),
            (kind("/opt/back\\slash"), "/opt/back\\\\slash"),
            (kind("/opt/x", "a\\b"), "/opt/x[a\\\\b]"),
            (kind("/usr/bin/", "bin"), "/usr/bin/"),
        ])
    func descriptionForms(processKind: ProcessKind, text: String) {
        #expect(processKind.description == text)
        #expect(ProcessKind(parsing: text) == processKind)
    }

    @Test("a process named `?` whose executable is unknown reads back, alone and in a baseline file")
    func unknownExecutableNamedQuestionMark() throws {
        // The kind is written `?[?]` (parsing takes `?` only as `?[NAME]`), so a baseline holding it
        // loads again.
        let questionMark = kind("?", "?")
        #expect(questionMark.description == "?[?]")
        #expect(ProcessKind(parsing: questionMark.description) == questionMark)
        var baseline = Baseline(workload: WorkloadKey(rawValue: "image:web"), created: referenceTime)
        baseline.processes[key(questionMark, parent: .none)] = ProcessEntry(
            users: [0], capabilities: .empty, seen: 1)
        let decoded = try roundTrip(baseline)
        #expect(decoded == baseline)
    }

    @Test(
        "parsing refuses an empty text, an empty name, an empty or relative executable",
        arguments: ["", "/x[]", "[x]", "[]", "/", "bin/sh", "sh", "?", "-", "outside", "*"])
    func parsingRefuses(text: String) {
        #expect(ProcessKind(parsing: text) == nil)
    }

    @Test(
        "parsing refuses a raw `]` in the executable or the name, text after the name, and a bad escape",
        arguments: ["/opt/x]", "/opt/x][x]]", "/opt/x[y]]", "/opt/x]y[z]", "/opt/a[b", "/opt/x[y]z", "/opt/x\\q"])
    func parsingRefusesRawBrackets(text: String) {
        #expect(ProcessKind(parsing: text) == nil)
    }

    @Test("`EXE[NAME]` with NAME the base name reads as `EXE`")
    func redundantNameIsTheSameKind() {
        #expect(ProcessKind(parsing: "/usr/sbin/nginx[nginx]") == ProcessKind(parsing: "/usr/sbin/nginx"))
    }

    @Test("description then parsing gives back random kinds, brackets and backslashes included")
    func descriptionRoundTripProperty() {
        var random = SplitMix64(seed: 0x0C0FFEE)
        let executableAlphabet = trickyScalars + ["/", "/", "[", "]"]
        let nameAlphabet = trickyScalars.filter { $0 != "/" } + ["[", "]"]
        for iteration in 0..<500 {
            let executable = "/" + random.string(from: executableAlphabet, maxLength: 16)
            let base = executable.split(separator: "/").last.map(String.init) ?? executable
            // Half the cases use the base name, the form written without brackets.
            let name = Bool.random(using: &random) ? base : random.string(from: nameAlphabet, minLength: 1)
            // Names never hold `/` (comm, argv[0]'s base name and applets are base names).
            guard !name.contains("/") else { continue }
            let processKind = ProcessKind(executable: executable, name: name)
            let parsed = ProcessKind(parsing: processKind.description)
            #expect(parsed == processKind, "iteration \(iteration): \(processKind.description.debugDescription)")
            #expect(ParentKind(parsing: processKind.description) == .process(processKind))
        }
    }

    @Test(
        "a name holding `[` reads back as written",
        arguments: [kind("/bin/busybox", "a[b"), kind("/opt/[x]", "[x]"), kind("/usr/bin/python3", "[celery]")])
    func nameWithOpeningBracket(processKind: ProcessKind) {
        // The name's `[` is escaped, so only the `[` that opens the name (if any) is left raw.
        #expect(processKind.description.unicodeScalars.filter { $0 == "[" }.count <= 1)
        #expect(ProcessKind(parsing: processKind.description) == processKind)
    }

    @Test(
        "a name that starts with a combining mark or ends with U+0600 reads back as written",
        arguments: [kind("/bin/x", "\u{301}a"), kind("/bin/x", "a\u{600}")])
    func nameWithJoiningScalars(processKind: ProcessKind) {
        // "[\u{301}" and "\u{600}]" are single Characters: the brackets must be found by scalar.
        #expect(ProcessKind(parsing: processKind.description) == processKind)
    }

    @Test("parent kinds read back from their description")
    func parentKinds() {
        let parents: [ParentKind] = [
            .none, .outside, .any, .process(kind("/bin/busybox", "sh")), .process(kind("/usr/sbin/nginx")),
        ]
        #expect(parents.map(\.description) == ["-", "outside", "*", "/bin/busybox[sh]", "/usr/sbin/nginx"])
        for parent in parents { #expect(ParentKind(parsing: parent.description) == parent) }
        #expect(ParentKind(parsing: "") == nil)
        #expect(parents.sorted() == parents)
    }

    @Test("entry keys sort by kind, then by parent: none, outside, any, processes")
    func entryKeyOrder() {
        let sh = kind("/bin/busybox", "sh")
        let keys = [
            key(sh, parent: .process(kind("/usr/sbin/nginx"))), key(sh, parent: .any),
            key(kind("/bin/busybox", "ash"), parent: .any),
            key(sh, parent: .outside), key(sh, parent: .process(kind("/bin/busybox", "init"))), key(sh, parent: .none),
        ]
        #expect(
            keys.sorted().map(\.description) == [
                "/bin/busybox[ash] (parent *)", "/bin/busybox[sh] (parent -)", "/bin/busybox[sh] (parent outside)",
                "/bin/busybox[sh] (parent *)", "/bin/busybox[sh] (parent /bin/busybox[init])",
                "/bin/busybox[sh] (parent /usr/sbin/nginx)",
            ])
    }

    @Test("a `*` parent admits any parent of the same kind; other parents admit only themselves")
    func admits() {
        let sh = kind("/bin/busybox", "sh")
        let fromInit = key(sh, parent: .process(kind("/sbin/init")))
        #expect(key(sh, parent: .any).admits(fromInit))
        #expect(key(sh, parent: .any).admits(key(sh, parent: .none)))
        #expect(!key(kind("/bin/busybox", "ash"), parent: .any).admits(fromInit))
        #expect(fromInit.admits(fromInit))
        #expect(!key(sh, parent: .outside).admits(fromInit))
        #expect(!fromInit.admits(key(sh, parent: .any)))
    }

    // MARK: The kind of a followed process

    static let container = "/docker/" + String(repeating: "ab", count: 32)

    static func process(
        comm: String, exe: String? = "/bin/busybox", argv: [String], namespacePid: Int32 = 7,
        container: String = container
    ) -> TrackedProcess {
        var status = ProcStatus()
        status.namespacePids = [4242, namespacePid]
        let record = ProcessRecord(
            pid: 4242, ppid: 4200, startTime: 1, comm: comm, exe: exe.map { ExecutablePath(path: $0, deleted: false) },
            cmdline: argv, status: status)
        return TrackedProcess(record: record, container: container, startedAt: 1)
    }

    @Test("a busybox applet run through its link is told apart by its comm")
    func busyboxAppletByComm() {
        #expect(ProcessKind(of: Self.process(comm: "sh", argv: ["sh", "-c", "echo hi"])) == kind("/bin/busybox", "sh"))
        #expect(
            ProcessKind(of: Self.process(comm: "wget", argv: ["/usr/bin/wget", "-q"])) == kind("/bin/busybox", "wget"))
    }

    @Test("`busybox wget` run by busybox's own name is the wget applet", arguments: ["busybox", "/bin/busybox"])
    func busyboxByItsOwnName(argv0: String) {
        #expect(
            ProcessKind(of: Self.process(comm: "busybox", argv: [argv0, "wget", "http://x"]))
                == kind("/bin/busybox", "wget"))
        #expect(
            ProcessKind(of: Self.process(comm: "busybox", argv: [argv0, "/usr/bin/env"])) == kind("/bin/busybox", "env")
        )
        #expect(
            ProcessKind(of: Self.process(comm: "toybox", exe: "/bin/toybox", argv: ["toybox", "nc"]))
                == kind("/bin/toybox", "nc"))
    }

    @Test("busybox with an option or nothing after it stays busybox")
    func busyboxWithoutApplet() {
        #expect(
            ProcessKind(of: Self.process(comm: "busybox", argv: ["busybox", "--list"]))
                == kind("/bin/busybox", "busybox"))
        #expect(ProcessKind(of: Self.process(comm: "busybox", argv: ["busybox"])) == kind("/bin/busybox", "busybox"))
        #expect(
            ProcessKind(of: Self.process(comm: "busybox", argv: ["busybox", ""])) == kind("/bin/busybox", "busybox"))
        let longApplet = String(repeating: "a", count: 65)
        #expect(
            ProcessKind(of: Self.process(comm: "busybox", argv: ["busybox", longApplet]))
                == kind("/bin/busybox", "busybox"))
    }

    @Test("a comm cut at 15 bytes is replaced by argv[0]'s base name when that starts with it")
    func truncatedComm() {
        let exe = "/usr/local/bin/kube-controller-manager"
        let cut = Self.process(comm: "kube-controller", exe: exe, argv: [exe, "--v=2"])
        #expect(ProcessKind(of: cut) == kind(exe))
        #expect(ProcessKind(of: cut)?.description == exe)
        // argv[0] that does not start with the comm (a process that renamed itself) is not taken.
        let renamed = Self.process(comm: "kube-controller", exe: exe, argv: ["something-else-entirely"])
        #expect(ProcessKind(of: renamed) == kind(exe, "kube-controller"))
        // A comm shorter than 15 bytes was not cut.
        let short = Self.process(comm: "kube", exe: exe, argv: ["kube-proxy"])
        #expect(ProcessKind(of: short) == kind(exe, "kube"))
    }

    @Test("a comm cut inside a multi-byte character is still replaced by argv[0]'s base name")
    func truncatedCommMidCharacter() {
        // The kernel cuts comm at 15 bytes, here inside the 8th `é`; the reader decodes the stray byte
        // as U+FFFD, so comm is 17 bytes long, yet argv[0] still names the process.
        let full = String(repeating: "é", count: 10)
        let comm = String(repeating: "é", count: 7) + "\u{FFFD}"
        let process = Self.process(comm: comm, exe: "/opt/" + full, argv: ["/opt/" + full])
        #expect(ProcessKind(of: process) == kind("/opt/" + full))
    }

    @Test("a program re-run through /proc/self/exe (comm `exe`) is named by argv[0]")
    func reexecutedThroughProcSelfExe() {
        #expect(
            ProcessKind(of: Self.process(comm: "exe", argv: ["wget", "-q", "http://x"])) == kind("/bin/busybox", "wget")
        )
        #expect(ProcessKind(of: Self.process(comm: "exe", argv: ["/bin/sh", "-c", "x"])) == kind("/bin/busybox", "sh"))
        // A program whose file is really named `exe` keeps the name.
        #expect(
            ProcessKind(of: Self.process(comm: "exe", exe: "/usr/bin/exe", argv: ["other"])) == kind("/usr/bin/exe"))
        let longArgv0 = String(repeating: "a", count: 65)
        #expect(ProcessKind(of: Self.process(comm: "exe", argv: [longArgv0])) == kind("/bin/busybox", "exe"))
    }

    @Test("an unknown executable reads as `?`; an unread or nameless process has no kind")
    func unknownAndUnread() {
        #expect(ProcessKind(of: Self.process(comm: "sh", exe: nil, argv: ["sh"])) == kind("?", "sh"))
        var unread = Self.process(comm: "sh", argv: ["sh"])
        unread.unread = true
        #expect(ProcessKind(of: unread) == nil)
        #expect(ProcessKind(of: Self.process(comm: "", argv: [])) == nil)
    }

    @Test("the parent kind: a process of the same container, none for its PID 1, outside for the rest")
    func parentKindOfProcess() {
        let shell = Self.process(comm: "sh", argv: ["sh"])
        let child = Self.process(comm: "wget", argv: ["wget"])
        #expect(ParentKind.of(child, parent: shell) == .process(kind("/bin/busybox", "sh")))
        #expect(ParentKind.of(Self.process(comm: "sh", argv: ["sh"], namespacePid: 1), parent: nil) == ParentKind.none)
        #expect(ParentKind.of(child, parent: nil) == .outside)
        let elsewhere = Self.process(comm: "runc", exe: "/usr/bin/runc", argv: ["runc"], container: "/")
        #expect(ParentKind.of(child, parent: elsewhere) == .outside)
        var unreadParent = shell
        unreadParent.unread = true
        #expect(ParentKind.of(child, parent: unreadParent) == nil)
    }
}
