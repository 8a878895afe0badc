/// One event from the kernel's process-events connector (`linux/cn_proc.h`).
///
/// Pids are as the kernel names them: `pid` is the thread id, `tgid` the process id.
public enum ProcessEvent: Equatable, Sendable {
    case fork(parentPid: Int32, parentTgid: Int32, childPid: Int32, childTgid: Int32)
    case exec(pid: Int32, tgid: Int32)
    case uid(pid: Int32, tgid: Int32, real: UInt32, effective: UInt32)
    case gid(pid: Int32, tgid: Int32, real: UInt32, effective: UInt32)
    case sid(pid: Int32, tgid: Int32)
    case ptrace(pid: Int32, tgid: Int32, tracerPid: Int32, tracerTgid: Int32)
    case comm(pid: Int32, tgid: Int32, comm: String)
    case coredump(pid: Int32, tgid: Int32)
    case exit(pid: Int32, tgid: Int32, exitCode: UInt32, exitSignal: UInt32, parentPid: Int32, parentTgid: Int32)
    /// The kernel's acknowledgement of a subscription (`PROC_EVENT_NONE`).
    case acknowledgement(error: UInt32)
    /// An event kind this version does not know.
    case unknown(what: UInt32)

    /// `PROC_EVENT_*` values.
    public enum Kind {
        public static let none: UInt32 = 0
        public static let fork: UInt32 = 0x1
        public static let exec: UInt32 = 0x2
        public static let uid: UInt32 = 0x4
        public static let gid: UInt32 = 0x40
        public static let sid: UInt32 = 0x80
        public static let ptrace: UInt32 = 0x100
        public static let comm: UInt32 = 0x200
        public static let nonzeroExit: UInt32 = 0x2000_0000
        public static let coredump: UInt32 = 0x4000_0000
        public static let exit: UInt32 = 0x8000_0000
        /// Every event (`PROC_EVENT_ALL`).
        public static let all: UInt32 = fork | exec | uid | gid | sid | ptrace | comm | nonzeroExit | coredump | exit
    }
}

/// A connector event with its delivery facts.
public struct ConnectorMessage: Equatable, Sendable {
    /// The CPU the event was raised on; sequence numbers count per CPU.
    public var cpu: UInt32
    /// The per-CPU sequence number (`cn_msg.seq`): a jump means events were lost.
    public var sequence: UInt32
    /// Nanoseconds since boot (`ktime_get_ns`).
    public var timestamp: UInt64
    public var event: ProcessEvent

    public init(cpu: UInt32, sequence: UInt32, timestamp: UInt64, event: ProcessEvent) {
        self.cpu = cpu
        self.sequence = sequence
        self.timestamp = timestamp
        self.event = event
    }
}

/// Parses connector datagrams: netlink messages (`nlmsghdr`, 16 bytes) each carrying a `cn_msg`
/// (20 bytes) whose data is a `proc_event` {what, cpu, timestamp_ns, union}. Byte-level, little-endian
/// host order, bounds-checked: a short or corrupt datagram yields fewer messages, never a crash.
public enum ConnectorParser {
    static let netlinkHeaderSize = 16
    static let connectorHeaderSize = 20
    static let eventHeaderSize = 16

    /// Calls `body` for each process event in `datagram`.
    public static func parse(_ datagram: UnsafeRawBufferPointer, _ body: (ConnectorMessage) -> Void) {
        var offset = 0
        while offset + netlinkHeaderSize <= datagram.count {
            let length = Int(u32(datagram, offset))
            let type = u16(datagram, offset + 4)
            guard length >= netlinkHeaderSize, offset + length <= datagram.count else { return }
            // NLMSG_NOOP 1, NLMSG_ERROR 2, NLMSG_OVERRUN 4: nothing for us. The connector uses NLMSG_DONE (3).
            if type == 3 {
                parseConnector(datagram, from: offset + netlinkHeaderSize, to: offset + length, body)
            }
            offset += (length + 3) & ~3
        }
    }

