import Glibc
import Testing
import VigilKernel

/// ProcReader against this machine's real /proc.
@Suite("ProcReader on the live /proc")
struct ProcReaderLiveTests {
    /// Field 22 and the comm of /proc/self/stat, read with plain String operations.
    static func ownStat() throws -> (comm: String, startTime: String) {
        let text = try #require(readText("/proc/self/stat"))
        let open = try #require(text.firstIndex(of: "("))
        let close = try #require(text.lastIndex(of: ")"))
        let fields = statFieldsAfterComm(text)
        try #require(fields.count > 19)
        return (String(text[text.index(after: open)..<close]), String(fields[19]))
    }

    /// A pid no process has now: the kernel says ESRCH for it.
    static func unusedPid() throws -> Int32 {
        let pidMax = Int32(readText("/proc/sys/kernel/pid_max")?.filter(\.isNumber) ?? "") ?? 32768
        var pid = pidMax - 1
        while pid > 300 {
            if kill(pid, 0) != 0 && errno == ESRCH { return pid }
            pid -= 1
        }
        Issue.record("no unused pid found")
        throw TestSetupError()
    }

    @Test("reading our own pid gives our pid, parent, comm, uid and the start time of field 22")
    func readSelf() throws {
        var reader = try ProcReader(root: "/proc")
        let found = reader.read(pid: getpid())
        let record = try #require(found)
        let own = try Self.ownStat()
        #expect(record.pid == getpid())
        #expect(record.ppid == getppid())
        #expect(record.comm == own.comm)
        #expect(String(record.startTime) == own.startTime)
        #expect(record.status.uid.real == getuid())
        #expect(record.status.uid.effective == geteuid())
        #expect(record.status.gid.real == getgid())
        #expect(record.status.tgid == getpid())
        #expect(record.status.threads >= 1)
        #expect(!record.cmdline.isEmpty)
        #expect(!record.cmdlineTruncated)
        let exe = try #require(record.exe)
        #expect(!exe.deleted)
        #expect(exe.path.hasPrefix("/"))
        let ownExe = try #require(readLinkTarget("/proc/self/exe"))
        #expect(exe.display == ownExe)
    }

    @Test("readStat of our own pid agrees with read")
    func readStatSelf() throws {
        var reader = try ProcReader(root: "/proc")
        let found = reader.readStat(pid: getpid())
        let stat = try #require(found)
        #expect(stat.pid == getpid())
        #expect(String(stat.startTime) == (try Self.ownStat()).startTime)
    }

    @Test("a pid without a process reads as nil, not as an error")
    func missingPid() throws {
        var reader = try ProcReader(root: "/proc")
        let pid = try Self.unusedPid()
        let record = reader.read(pid: pid)
        #expect(record == nil)
        let stat = reader.readStat(pid: pid)
        #expect(stat == nil)
        let cgroups = reader.readCgroups(pid: pid)
        #expect(cgroups == nil)
        let mounts = reader.readMounts(pid: pid)
        #expect(mounts == nil)
        let link = reader.namespace(pid: pid, "pid")
        #expect(link == nil)
    }

    @Test("listPids is ascending and contains our pid and 1")
    func listPids() throws {
        let reader = try ProcReader(root: "/proc")
        let pids = reader.listPids()
        #expect(pids.contains(getpid()))
        #expect(pids.contains(1))
        #expect(pids == pids.sorted())
        #expect(Set(pids).count == pids.count)
        #expect(pids.allSatisfy { $0 > 0 })
    }

    @Test("our cgroups and mounts are readable and agree with the files")
    func cgroupsAndMounts() throws {
        var reader = try ProcReader(root: "/proc")
        let found = reader.readCgroups(pid: getpid())
        let cgroups = try #require(found)
        #expect(!cgroups.isEmpty)
        #expect(cgroups == parseCgroups(try #require(readFile("/proc/self/cgroup"))))
        let foundMounts = reader.readMounts(pid: getpid())
        let mounts = try #require(foundMounts)
        #expect(mounts.contains { $0.mountPoint == "/" })
        #expect(mounts.contains { $0.mountPoint == "/proc" && $0.filesystemType == "proc" })
    }

    @Test(
        "our own namespaces (pid 0 means self) match the ns links",
        arguments: ["pid", "net", "mnt", "user", "uts", "ipc"])
    func ownNamespace(type: String) throws {
        let reader = try ProcReader(root: "/proc")
        let found = reader.namespace(pid: 0, type)
        let link = try #require(found)
        #expect(link.type == type)
        let target = try #require(readLinkTarget("/proc/self/ns/" + type))
        #expect(target == "\(type):[\(link.inode)]")
        let byPid = reader.namespace(pid: getpid(), type)
        #expect(byPid == link)
        let unknownType = reader.namespace(pid: 0, "nosuchns")
        #expect(unknownType == nil)
    }

    @Test("readValue reads a small /proc file, trimmed")
    func readValue() throws {
        var reader = try ProcReader(root: "/proc")
        let found = reader.readValue("sys/kernel/cap_last_cap")
        let lastCap = try #require(found)
        #expect(Int(lastCap).map { $0 >= 36 && $0 < 64 } == true)
        let missing = reader.readValue("sys/kernel/no_such_file")
        #expect(missing == nil)
    }

