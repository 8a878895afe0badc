import Glibc
import Synchronization
import Testing
import VigilTestSupport
import VigilDetect
import VigilKernel

@testable import VigilAgent

// Receivers for the sink tests, built on plain system calls (not the code under test), all on
// 127.0.0.1 or in a temporary directory, each closed by its test.

/// The status reports a SinkSet made, for assertions.
final class StatusLog: Sendable {
    struct Report: Sendable {
        var message: String
        var counters: [(String, UInt64)]

        func counter(_ name: String) -> UInt64 { counters.first { $0.0 == name }?.1 ?? 0 }
    }

    private let reports = Mutex<[Report]>([])

    var handler: @Sendable (String, [(String, UInt64)]) -> Void {
        { [self] message, counters in reports.withLock { $0.append(Report(message: message, counters: counters)) } }
    }

    var all: [Report] { reports.withLock { $0 } }

    /// Reports about the sink `label`.
    func about(_ label: String) -> [Report] { all.filter { $0.message.hasPrefix("sink \(label) ") } }

    /// Every line the reports say `label` lost, dropped or left undelivered. "Has been down" reports
    /// repeat a running total that the recovery or closing report gives again, so they are not added.
    func reportedLosses(_ label: String) -> UInt64 {
        about(label).filter { !$0.message.contains("has been down for") }.reduce(0) {
            $0 + $1.counter("sink_lost") + $1.counter("sink_dropped") + $1.counter("sink_undelivered")
        }
    }

    var text: String { all.map(\.message).joined(separator: "\n") }
}

enum SinkTest {
    /// A record whose JSON carries `"seq":N`, so receivers can tell which lines arrived.
    static func record(_ sequence: Int, padding: Int = 0, priority: Priority = .warning) -> OutputRecord {
        let filler = String(repeating: "x", count: padding)
        let json = "{\"rule\":\"test_line\",\"seq\":\(sequence),\"pad\":\"\(filler)\"}"
        return OutputRecord(
            time: Timestamp(seconds: 1_764_469_835, nanoseconds: 123_456_789), priority: priority, name: "test_line",
            json: Array(json.utf8), text: "line \(sequence) \(filler)", message: "Test line \(sequence)",
            structuredData: [(SyslogMessage.structuredDataID, [("rule", "test_line"), ("seq", String(sequence))])])
    }

    /// The sequence numbers found in `text` (`"seq":N`), in order.
    static func sequences(in bytes: [UInt8]) -> [Int] {
        let key = Array("\"seq\":".utf8)
        var result: [Int] = []
        var index = 0
        while index + key.count <= bytes.count {
            guard bytes[index..<(index + key.count)].elementsEqual(key) else {
                index += 1
                continue
            }
            index += key.count
            var value = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                value = value * 10 + Int(bytes[index] - 0x30)
                digits += 1
                index += 1
            }
            if digits > 0 { result.append(value) }
        }
        return result
    }

    static func sequences(in text: String) -> [Int] { sequences(in: Array(text.utf8)) }

    static func now() -> UInt64 { monotonicNanoseconds() }

    /// Polls `condition` every 10 ms until it holds or `seconds` pass; whether it held.
    static func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
        while true {
            if condition() { return true }
            if monotonicNanoseconds() > deadline { return false }
            LiveGate.pause(milliseconds: 10)
        }
    }

    /// Short retry and report intervals, so outages play out in tenths of a second.
    static var quickTuning: SinkTuning {
        var tuning = SinkTuning()
        tuning.retryInitial = 10_000_000
        tuning.retryMax = 100_000_000
        tuning.lossReportInterval = 100_000_000
        return tuning
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// A unix datagram socket bound in a temporary directory: a stand-in for /dev/log.
final class DatagramReceiver {
    let path: String
    private(set) var fd: Int32 = -1

    init(path: String) throws {
        self.path = path
        try bind()
    }

    func bind() throws {
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LiveGate.SetupError("socket: \(SinkTest.errnoText())") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw LiveGate.SetupError("bind \(path): \(SinkTest.errnoText())") }
    }

    /// Closes the socket and removes its file, as a daemon that stops does.
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        unlink(path)
    }

    /// Datagrams received until `count` arrived or `seconds` passed.
    func receive(count: Int, within seconds: Double) -> [[UInt8]] {
        receiveDatagrams(fd, count: count, within: seconds)
    }

    deinit { close() }
}

