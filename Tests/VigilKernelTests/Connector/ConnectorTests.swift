import Glibc
import Testing
import VigilKernel

/// Builds a connector datagram the way the kernel lays it out: nlmsghdr, cn_msg, proc_event.
func connectorDatagram(what: UInt32, cpu: UInt32 = 0, sequence: UInt32 = 0, words: [UInt32], comm: String? = nil)
    -> [UInt8]
{
    var payload: [UInt8] = []
    func put32(_ value: UInt32, into bytes: inout [UInt8]) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    func put16(_ value: UInt16, into bytes: inout [UInt8]) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    put32(what, into: &payload)
    put32(cpu, into: &payload)
    withUnsafeBytes(of: UInt64(123_456_789).littleEndian) { payload += $0 }
    for word in words { put32(word, into: &payload) }
    if let comm {
        var name = Array(comm.utf8.prefix(15))
        name += [UInt8](repeating: 0, count: 16 - name.count)
        payload += name
    }
    var message: [UInt8] = []
    put32(1, into: &message)  // idx CN_IDX_PROC
    put32(1, into: &message)  // val CN_VAL_PROC
    put32(sequence, into: &message)
    put32(0, into: &message)  // ack
    put16(UInt16(payload.count), into: &message)
    put16(0, into: &message)
    message += payload
    var datagram: [UInt8] = []
    put32(UInt32(16 + message.count), into: &datagram)
    put16(3, into: &datagram)  // NLMSG_DONE
    put16(0, into: &datagram)
    put32(0, into: &datagram)
    put32(0, into: &datagram)
    datagram += message
    while datagram.count % 4 != 0 { datagram.append(0) }
    return datagram
}

func parseAll(_ bytes: [UInt8]) -> [ConnectorMessage] {
    var messages: [ConnectorMessage] = []
    bytes.withUnsafeBytes { ConnectorParser.parse($0) { messages.append($0) } }
    return messages
}

@Suite("Connector messages")
struct ConnectorParserTests {
    @Test("fork, exec, exit, uid, gid and comm events decode with their pids and values")
    func decodesEveryKind() {
        let fork = parseAll(connectorDatagram(what: 0x1, cpu: 1, sequence: 7, words: [10, 10, 11, 11]))
        #expect(fork == [ConnectorMessage(cpu: 1, sequence: 7, timestamp: 123_456_789, event: .fork(parentPid: 10, parentTgid: 10, childPid: 11, childTgid: 11))])
        #expect(parseAll(connectorDatagram(what: 0x2, words: [42, 40])).first?.event == .exec(pid: 42, tgid: 40))
        #expect(
            parseAll(connectorDatagram(what: 0x8000_0000, words: [5, 5, 256, 17, 1, 1])).first?.event
                == .exit(pid: 5, tgid: 5, exitCode: 256, exitSignal: 17, parentPid: 1, parentTgid: 1))
        #expect(parseAll(connectorDatagram(what: 0x4, words: [5, 5, 1000, 0])).first?.event == .uid(pid: 5, tgid: 5, real: 1000, effective: 0))
        #expect(parseAll(connectorDatagram(what: 0x40, words: [5, 5, 1, 2])).first?.event == .gid(pid: 5, tgid: 5, real: 1, effective: 2))
        #expect(parseAll(connectorDatagram(what: 0x200, words: [9, 9], comm: "a) b (c")).first?.event == .comm(pid: 9, tgid: 9, comm: "a) b (c"))
        #expect(parseAll(connectorDatagram(what: 0x1234, words: [])).first?.event == .unknown(what: 0x1234))
    }

    @Test("several netlink messages in one datagram are all delivered")
    func severalMessages() {
        let bytes = connectorDatagram(what: 0x2, sequence: 1, words: [1, 1]) + connectorDatagram(what: 0x2, sequence: 2, words: [2, 2])
        #expect(parseAll(bytes).map(\.sequence) == [1, 2])
    }

    @Test("truncated and random datagrams never crash and never yield events past the end")
    func arbitraryBytes() {
        let real = connectorDatagram(what: 0x1, words: [1, 1, 2, 2])
        for length in 0..<real.count {
            #expect(parseAll(Array(real[0..<length])).isEmpty)
        }
        var state: UInt64 = 0x5eed
        for _ in 0..<3000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let count = Int(state >> 54)
            var bytes = [UInt8](repeating: 0, count: count)
            for index in bytes.indices {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
            }
            // A random prefix that looks like a header: exercises the bounds checks deeper in.
            if count >= 8 && state & 1 == 0 {
                bytes.replaceSubrange(0..<4, with: withUnsafeBytes(of: UInt32(count).littleEndian, Array.init))
                bytes[4] = 3
                bytes[5] = 0
            }
            _ = parseAll(bytes)
        }
    }

    @Test("sequence gaps per CPU count lost events; in-order numbers count none")
    func sequenceGaps() {
        var tracker = SequenceTracker()
        func message(_ cpu: UInt32, _ sequence: UInt32) -> ConnectorMessage {
            ConnectorMessage(cpu: cpu, sequence: sequence, timestamp: 0, event: .exec(pid: 1, tgid: 1))
        }
        #expect(tracker.record(message(0, 5)) == 0)
        #expect(tracker.record(message(1, 100)) == 0)
        #expect(tracker.record(message(0, 6)) == 0)
        #expect(tracker.record(message(0, 10)) == 3)
        #expect(tracker.record(message(1, 101)) == 0)
        // A number far behind (a counter restart) is not billions of losses.
        #expect(tracker.record(message(0, 2)) == 0)
    }
}

@Suite("Process-events connector, live")
struct ConnectorLiveTests {
    static var isRoot: Bool { getuid() == 0 }
    static var isCI: Bool { getenv("CI").map { String(cString: $0) == "true" } ?? false }

    @Test(
        "a subscription sees the fork, exec and exit of a child, with its exit code",
        .enabled(if: isRoot || isCI, "needs root (CAP_NET_ADMIN) for the process-events connector"))
    func seesChildLifecycle() throws {
        let connector = try ProcessEventsConnector()
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup("exit 3"), nil]
        defer { for arg in argv { free(arg) } }
        #expect(posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ) == 0)
        var forked = false
        var execed = false
        var exitCode: UInt32?
        let deadline = monotonicNanoseconds() + 5_000_000_000
        while exitCode == nil, monotonicNanoseconds() < deadline {
            _ = connector.receive(timeoutMilliseconds: 100) { message in
                switch message.event {
                case .fork(_, _, let child, _) where child == pid: forked = true
                case .exec(let p, _) where p == pid: execed = true
                case .exit(let p, let tgid, let code, _, _, _) where p == pid && tgid == pid: exitCode = code
                default: break
                }
            }
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(forked)
        #expect(execed)
        // The kernel reports the wait status: exit code 3 is 3 << 8.
        #expect(exitCode == 3 << 8)
    }
}
