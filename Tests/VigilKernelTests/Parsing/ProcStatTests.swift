import Testing
import VigilKernel

@Suite("ProcStat.parse")
struct ProcStatTests {
    @Test("a comm holding ')', '(' and spaces is read up to the last ')'")
    func commWithParenthesesAndSpaces() throws {
        let stat = try #require(parseStat(try Captured.bytes("odd-comm.stat")))
        #expect(stat.comm == "a) b (c")
        #expect(stat.state == UInt8(ascii: "S"))
    }

    @Test(
        "pid, ppid, threads and start time (field 22) agree with the file and with status",
        arguments: Captured.statFiles)
    func fieldsOfEveryCapturedStat(file: String) throws {
        let text = try Captured.line(file)
        let stat = try #require(parseStat(Array(text.utf8)))
        let fields = statFieldsAfterComm(text)
        try #require(fields.count > 19)
        #expect(String(stat.pid) == text.prefix(while: { $0 != " " }))
        #expect(String(stat.ppid) == fields[1])
        #expect(String(stat.threads) == fields[17])
        #expect(String(stat.startTime) == fields[19], "field 22 is the start time")
        #expect(stat.state == fields[0].utf8.first)

        // The status file of the same process says the same pid and parent.
        let status = String(decoding: try Captured.bytes(file.replacingSuffix(".stat", with: ".status")), as: UTF8.self)
        #expect(statusValue(status, "Pid") == String(stat.pid))
        #expect(statusValue(status, "PPid") == String(stat.ppid))
        #expect(statusValue(status, "Threads") == String(stat.threads))
    }

    @Test("the container's sh, its sleep child and the deleted-exe process have their own comm")
    func commsOfCapturedProcesses() throws {
        #expect(parseStat(try Captured.bytes("docker-sh.stat"))?.comm == "sh")
        #expect(parseStat(try Captured.bytes("docker-sleep.stat"))?.comm == "sleep")
        #expect(parseStat(try Captured.bytes("host-sleep.stat"))?.comm == "sleep")
        #expect(parseStat(try Captured.bytes("deleted-exe.stat"))?.comm == "x")
        let sh = try #require(parseStat(try Captured.bytes("docker-sh.stat")))
        let sleep = try #require(parseStat(try Captured.bytes("docker-sleep.stat")))
        #expect(sleep.ppid == sh.pid, "the sleep is a child of the container's sh")
    }

    @Test("a synthetic line yields exactly its fields")
    func syntheticLine() {
        let line = "42 (my prog) R 7 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0 123456789 0 0\n"
        #expect(
            parseStat(line)
                == ProcStat(
                    pid: 42, comm: "my prog", state: UInt8(ascii: "R"), ppid: 7, threads: 3, startTime: 123_456_789))
    }

    @Test("an empty comm and a comm of only ')' are kept")
    func emptyAndParenthesisComms() {
        let rest = " S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99"
        #expect(parseStat("5 ()" + rest)?.comm == "")
        #expect(parseStat("5 ())" + rest)?.comm == ")")
        #expect(parseStat("5 ())))" + rest)?.comm == ")))")
        #expect(parseStat("5 ((()" + rest)?.comm == "((")
    }

    @Test("pid 0's parent and kernel threads' ppid 0 parse")
    func ppidZero() {
        let stat = parseStat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0")
        #expect(stat?.ppid == 0)
        #expect(stat?.startTime == 5)
    }

    @Test(
        "malformed lines are rejected, not guessed",
        arguments: [
            "",
            "42",
            "42 (x",
            "42 x) S 1",
            ") 42 (x S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99",
            "abc (x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99",
            "-42 (x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99",
            "4294967296 (x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99",
            "42 (x) S -1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99",
            "42 (x) S 2147483648 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99",
            "42 (x) S one 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99",
            "42 (x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0",
            "42 (x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -99",
            "42 (x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9x9",
        ])
    func malformedLinesAreNil(line: String) {
        #expect(parseStat(line) == nil)
    }

    @Test("the largest pid and start time parse")
    func largestValues() {
        let stat = parseStat("2147483647 (x) S 2147483647 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551615")
        #expect(stat?.pid == Int32.max)
        #expect(stat?.ppid == Int32.max)
        #expect(stat?.startTime == UInt64.max)
    }

    @Test("the parser reads only the slice it is given")
    func staysWithinSlice() throws {
        for file in Captured.statFiles {
            let bytes = try Captured.bytes(file)
            #expect(withEmbedded(bytes) { ProcStat.parse($0) } == parseStat(bytes), "\(file)")
        }
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}