/// A UDP socket on 127.0.0.1 with an ephemeral port.
final class UDPReceiver {
    private(set) var fd: Int32
    let port: UInt16

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LiveGate.SetupError("socket: \(SinkTest.errnoText())") }
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, 4)
        port = try bindLoopback(fd, port: 0)
    }

    func receive(count: Int, within seconds: Double) -> [[UInt8]] {
        receiveDatagrams(fd, count: count, within: seconds)
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}

/// A TCP listener on 127.0.0.1 whose thread accepts connections and reads them into one buffer of
/// octet-counted frames — or, with `reads: false`, accepts and never reads (a stuck receiver).
/// `stop()` closes everything (the port stays ours to listen on again with `start()`).
final class TCPReceiver: @unchecked Sendable {
    private(set) var port: UInt16 = 0
    private let reads: Bool
    private let received = Mutex<[UInt8]>([])
    private let connections = Mutex<Int>(0)
    private let running = Atomic<Bool>(false)
    private var listener: Int32 = -1
    private var thread: SystemThread?

    init(reads: Bool = true) throws {
        self.reads = reads
        try start()
    }

    var bytes: [UInt8] { received.withLock { $0 } }
    var accepted: Int { connections.withLock { $0 } }

    /// The frames received so far, parsed from the octet-counting framing; nil if the framing is broken.
    var frames: [[UInt8]]? {
        let data = bytes
        var frames: [[UInt8]] = []
        var offset = 0
        while offset < data.count {
            guard let space = data[offset...].firstIndex(of: 0x20),
                let length = Int(String(decoding: data[offset..<space], as: UTF8.self))
            else { return nil }
            let end = space + 1 + length
            if end > data.count { break }  // still arriving
            frames.append(Array(data[(space + 1)..<end]))
            offset = end
        }
        return frames
    }

    func start() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw LiveGate.SetupError("socket: \(SinkTest.errnoText())") }
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, 4)
        if !reads {
            // A small receive buffer, inherited by accepted connections, so the stuck receiver fills quickly.
            var size: Int32 = 4096
            setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &size, 4)
        }
        port = try bindLoopback(listener, port: port)
        guard listen(listener, 16) == 0 else { throw LiveGate.SetupError("listen: \(SinkTest.errnoText())") }
        running.store(true, ordering: .releasing)
        let listener = self.listener
        thread = try SystemThread(name: "test-tcp") { [self] in serve(listener) }
    }

    /// Closes the listener and every connection, as a daemon that stops does.
    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        thread?.join()
        thread = nil
        Glibc.close(listener)
        listener = -1
    }

    private func serve(_ listener: Int32) {
        var clients: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while running.load(ordering: .acquiring) {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            if reads { fds += clients.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) } }
            _ = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 20) }
            if fds[0].revents != 0 {
                let client = accept(listener, nil, nil)
                if client >= 0 {
                    _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                    clients.append(client)
                    connections.withLock { $0 += 1 }
                }
            }
            for entry in fds.dropFirst() where entry.revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    received.withLock { $0.append(contentsOf: buffer[0..<n]) }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    Glibc.close(entry.fd)
                    clients.removeAll { $0 == entry.fd }
                }
            }
        }
        // Read what is left, so closing sends FIN rather than a reset.
        for client in clients {
            if reads {
                var flags = fcntl(client, F_GETFL)
                flags |= O_NONBLOCK
                _ = fcntl(client, F_SETFL, flags)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    received.withLock { $0.append(contentsOf: buffer[0..<n]) }
                }
            }
            Glibc.close(client)
        }
    }

    deinit { stop() }
}

/// Binds `fd` to 127.0.0.1:`port` (0: an ephemeral port); the port it got.
func bindLoopback(_ fd: Int32, port: UInt16) throws -> UInt16 {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
            Glibc.bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw LiveGate.SetupError("bind 127.0.0.1:\(port): \(SinkTest.errnoText())") }
    return UInt16(bigEndian: address.sin_port)
}

private func receiveDatagrams(_ fd: Int32, count: Int, within seconds: Double) -> [[UInt8]] {
    var result: [[UInt8]] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
    while result.count < count {
        let now = monotonicNanoseconds()
        if now >= deadline { break }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, Int32((deadline - now) / 1_000_000) + 1)
        if ready <= 0 { continue }
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n > 0 { result.append(Array(buffer[0..<n])) }
    }
    return result
}

/// The sink suites, grouped so that `swift test --filter Sinks` runs them all.
@Suite("Sinks")
enum SinksTests {}
