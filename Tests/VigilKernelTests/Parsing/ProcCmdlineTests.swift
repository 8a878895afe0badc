import Testing
import VigilKernel

@Suite("ProcCmdline.parse")
struct ProcCmdlineTests {
    @Test("captured command lines split at NUL, the terminating NUL making no empty argument")
    func capturedCommandLines() throws {
        #expect(
            parseCmdline(try Captured.bytes("docker-sh.cmdline")) == ["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
        #expect(parseCmdline(try Captured.bytes("docker-sleep.cmdline")) == ["sleep", "1000"])
        #expect(parseCmdline(try Captured.bytes("host-sleep.cmdline")) == ["sleep", "1000"])
        #expect(parseCmdline(try Captured.bytes("odd-comm.cmdline")) == ["sleep", "1000"], "argv[0] differs from comm")
        #expect(parseCmdline(try Captured.bytes("deleted-exe.cmdline")) == ["/tmp/x", "1000"])
    }

    @Test("one trailing NUL is a terminator; further NULs are empty arguments")
    func trailingNuls() {
        #expect(parseCmdline([]) == [])
        #expect(parseCmdline([0]) == [""])
        #expect(parseCmdline([0, 0]) == ["", ""])
        #expect(parseCmdline(Array("a".utf8)) == ["a"], "a rewritten argv may lack the terminator")
        #expect(parseCmdline(Array("a\0".utf8)) == ["a"])
        #expect(parseCmdline(Array("a\0\0".utf8)) == ["a", ""])
        #expect(parseCmdline(Array("a\0\0b\0".utf8)) == ["a", "", "b"])
        #expect(parseCmdline(Array("\0a\0".utf8)) == ["", "a"])
    }

    @Test("an argv rewritten into one space-separated string stays one argument")
    func rewrittenArgv() {
        #expect(parseCmdline(Array("nginx: worker process".utf8)) == ["nginx: worker process"])
    }

    @Test("invalid UTF-8 becomes U+FFFD instead of failing")
    func invalidUTF8() {
        #expect(parseCmdline([0x66, 0xFF, 0x6F, 0x00, 0xC3, 0x00]) == ["f\u{FFFD}o", "\u{FFFD}"])
        #expect(parseCmdline([0xC3, 0xA9, 0x00]) == ["é"])
        #expect(parseCmdline([0xE2, 0x82]) == ["\u{FFFD}"], "a cut multi-byte sequence")
    }

    @Test("a 1 MB command line is split exactly")
    func megabyteCommandLine() {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1 << 20)
        var expected: [String] = []
        var n = 0
        while bytes.count < (1 << 20) - 64 {
            let argument = "argument-\(n)-" + String(repeating: "x", count: n % 50)
            expected.append(argument)
            bytes += Array(argument.utf8) + [0]
            n += 1
        }
        let arguments = parseCmdline(bytes)
        #expect(arguments.count == expected.count)
        #expect(arguments == expected)
        #expect(arguments.reduce(0) { $0 + $1.utf8.count + 1 } == bytes.count)
    }

    @Test("the parser reads only the slice it is given")
    func staysWithinSlice() throws {
        for file in Captured.cmdlineFiles {
            let bytes = try Captured.bytes(file)
            #expect(withEmbedded(bytes) { ProcCmdline.parse($0) } == parseCmdline(bytes), "\(file)")
        }
    }
}

@Suite("ExecutablePath.parse")
struct ExecutablePathTests {
    @Test("a deleted executable loses the ' (deleted)' suffix and is marked")
    func deletedExecutable() throws {
        let exe = parseExe(try Captured.line("deleted-exe.exe.txt"))
        #expect(exe == ExecutablePath(path: "/tmp/x", deleted: true))
        #expect(!exe.isMemfd)
        #expect(exe.display == "/tmp/x (deleted)")
    }

    @Test("a memfd executable is both memfd and deleted")
    func memfdExecutable() {
        let exe = parseExe("/memfd:x (deleted)")
        #expect(exe.path == "/memfd:x")
        #expect(exe.deleted)
        #expect(exe.isMemfd)
        #expect(exe.display == "/memfd:x (deleted)")
    }

    @Test("captured executables on disk are not deleted, spaces and parentheses kept")
    func presentExecutables() throws {
        #expect(
            parseExe(try Captured.line("docker-sh.exe.txt")) == ExecutablePath(path: "/bin/busybox", deleted: false))
        #expect(
            parseExe(try Captured.line("host-sleep.exe.txt")) == ExecutablePath(path: "/usr/bin/sleep", deleted: false))
        let odd = try Captured.line("odd-comm.exe.txt")
        #expect(odd.hasSuffix("/a) b (c"))
        #expect(parseExe(odd) == ExecutablePath(path: odd, deleted: false))
    }

    @Test("only a suffix exactly ' (deleted)' counts")
    func suffixMustMatchExactly() {
        #expect(parseExe("/tmp/x(deleted)").deleted == false)
        #expect(parseExe("/tmp/x (deleted) ").deleted == false)
        #expect(parseExe("/tmp/x (Deleted)").deleted == false)
        #expect(parseExe("/tmp/x (deleted) (deleted)") == ExecutablePath(path: "/tmp/x (deleted)", deleted: true))
        #expect(parseExe(" (deleted)") == ExecutablePath(path: "", deleted: true))
        #expect(parseExe("") == ExecutablePath(path: "", deleted: false))
    }

    @Test("display round-trips the kernel's text", arguments: Captured.exeFiles)
    func displayRoundTrips(file: String) throws {
        let text = try Captured.line(file)
        #expect(parseExe(text).display == text)
    }
}
