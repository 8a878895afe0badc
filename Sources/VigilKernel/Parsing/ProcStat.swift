/// The fields Vigil uses from `/proc/PID/stat`.
public struct ProcStat: Equatable, Sendable {
    public var pid: Int32
    /// The command name (comm), at most 15 bytes, may hold spaces and `)`.
    public var comm: String
    public var state: UInt8
    public var ppid: Int32
    public var threads: Int32
    /// Start time in clock ticks since boot (field 22): with the pid, the identity of a process.
    public var startTime: UInt64
    /// The controlling terminal (field 7, `tty_nr`): 0 when none.
    public var tty: UInt32

    public init(
        pid: Int32, comm: String, state: UInt8, ppid: Int32, threads: Int32, startTime: UInt64, tty: UInt32 = 0
    ) {
        self.pid = pid
        self.comm = comm
        self.state = state
        self.ppid = ppid
        self.threads = threads
        self.startTime = startTime
        self.tty = tty
    }

    /// Parses the contents of `/proc/PID/stat`. The comm is between the first `(` and the *last* `)`,
    /// because a comm may itself contain `)`, `(` and spaces. Returns nil on malformed input.
    public static func parse(_ bytes: UnsafeRawBufferPointer.SubSequence) -> ProcStat? {
        guard let open = bytes.firstIndex(of: 0x28),
            let close = bytes.lastIndex(of: 0x29), close > open,
            let pid = Bytes.decimal(Bytes.trimmed(bytes[bytes.startIndex..<open])), pid <= UInt64(Int32.max)
        else { return nil }
        let comm = Bytes.string(bytes[(open + 1)..<close])
        // Fields after the comm: index 0 is field 3 (state), so field N is index N - 3.
        var state: UInt8 = 0
        var ppid: Int64?
        var threads: Int64?
        var tty: Int64 = 0
        var startTime: UInt64?
        var index = 0
        Bytes.forEachField(bytes[(close + 1)...]) { field in
            switch index {
            case 0: state = field.first ?? 0
            case 1: ppid = Bytes.signedDecimal(field)
            case 4: tty = Bytes.signedDecimal(field) ?? 0
            case 17: threads = Bytes.signedDecimal(field)
            case 19:
                startTime = Bytes.decimal(field)
                return false
            default: break
            }
            index += 1
            return true
        }
        guard let ppid, let startTime, ppid >= 0, ppid <= Int64(Int32.max) else { return nil }
        let threadCount = Int32(clamping: threads ?? 1)
        return ProcStat(
            pid: Int32(pid), comm: comm, state: state, ppid: Int32(ppid), threads: threadCount,
            startTime: startTime, tty: UInt32(truncatingIfNeeded: tty))
    }
}