    private static func parseConnector(
        _ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, _ body: (ConnectorMessage) -> Void
    ) {
        guard start + connectorHeaderSize + eventHeaderSize <= end else { return }
        // cn_msg: id.idx, id.val, seq, ack, len (u16), flags (u16).
        guard u32(bytes, start) == 1, u32(bytes, start + 4) == 1 else { return }
        let sequence = u32(bytes, start + 8)
        let dataLength = Int(u16(bytes, start + 16))
        let event = start + connectorHeaderSize
        guard dataLength >= eventHeaderSize, event + dataLength <= end else { return }
        let what = u32(bytes, event)
        let cpu = u32(bytes, event + 4)
        let timestamp = u64(bytes, event + 8)
        let data = event + eventHeaderSize
        let available = dataLength - eventHeaderSize
        func i32(_ index: Int) -> Int32 { Int32(bitPattern: u32(bytes, data + index * 4)) }
        func w32(_ index: Int) -> UInt32 { u32(bytes, data + index * 4) }
        func need(_ words: Int) -> Bool { available >= words * 4 }

        let parsed: ProcessEvent
        switch what {
        case ProcessEvent.Kind.none:
            guard need(1) else { return }
            // proc_event.event_data.ack.err
            parsed = .acknowledgement(error: w32(0))
        case ProcessEvent.Kind.fork:
            guard need(4) else { return }
            parsed = .fork(parentPid: i32(0), parentTgid: i32(1), childPid: i32(2), childTgid: i32(3))
        case ProcessEvent.Kind.exec:
            guard need(2) else { return }
            parsed = .exec(pid: i32(0), tgid: i32(1))
        case ProcessEvent.Kind.uid:
            guard need(4) else { return }
            parsed = .uid(pid: i32(0), tgid: i32(1), real: w32(2), effective: w32(3))
        case ProcessEvent.Kind.gid:
            guard need(4) else { return }
            parsed = .gid(pid: i32(0), tgid: i32(1), real: w32(2), effective: w32(3))
        case ProcessEvent.Kind.sid:
            guard need(2) else { return }
            parsed = .sid(pid: i32(0), tgid: i32(1))
        case ProcessEvent.Kind.ptrace:
            guard need(4) else { return }
            parsed = .ptrace(pid: i32(0), tgid: i32(1), tracerPid: i32(2), tracerTgid: i32(3))
        case ProcessEvent.Kind.comm:
            guard available >= 8 + 16 else { return }
            let name = UnsafeRawBufferPointer(rebasing: bytes[(data + 8)..<(data + 24)])
            let length = name.firstIndex(of: 0) ?? 16
            parsed = .comm(pid: i32(0), tgid: i32(1), comm: Bytes.string(name[0..<length]))
        case ProcessEvent.Kind.coredump:
            guard need(2) else { return }
            parsed = .coredump(pid: i32(0), tgid: i32(1))
        case ProcessEvent.Kind.exit, ProcessEvent.Kind.nonzeroExit:
            guard need(4) else { return }
            // Kernels before 4.18 do not carry the parent: report 0 then.
            let hasParent = need(6)
            parsed = .exit(
                pid: i32(0), tgid: i32(1), exitCode: w32(2), exitSignal: w32(3),
                parentPid: hasParent ? i32(4) : 0, parentTgid: hasParent ? i32(5) : 0)
        default:
            parsed = .unknown(what: what)
        }
        body(ConnectorMessage(cpu: cpu, sequence: sequence, timestamp: timestamp, event: parsed))
    }

    @inline(__always)
    static func u16(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
    }

    @inline(__always)
    static func u32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }

    @inline(__always)
    static func u64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
    }
}

/// Detects lost connector events from per-CPU sequence numbers.
///
/// The kernel numbers every process event per CPU before sending it, so a listener that receives all of
/// them sees each CPU's numbers without gaps; a gap counts the events the socket dropped (for instance
/// when its receive buffer was full). Vigil therefore subscribes to every event kind: a kernel-side
/// filter would make gaps of the filtered events, indistinguishable from losses.
public struct SequenceTracker: Sendable {
    private var last: [UInt32: UInt32] = [:]

    public init() {}

    /// Records `message` and returns how many events before it were lost on its CPU (0 normally).
    public mutating func record(_ message: ConnectorMessage) -> UInt64 {
        defer { last[message.cpu] = message.sequence }
        guard let previous = last[message.cpu] else { return 0 }
        let expected = previous &+ 1
        if message.sequence == expected { return 0 }
        let gap = message.sequence &- expected
        // A number far behind is a reordering or a restart of counting, not billions of losses.
        return gap < 1 << 31 ? UInt64(gap) : 0
    }

    /// Forgets what was seen (after a resync, counting starts afresh).
    public mutating func reset() { last.removeAll() }
}
