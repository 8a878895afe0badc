import CVigilShims
import Glibc

/// What is known of one process from a single pass over its /proc files.
public struct ProcessRecord: Equatable, Sendable {
    public var pid: Int32
    public var ppid: Int32
    /// Clock ticks since boot; with `pid` the process's identity (pids are reused, start times are not).
    public var startTime: UInt64
    public var comm: String
    /// nil for kernel threads and when the link cannot be read (not permitted, or the process exited).
    public var exe: ExecutablePath?
    public var cmdline: [String]
    /// The command line was longer than the read limit and is cut.
    public var cmdlineTruncated: Bool
    public var status: ProcStatus
    /// The controlling terminal (`tty_nr` of stat): 0 when none.
    public var tty: UInt32
    /// The scheduler state letter of stat (`R`, `S`, `D`, `Z`, ...), as read.
    public var state: UInt8 = 0
    /// Mode bits, owner and group of the executable file (setuid and setgid programs); read only for
    /// execs, nil otherwise.
    public var exeFile: FileAttributes?
    /// Where standard input, output and error point (`/proc/PID/fd/0..2` link targets such as
    /// `/dev/pts/0`, `pipe:[123]`, `socket:[456]`); read only for execs, empty otherwise.
    public var stdio: [String] = []

    public init(
        pid: Int32, ppid: Int32, startTime: UInt64, comm: String, exe: ExecutablePath?, cmdline: [String],
        cmdlineTruncated: Bool = false, status: ProcStatus, tty: UInt32 = 0
    ) {
        self.tty = tty
        self.pid = pid
        self.ppid = ppid
        self.startTime = startTime
        self.comm = comm
        self.exe = exe
        self.cmdline = cmdline
        self.cmdlineTruncated = cmdlineTruncated
        self.status = status
    }
}

/// Mode bits, owner and group of a file.
public struct FileAttributes: Equatable, Sendable {
    public var mode: UInt32
    public var owner: UInt32
    public var group: UInt32

    public init(mode: UInt32, owner: UInt32, group: UInt32) {
        self.mode = mode
        self.owner = owner
        self.group = group
    }

    public var isSetUID: Bool { mode & 0o4000 != 0 }
    /// Set-group-id on an executable file (with group execute), not the directory or locking meaning.
    public var isSetGID: Bool { mode & 0o2000 != 0 && mode & 0o010 != 0 }
}

/// Which optional /proc files `ProcReader.read(pid:fields:)` reads besides stat and status.
public struct ProcFields: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let cmdline = ProcFields(rawValue: 1)
    public static let exe = ProcFields(rawValue: 2)
    public static let cgroup = ProcFields(rawValue: 4)
}

/// Reads processes from a /proc directory through one directory descriptor and one reused buffer.
///
/// Each process is read through a descriptor of its own /proc/PID directory, so every file comes from
/// the same process even if its pid is reused meanwhile; a process that exits mid-read yields nil.
public struct ProcReader: ~Copyable {
    public let root: String
    private let directory: FileDescriptor
    private var buffer = ReadBuffer(capacity: 8192)
    /// The longest command line read, in bytes; longer ones are cut (and marked) so one process with a
    /// huge argv cannot make the agent allocate without bound.
    public var cmdlineLimit = 64 * 1024
    public var recorder: (any FileRecorder)?

    public init(root: String) throws(SystemError) {
        self.root = root
        self.directory = try FileDescriptor.openDirectory(root)
    }

    /// The pids of every process now in /proc, ascending.
    public func listPids() -> [Int32] {
        var pids: [Int32] = []
        _ = directory.forEachEntry { name, _ in
            guard let pid = ProcReader.pidValue(name) else { return }
            pids.append(pid)
        }
        return pids.sorted()
    }

    static func pidValue(_ name: UnsafePointer<CChar>) -> Int32? {
        var value: Int32 = 0
        var index = 0
        while name[index] != 0 {
            let c = UInt8(bitPattern: name[index])
            guard c >= 0x30, c <= 0x39, index < 10 else { return nil }
            value = value &* 10 &+ Int32(c - 0x30)
            index += 1
        }
        return index > 0 && value > 0 ? value : nil
    }

    /// Reads stat, status, cmdline and exe of `pid`. Returns nil when the process is gone or its
    /// files are malformed; never throws for a vanished process.
    public mutating func read(pid: Int32) -> ProcessRecord? {
        read(pid: pid, fields: [.cmdline, .exe])?.record
    }