    @Test("a child is read while it runs; once killed and reaped it reads as nil")
    func childProcessComesAndGoes() throws {
        var reader = try ProcReader(root: "/proc")
        let child = try spawn(["/bin/sleep", "30"])
        var reaped = false
        defer {
            if !reaped {
                kill(child, SIGKILL)
                var status: Int32 = 0
                _ = waitpid(child, &status, 0)
            }
        }

        // The spawned child may not have exec'd yet, or be in the middle of it: execve sets the new comm
        // before the new command line is in place, so a read in between sees comm "sleep" and no
        // arguments. Wait for both.
        var record: ProcessRecord?
        for _ in 0..<500 {
            record = reader.read(pid: child)
            if record?.comm == "sleep" && record?.cmdline.isEmpty == false { break }
            usleep(10_000)
        }
        let running = try #require(record)
        #expect(running.pid == child)
        #expect(running.ppid == getpid())
        #expect(running.comm == "sleep")
        #expect(running.cmdline == ["/bin/sleep", "30"])
        #expect(running.exe?.path.hasSuffix("/sleep") == true)
        #expect(running.exe?.deleted == false)
        let pidsWhileRunning = reader.listPids()
        #expect(pidsWhileRunning.contains(child))
        let childNamespace = reader.namespace(pid: child, "pid")
        let ownNamespace = reader.namespace(pid: 0, "pid")
        #expect(childNamespace == ownNamespace)

        #expect(kill(child, SIGKILL) == 0)
        var status: Int32 = 0
        #expect(waitpid(child, &status, 0) == child)
        reaped = true
        let afterReaping = reader.read(pid: child)
        #expect(afterReaping == nil)
        let statAfterReaping = reader.readStat(pid: child)
        #expect(statAfterReaping == nil)
        let cgroupsAfterReaping = reader.readCgroups(pid: child)
        #expect(cgroupsAfterReaping == nil)
        let namespaceAfterReaping = reader.namespace(pid: child, "pid")
        #expect(namespaceAfterReaping == nil)
        let pidsAfterReaping = reader.listPids()
        #expect(!pidsAfterReaping.contains(child))
    }

    @Test("a live process's 200 kB command line is read whole when the limit allows, and cut when not")
    func longLiveCommandLine() throws {
        var reader = try ProcReader(root: "/proc")
        let filler = (0..<2000).map { "argument-\($0)-" + String(repeating: "x", count: 90) }
        // `; :` keeps the shell from exec'ing sleep, so the shell with the long argv stays.
        let arguments = ["/bin/sh", "-c", "sleep 30; :", "vigil-test"] + filler
        let child = try spawn(arguments)
        defer {
            kill(child, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(child, &status, 0)
        }
        reader.cmdlineLimit = 1 << 20
        var record: ProcessRecord?
        for _ in 0..<500 {
            record = reader.read(pid: child)
            if record?.cmdline.count == arguments.count { break }
            usleep(10_000)
        }
        let whole = try #require(record)
        #expect(whole.cmdline == arguments)
        #expect(!whole.cmdlineTruncated)

        reader.cmdlineLimit = 64 * 1024
        let cutRecord = reader.read(pid: child)
        let cut = try #require(cutRecord)
        #expect(cut.cmdlineTruncated)
        #expect(cut.cmdline.count < arguments.count)
        #expect(Array(cut.cmdline.dropLast()) == Array(arguments.prefix(cut.cmdline.count - 1)))
    }

    @Test("a zombie (exited, not reaped) is read, without an exe and without a command line")
    func zombie() throws {
        var reader = try ProcReader(root: "/proc")
        let child = try spawn(["/bin/true"])
        defer {
            var status: Int32 = 0
            _ = waitpid(child, &status, 0)
        }
        // Wait for it to exit (state Z) without reaping it.
        var stat: ProcStat?
        for _ in 0..<500 {
            stat = reader.readStat(pid: child)
            if stat?.state == UInt8(ascii: "Z") { break }
            usleep(10_000)
        }
        try #require(stat?.state == UInt8(ascii: "Z"))
        let found = reader.read(pid: child)
        let record = try #require(found)
        #expect(record.pid == child)
        #expect(record.ppid == getpid())
        #expect(record.exe == nil)
        #expect(record.cmdline.isEmpty)
    }

    /// posix_spawn of `arguments[0]` with an empty environment.
    func spawn(_ arguments: [String]) throws -> pid_t {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var envp: [UnsafeMutablePointer<CChar>?] = [nil]
        let result = posix_spawn(&pid, arguments[0], nil, nil, &argv, &envp)
        try #require(result == 0, "posix_spawn \(arguments[0]): \(result)")
        return pid
    }
}

/// The target of a symbolic link, with plain readlink(2).
func readLinkTarget(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink(path, &buffer, buffer.count)
    guard count >= 0 else { return nil }
    return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
