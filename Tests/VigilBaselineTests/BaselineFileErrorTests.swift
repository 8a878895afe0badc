import Testing
import VigilBaseline
import VigilKernel
import VigilNode

/// A malformed case: the file's text, the line the error must name, and words its reason must hold.
struct Malformed: Sendable, CustomTestStringConvertible {
    var name: String
    var text: String
    var line: Int
    var reason: [String]

    var testDescription: String { name }
}

/// Baseline files are edited by hand and reviewed in git: anything the reader does not understand is
/// refused with the file, the line and what was wrong; what a careful hand writes differently from
/// `encode` (comments, blank lines, CRLF, tabs, omitted keys, other capability spellings) is accepted.
@Suite("Baseline file: malformed and hand-edited files")
struct BaselineFileErrorTests {
    static let file = "/srv/baselines/image:web:1.4.baseline"
    static let head = "format 1\nworkload image:web:1.4\nstate learning\n"

    static let malformed: [Malformed] = [
        Malformed(name: "empty file", text: "", line: 0, reason: ["empty", "format 1"]),
        Malformed(name: "comments only", text: "# nothing\n\n", line: 0, reason: ["empty", "format 1"]),
        Malformed(
            name: "missing format line", text: "# a baseline\nworkload image:web:1.4\nstate learning\n", line: 2,
            reason: ["expected 'format 1'", "found 'workload'"]),
        Malformed(name: "wrong format version", text: "format 2\n", line: 1, reason: ["format 2", "reads format 1"]),
        Malformed(
            name: "format twice", text: "format 1\nformat 1\n", line: 2, reason: ["'format' given twice", "line 1"]),
        Malformed(name: "unknown key", text: head + "sate locked\n", line: 4, reason: ["unknown key 'sate'"]),
        Malformed(
            name: "duplicate key", text: head + "pids-high 3\nstate locked\n", line: 5,
            reason: ["'state' given twice", "first on line 3"]),
        Malformed(
            name: "duplicate process line",
            text: head + "process /usr/sbin/nginx parent=- seen=1\n\nprocess /usr/sbin/nginx parent=- seen=2\n",
            line: 6,
            reason: ["/usr/sbin/nginx (parent -)", "listed twice", "first on line 4"]),
        Malformed(
            name: "duplicate process line spelled differently",
            text: head + "process /usr/sbin/nginx[nginx]\nprocess /usr/sbin/nginx parent=*\n", line: 5,
            reason: ["listed twice", "first on line 4"]),
        Malformed(
            name: "bad state", text: head.replacing("state learning", with: "state frozen"), line: 3,
            reason: ["learning or locked", "'frozen'"]),
        Malformed(
            name: "bad duration", text: head + "learned 1hour\n", line: 4,
            reason: ["'learned' must be a duration", "'1hour'"]),
        Malformed(name: "duration without unit", text: head + "learned 90\n", line: 4, reason: ["duration", "'90'"]),
        Malformed(
            name: "bad time", text: head + "created 2026-11-30T05:10:00\n", line: 4,
            reason: ["'created' must be a UTC time", "'2026-11-30T05:10:00'"]),
        Malformed(
            name: "bad changed time", text: head + "changed yesterday\n", line: 4, reason: ["'changed'", "'yesterday'"]),
        Malformed(
            name: "bad number", text: head + "pids-high seven\n", line: 4,
            reason: ["'pids-high' must be a whole number", "'seven'"]),
        Malformed(
            name: "negative number", text: head + "fork-rate-high -1\n", line: 4, reason: ["'fork-rate-high'", "'-1'"]),
        Malformed(
            name: "bad seen", text: head + "process /x seen=many\n", line: 4,
            reason: ["seen must be a whole number", "'many'"]),
        Malformed(
            name: "unknown capability", text: head + "process /x caps=chown,net_foo\n", line: 4,
            reason: ["caps must be", "'chown,net_foo'"]),
        Malformed(name: "empty capability", text: head + "process /x caps=chown,\n", line: 4, reason: ["caps must be"]),
        Malformed(
            name: "bad users", text: head + "process /x users=root\n", line: 4, reason: ["users must be", "'root'"]),
        Malformed(
            name: "empty user", text: head + "process /x users=0,,1\n", line: 4, reason: ["users must be", "'0,,1'"]),
        Malformed(
            name: "user out of range", text: head + "process /x users=4294967296\n", line: 4, reason: ["users must be"]),
        Malformed(
            name: "unknown attribute", text: head + "process /x user=0\n", line: 4,
            reason: ["unknown attribute 'user='"]),
        Malformed(
            name: "attribute twice", text: head + "process /x users=0 users=1\n", line: 4,
            reason: ["'users=' given twice"]),
        Malformed(
            name: "attribute without =", text: head + "process /x parent\n", line: 4,
            reason: ["expected NAME=VALUE", "found 'parent'"]),
        Malformed(name: "process without kind", text: head + "process\n", line: 4, reason: ["'process' needs a kind"]),
        Malformed(name: "bad kind", text: head + "process /x[]\n", line: 4, reason: ["'/x[]' is not a process kind"]),
        Malformed(name: "bad parent", text: head + "process /x parent=\n", line: 4, reason: ["parent must be"]),
        Malformed(
            name: "bad escape", text: "format 1\nworkload image:web\\q\nstate learning\n", line: 2,
            reason: ["bad escape", "image:web\\q"]),
        Malformed(name: "cut escape", text: head + "node a\\x2\n", line: 4, reason: ["bad escape"]),
        Malformed(
            name: "missing workload", text: "format 1\nstate learning\n", line: 0, reason: ["no 'workload' line"]),
        Malformed(
            name: "missing state", text: "format 1\nworkload image:web:1.4\n", line: 0, reason: ["no 'state' line"]),
        Malformed(
            name: "locked time while learning", text: head + "pids-high 1\nlocked 2026-11-30T06:10:00Z\n", line: 5,
            reason: ["'locked' time given", "learning"]),
        Malformed(
            name: "value with a space", text: "format 1\nworkload image:web 1.4\nstate learning\n", line: 2,
            reason: ["'workload' takes one value, found 2", "\\x20"]),
        Malformed(
            name: "key without value", text: head + "node\n", line: 4, reason: ["'node' takes one value, found 0"]),
    ]