    /// Reads stat and status of `pid`, and the optional `fields`, through one descriptor of its
    /// /proc directory. With `.cgroup`, also returns the process's cgroup path used for container
    /// matching (`CgroupMembership.primaryPath`).
    public mutating func read(pid: Int32, fields: ProcFields) -> (record: ProcessRecord, cgroup: String?)? {
        guard let process = try? directory.open(relative: String(pid), directory: true) else { return nil }
        let prefix = recorder == nil ? "" : "\(pid)/"

        guard readFile(process, "stat", recordAs: prefix) != nil else { return nil }
        guard let stat = ProcStat.parse(buffer.bytes[...]) else { return nil }
        guard readFile(process, "status", recordAs: prefix) != nil else { return nil }
        guard let status = ProcStatus.parse(buffer.bytes[...]) else { return nil }

        var cgroup: String?
        if fields.contains(.cgroup) {
            guard readFile(process, "cgroup", recordAs: prefix) != nil else { return nil }
            cgroup = CgroupMembership.primaryPath(CgroupMembership.parse(buffer.bytes[...]))
        }

        var cmdline: [String] = []
        var truncated = false
        if fields.contains(.cmdline) {
            guard let complete = readFile(process, "cmdline", recordAs: prefix, limit: cmdlineLimit) else { return nil }
            cmdline = ProcCmdline.parse(buffer.bytes[...])
            truncated = !complete
        }

        var exe: ExecutablePath?
        if fields.contains(.exe), case .success(let target) = process.readLink(relative: "exe") {
            exe = target.withParserInput { ExecutablePath.parse($0) }
            recorder?.recordLink(.proc, prefix + "exe", target: target)
        }
        var record = ProcessRecord(
            pid: stat.pid, ppid: stat.ppid, startTime: stat.startTime, comm: stat.comm, exe: exe,
            cmdline: cmdline, cmdlineTruncated: truncated, status: status, tty: stat.tty)
        record.state = stat.state
        return (record, cgroup)
    }

    /// Reads a process that has just exec'd, racing its exit: one descriptor for its /proc directory,
    /// the cgroup first (`isContainer` decides whether to go on: a host process costs one small read),
    /// then stat, then the command line when `readCommandLineNow` allows it given the stat (else it is
    /// left empty for the caller to read another way), then exe and status. The most telling facts
    /// come first, since a short-lived process may be gone between two reads.
    /// Returns nil when gone before stat; `record` is nil for a host process.
    public mutating func readExec(
        pid: Int32, isContainer: (String) -> Bool, readCommandLineNow: (ProcStat) -> Bool
    ) -> (record: ProcessRecord?, cgroup: String, commandLineRead: Bool)? {
        guard let process = try? directory.open(relative: String(pid), directory: true) else { return nil }
        guard readFile(process, "cgroup", recordAs: "") != nil,
            let cgroup = CgroupMembership.primaryPath(CgroupMembership.parse(buffer.bytes[...]))
        else { return nil }
        guard isContainer(cgroup) else { return (nil, cgroup, false) }
        guard readFile(process, "stat", recordAs: "") != nil, let stat = ProcStat.parse(buffer.bytes[...]) else {
            return (nil, cgroup, false)
        }
        // The executable first: a process that exits at once loses it with its memory, and it is what
        // baselines and path rules need most.
        var exe: ExecutablePath?
        if case .success(let target) = process.readLink(relative: "exe") {
            exe = target.withParserInput { ExecutablePath.parse($0) }
        }
        var exeFile: FileAttributes?
        var attributes = Glibc.stat()
        if fstatat(process.rawValue, "exe", &attributes, 0) == 0 {
            exeFile = FileAttributes(
                mode: UInt32(attributes.st_mode), owner: UInt32(attributes.st_uid), group: UInt32(attributes.st_gid))
        }
        var cmdline: [String] = []
        var truncated = false
        var commandLineRead = false
        if readCommandLineNow(stat), let complete = readFile(process, "cmdline", recordAs: "", limit: cmdlineLimit) {
            cmdline = ProcCmdline.parse(buffer.bytes[...])
            truncated = !complete
            commandLineRead = true
        }
        var stdio: [String] = []
        for descriptor in ["fd/0", "fd/1", "fd/2"] {
            if case .success(let target) = process.readLink(relative: descriptor) {
                stdio.append(Bytes.string(target))
            } else {
                stdio.append("")
            }
        }
        guard readFile(process, "status", recordAs: "") != nil, let parsed = ProcStatus.parse(buffer.bytes[...]) else {
            return (nil, cgroup, false)
        }
        var record = ProcessRecord(
            pid: stat.pid, ppid: stat.ppid, startTime: stat.startTime, comm: stat.comm, exe: exe,
            cmdline: cmdline, cmdlineTruncated: truncated, status: parsed, tty: stat.tty)
        record.state = stat.state
        record.stdio = stdio
        record.exeFile = exeFile
        return (record, cgroup, commandLineRead)
    }

