import Testing
import VigilKernel

/// ProcReader over a directory laid out like /proc: how fixtures are replayed.
@Suite("ProcReader on a fixture directory")
struct ProcReaderFixtureTests {
    static let status =
        "Name:\tx\nTgid:\t4242\nPPid:\t1\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t5\t5\t5\n"
        + "NSpid:\t4242\t3\nThreads:\t2\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\n"
        + "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\n"
        + "NoNewPrivs:\t1\nSeccomp:\t2\n"

    /// One process, 4242, whose executable was deleted.
    static func makeProcess(in root: TemporaryDirectory, pid: Int32 = 4242) throws {
        try root.write("\(pid)/stat", "\(pid) (x) S 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 777 0 0\n")
        try root.write("\(pid)/status", status)
        try root.write("\(pid)/cmdline", Array("/usr/bin/x\0--flag\0".utf8))
        try root.symlink("\(pid)/exe", to: "/usr/bin/x (deleted)")
        try root.symlink("\(pid)/ns/pid", to: "pid:[4026532180]")
        try root.write("\(pid)/cgroup", "0::/docker/abc\n")
    }

    @Test("a process laid out as files reads back exactly, deleted exe included")
    func readsFixtureProcess() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try Self.makeProcess(in: root)
        var reader = try ProcReader(root: root.path)
        let found = reader.read(pid: 4242)
        let record = try #require(found)
        #expect(record.pid == 4242)
        #expect(record.ppid == 1)
        #expect(record.startTime == 777)
        #expect(record.comm == "x")
        #expect(record.exe == ExecutablePath(path: "/usr/bin/x", deleted: true))
        #expect(record.cmdline == ["/usr/bin/x", "--flag"])
        #expect(!record.cmdlineTruncated)
        #expect(quad(record.status.uid) == [1000, 1001, 1002, 1003])
        #expect(record.status.capabilities.effective == .dockerDefault)
        #expect(record.status.noNewPrivs)
        #expect(record.status.seccomp == .filter)
        #expect(record.status.namespacePids == [4242, 3])
        #expect(record.status.threads == 2)
        let link = reader.namespace(pid: 4242, "pid")
        #expect(link == NamespaceLink(type: "pid", inode: 4_026_532_180))
        let cgroups = reader.readCgroups(pid: 4242)
        #expect(cgroups == [CgroupMembership(hierarchy: 0, controllers: [], path: "/docker/abc")])
    }

    @Test("the captured odd-comm process replays: comm with ')' and spaces, exe path with both")
    func replaysCapturedProcess() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let stat = try #require(parseStat(try Captured.bytes("odd-comm.stat")))
        let pid = stat.pid
        try root.write("\(pid)/stat", try Captured.bytes("odd-comm.stat"))
        try root.write("\(pid)/status", try Captured.bytes("odd-comm.status"))
        try root.write("\(pid)/cmdline", try Captured.bytes("odd-comm.cmdline"))
        try root.write("\(pid)/mountinfo", try Captured.bytes("odd-comm.mountinfo"))
        let exe = try Captured.line("odd-comm.exe.txt")
        try root.symlink("\(pid)/exe", to: exe)

        var reader = try ProcReader(root: root.path)
        let pids = reader.listPids()
        #expect(pids == [pid])
        let found = reader.read(pid: pid)
        let record = try #require(found)
        #expect(record.comm == "a) b (c")
        #expect(record.cmdline == ["sleep", "1000"])
        #expect(record.exe == ExecutablePath(path: exe, deleted: false))
        #expect(record.startTime == stat.startTime)
        #expect(record.status == parseStatus(try Captured.bytes("odd-comm.status")))
        let mounts = reader.readMounts(pid: pid)
        #expect(mounts == parseMounts(try Captured.bytes("odd-comm.mountinfo")))
    }

    @Test("listPids lists only numeric names, ascending")
    func listPidsIgnoresOtherEntries() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        for name in ["4242", "100", "99999", "7"] { try root.makeDirectory(name) }
        try root.makeDirectory("self")
        try root.makeDirectory("sys/kernel")
        try root.makeDirectory("12a")
        try root.makeDirectory("0")
        try root.write("cpuinfo", "x")
        let reader = try ProcReader(root: root.path)
        let pids = reader.listPids()
        #expect(pids == [7, 100, 4242, 99999])
    }

    @Test("a process whose stat or status is missing or malformed reads as nil")
    func incompleteProcesses() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try Self.makeProcess(in: root, pid: 1)
        try root.write("2/stat", "2 (y) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n")  // no status
        try Self.makeProcess(in: root, pid: 3)
        try root.write("3/stat", "garbage\n")
        try Self.makeProcess(in: root, pid: 4)
        try root.write("4/status", "Name:\tx\n")  // no Uid, no CapEff
        try root.makeDirectory("5")  // an empty directory: the process went away mid-listing
        var reader = try ProcReader(root: root.path)
        let complete = reader.read(pid: 1)
        #expect(complete != nil)
        let withoutStatus = reader.read(pid: 2)
        #expect(withoutStatus == nil)
        let garbageStat = reader.read(pid: 3)
        #expect(garbageStat == nil)
        let withoutUid = reader.read(pid: 4)
        #expect(withoutUid == nil)
        let emptyDirectory = reader.read(pid: 5)
        #expect(emptyDirectory == nil)
        let absent = reader.read(pid: 6)
        #expect(absent == nil)
        let statOnly = reader.readStat(pid: 2)
        #expect(statOnly?.comm == "y")
        let garbageStatOnly = reader.readStat(pid: 3)
        #expect(garbageStatOnly == nil)
    }

    @Test("a process without an exe link (a kernel thread, or not permitted) has a nil exe")
    func missingExeLink() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try root.write("2/stat", "2 (kthreadd) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n")
        try root.write("2/status", Self.status)
        try root.write("2/cmdline", [])
        var reader = try ProcReader(root: root.path)
        let found = reader.read(pid: 2)
        let record = try #require(found)
        #expect(record.exe == nil)
        #expect(record.cmdline == [])
        #expect(record.comm == "kthreadd")
    }

    @Test("a command line longer than the limit is cut and marked truncated")
    func longCommandLineIsCut() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try Self.makeProcess(in: root)
        var long: [UInt8] = []
        for i in 0..<20_000 { long += Array("arg\(i)".utf8) + [0] }  // about 150 kB
        try root.write("4242/cmdline", long)
        var reader = try ProcReader(root: root.path)
        let defaultLimit = reader.cmdlineLimit
        let cut = reader.read(pid: 4242)
        let record = try #require(cut)
        #expect(record.cmdlineTruncated)
        #expect(record.cmdline.reduce(0) { $0 + $1.utf8.count + 1 } <= defaultLimit + 1)
        #expect(record.cmdline.prefix(3) == ["arg0", "arg1", "arg2"])

        reader.cmdlineLimit = 1 << 20
        let uncut = reader.read(pid: 4242)
        let whole = try #require(uncut)
        #expect(!whole.cmdlineTruncated)
        #expect(whole.cmdline.count == 20_000)
        #expect(whole.cmdline.last == "arg19999")
    }

    @Test("readValue reads a file under the root, trimmed; a missing one is nil")
    func readValue() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try root.write("sys/kernel/cap_last_cap", "40\n")
        var reader = try ProcReader(root: root.path)
        let lastCap = reader.readValue("sys/kernel/cap_last_cap")
        #expect(lastCap == "40")
        let missing = reader.readValue("sys/kernel/pid_max")
        #expect(missing == nil)
    }

    @Test("opening a reader over a missing directory throws a SystemError naming the path")
    func missingRoot() throws {
        do {
            _ = try ProcReader(root: "/nonexistent/vigil-proc")
            Issue.record("expected an error")
        } catch {
            #expect(error.path == "/nonexistent/vigil-proc")
            #expect(error.errno == .noSuchFile)
            #expect(error.description.contains("/nonexistent/vigil-proc"))
        }
    }

    @Test("a recorder receives every file and link the reader reads, byte for byte")
    func recorderSeesEveryFile() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try Self.makeProcess(in: root)
        let recorder = RecordingSpy()
        var reader = try ProcReader(root: root.path)
        reader.recorder = recorder
        let found = reader.read(pid: 4242)
        _ = try #require(found)
        _ = reader.namespace(pid: 4242, "pid")
        _ = reader.readCgroups(pid: 4242)
        #expect(recorder.files.map(\.path) == ["4242/stat", "4242/status", "4242/cmdline", "4242/cgroup"])
        #expect(recorder.files.allSatisfy { $0.area == .proc })
        #expect(recorder.files[2].bytes == Array("/usr/bin/x\0--flag\0".utf8))
        #expect(recorder.files[1].bytes == Array(Self.status.utf8))
        #expect(recorder.links.map(\.path) == ["4242/exe", "4242/ns/pid"])
        #expect(recorder.links.first?.target == Array("/usr/bin/x (deleted)".utf8))
    }
}

final class RecordingSpy: FileRecorder {
    var files: [(area: RecordArea, path: String, bytes: [UInt8])] = []
    var links: [(area: RecordArea, path: String, target: [UInt8])] = []
    var directories: [(area: RecordArea, path: String)] = []

    func recordFile(_ area: RecordArea, _ path: String, _ bytes: UnsafeRawBufferPointer) {
        files.append((area, path, Array(bytes)))
    }

    func recordLink(_ area: RecordArea, _ path: String, target: [UInt8]) {
        links.append((area, path, target))
    }

    func recordDirectory(_ area: RecordArea, _ path: String) {
        directories.append((area, path))
    }
}