    @Test("a malformed file is refused with the file, the line and the reason", arguments: malformed)
    func refused(_ malformed: Malformed) throws {
        let error = try #require(decodeError(malformed.text, file: Self.file))
        #expect(error.file == Self.file)
        #expect(error.line == malformed.line)
        for words in malformed.reason {
            #expect(
                error.reason.contains(words),
                "reason \(error.reason.debugDescription) does not say \(words.debugDescription)")
        }
        let prefix = malformed.line > 0 ? "\(Self.file):\(malformed.line): " : "\(Self.file): "
        #expect(error.description == prefix + error.reason)
    }

    @Test("line numbers count comment and blank lines")
    func lineNumbersCountEverything() throws {
        let text = "# one\n\n  # three\nformat 1\n\t\nworkload w\nstate learning\nbogus 1\n"
        let error = try #require(decodeError(text))
        #expect(error.line == 8)
    }

    // MARK: Hand edits that are accepted

    @Test("comments, indented comments, blank lines and trailing blanks are accepted")
    func commentsAndBlankLines() throws {
        let text = """
            # my web server

            format 1
              # the key
            workload image:web:1.4   \t
            state learning

            # a comment between entries
            process /usr/sbin/nginx parent=- users=0 caps=- seen=1
                # indented
            process /bin/busybox[sh] parent=/usr/sbin/nginx
            """
        let baseline = try BaselineFile.decode(text, file: Self.file)
        #expect(baseline.workload == WorkloadKey(rawValue: "image:web:1.4"))
        #expect(baseline.processes.count == 2)
        #expect(baseline.processes[key(kind("/usr/sbin/nginx"), parent: .none)]?.users == [0])
        #expect(baseline.processes[key(kind("/bin/busybox", "sh"), parent: .process(kind("/usr/sbin/nginx")))] != nil)
    }

    @Test("tabs between fields are accepted")
    func tabs() throws {
        let text = "format\t1\nworkload\timage:web\nstate\t\tlocked\nprocess\t/x\tparent=*\t users=0,1 \tseen=3\n"
        let baseline = try BaselineFile.decode(text, file: Self.file)
        #expect(baseline.state == .locked)
        #expect(
            baseline.processes[key(kind("/x"), parent: .any)]
                == ProcessEntry(users: [0, 1], capabilities: nil, seen: 3))
    }

    @Test("CRLF line endings are accepted")
    func crlf() throws {
        let lf = BaselineFile.encode(BaselineFileRoundTripTests.small())
        let crlf = lf.replacing("\n", with: "\r\n")
        // Swift reads "\r\n" as one Character, which is not "\n": lines must be split by scalar or byte.
        #expect(crlf.utf8.filter { $0 == 0x0D }.count == lf.utf8.filter { $0 == 0x0A }.count)
        let baseline = try BaselineFile.decode(crlf, file: Self.file)
        #expect(baseline == BaselineFileRoundTripTests.small())
    }

    @Test("optional keys may be omitted: only format, workload and state are needed")
    func optionalKeysOmitted() throws {
        let before = Timestamp.now()
        let baseline = try BaselineFile.decode("format 1\nworkload w\nstate learning", file: Self.file)
        let after = Timestamp.now()
        #expect(baseline.learned == 0)
        #expect(baseline.pidsHigh == 0)
        #expect(baseline.forkRateHigh == 0)
        #expect(baseline.nodes.isEmpty)
        #expect(baseline.processes.isEmpty)
        #expect(baseline.lockedAt == nil)
        #expect(before <= baseline.created && baseline.created <= after)
        #expect(baseline.changed == baseline.created)
    }

    @Test("a missing time is taken from the other one; a locked file without a lock time takes the changed time")
    func missingTimes() throws {
        let onlyChanged = try BaselineFile.decode(
            "format 1\nworkload w\nstate locked\nchanged 2026-11-30T05:10:00Z\n", file: Self.file)
        #expect(onlyChanged.created == referenceTime)
        #expect(onlyChanged.lockedAt == referenceTime)
        let onlyCreated = try BaselineFile.decode(
            "format 1\nworkload w\nstate learning\ncreated 2026-11-30T05:10:00Z\n", file: Self.file)
        #expect(onlyCreated.changed == referenceTime)
    }

    @Test("a process line with only its kind admits any parent, user and capability")
    func processWithOnlyKind() throws {
        let baseline = try BaselineFile.decode(Self.head + "process /bin/busybox[wget]\n", file: Self.file)
        #expect(
            baseline.processes == [
                key(kind("/bin/busybox", "wget"), parent: .any): ProcessEntry(users: nil, capabilities: nil, seen: 0)
            ])
    }

    @Test(
        "capabilities may be written as CAP_NET_RAW, NET_RAW or net_raw, and users in any order with repeats",
        arguments: ["CAP_NET_RAW,CAP_CHOWN", "net_raw,chown", "NET_RAW,chown", "cap_net_raw,Chown,chown"])
    func capabilitySpellings(spelling: String) throws {
        let text = Self.head + "process /x users=1000,0,1000 caps=\(spelling)\n"
        let entry = try #require(
            try BaselineFile.decode(text, file: Self.file).processes[key(kind("/x"), parent: .any)])
        #expect(entry.capabilities == caps("net_raw", "chown"))
        #expect(entry.users == [0, 1000])
    }

    @Test("attributes may come in any order; a `=` inside a value belongs to the value")
    func attributeOrder() throws {
        let text = Self.head + "process /x seen=2 caps=- users=- parent=/opt/a=b\n"
        let baseline = try BaselineFile.decode(text, file: Self.file)
        #expect(
            baseline.processes[key(kind("/x"), parent: .process(kind("/opt/a=b")))]
                == ProcessEntry(users: [], capabilities: .empty, seen: 2))
    }

    @Test("keys may come in any order after the format line")
    func keyOrder() throws {
        let text = "format 1\nprocess /x\nnode b\nstate learning\nnode a\nworkload w\npids-high 4\n"
        let baseline = try BaselineFile.decode(text, file: Self.file)
        #expect(baseline.nodes == ["a", "b"])
        #expect(baseline.pidsHigh == 4)
        #expect(baseline.processes.count == 1)
    }
}