    /// Reads only the command line of `pid` (the one /proc read that can block: it takes the target's
    /// mmap lock). Returns nil when the process is gone.
    public mutating func readCmdline(pid: Int32) -> (arguments: [String], truncated: Bool)? {
        guard let process = try? directory.open(relative: String(pid), directory: true),
            let complete = readFile(process, "cmdline", recordAs: "", limit: cmdlineLimit)
        else { return nil }
        return (ProcCmdline.parse(buffer.bytes[...]), !complete)
    }

    /// Reads only `/proc/PID/stat`: the cheap check of identity and parent.
    public mutating func readStat(pid: Int32) -> ProcStat? {
        guard let process = try? directory.open(relative: String(pid), directory: true) else { return nil }
        guard readFile(process, "stat", recordAs: recorder == nil ? "" : "\(pid)/") != nil else { return nil }
        return ProcStat.parse(buffer.bytes[...])
    }

    /// The cgroups of `pid`, or nil when it is gone.
    public mutating func readCgroups(pid: Int32) -> [CgroupMembership]? {
        guard let process = try? directory.open(relative: String(pid), directory: true) else { return nil }
        guard readFile(process, "cgroup", recordAs: recorder == nil ? "" : "\(pid)/") != nil else { return nil }
        return CgroupMembership.parse(buffer.bytes[...])
    }

    /// The mounts `pid` sees, or nil when it is gone.
    public mutating func readMounts(pid: Int32) -> [MountEntry]? {
        guard let process = try? directory.open(relative: String(pid), directory: true) else { return nil }
        guard readFile(process, "mountinfo", recordAs: recorder == nil ? "" : "\(pid)/", limit: 4 << 20, records: true) != nil
        else { return nil }
        return MountEntry.parse(buffer.bytes[...])
    }

    /// The namespace `type` (`pid`, `net`, `mnt`, `ipc`, `uts`, `user`, `cgroup`) of `pid`, by the
    /// `ns/TYPE` link; `pid` 0 means the reader's own process (`self`).
    public func namespace(pid: Int32, _ type: String) -> NamespaceLink? {
        let path = (pid == 0 ? "self" : String(pid)) + "/ns/" + type
        guard case .success(let target) = directory.readLink(relative: path) else { return nil }
        recorder?.recordLink(.proc, path, target: target)
        return target.withParserInput { NamespaceLink.parse($0) }
    }

    /// A small file under the /proc root, such as `sys/kernel/cap_last_cap`, trimmed; nil when absent.
    public mutating func readValue(_ path: String) -> String? {
        guard let file = try? directory.open(relative: path) else { return nil }
        guard case .success = file.readAll(into: &buffer, limit: 64 * 1024) else { return nil }
        recorder?.recordFile(.proc, path, buffer.bytes)
        return Bytes.string(Bytes.trimmed(buffer.bytes[...]))
    }

    /// Reads `name` under the process directory into the buffer. Returns nil when it cannot be read,
    /// else whether it was read completely (false: cut at `limit`).
    @discardableResult
    private mutating func readFile(
        _ process: borrowing FileDescriptor, _ name: String, recordAs prefix: String, limit: Int = 1 << 20, records: Bool = false
    ) -> Bool? {
        guard let file = try? process.open(relative: name) else { return nil }
        // stat, status, cgroup and cmdline come whole in one read; a file of many records
        // (mountinfo) comes a page at a time, and only a read of 0 ends it.
        switch file.readAll(into: &buffer, limit: limit, shortReadEnds: !records) {
        case .failure: return nil
        case .success(let complete):
            recorder?.recordFile(.proc, prefix + name, buffer.bytes)
            return complete
        }
    }
}
