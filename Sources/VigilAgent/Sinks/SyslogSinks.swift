import Glibc
import VigilKernel

/// The local syslog daemon's datagram socket (`/dev/log`, or a path such as rsyslog's imuxsock
/// socket), in the form `syslog(3)` uses: `<PRI>Mmm dd hh:mm:ss vigil[PID]: {json}`.
///
/// A daemon that restarts removes and recreates its socket: sends then fail with ECONNREFUSED or
/// ENOENT, and the sink connects again. Datagrams still unread in the old socket are freed by the
/// kernel without a word, so the sink keeps the ones sent since it last saw the daemon's queue empty
/// (`SIOCOUTQ` = 0) and sends them again on the new socket. An empty queue proves they were read only
/// if the daemon is still there — one that closes its socket empties the queue too — which a later
/// successful send shows, or, while idle, the socket file being the one connected to and still
/// accepting connections.
final class LocalSyslogSink: SinkTransport {
    let path: String
    private let facility: SyslogFacility
    private let processID: Int32
    private let clock: SyslogClock
    private let unconfirmedLimit: Int
    private var socket: FileDescriptor?
    /// Sent since the daemon's queue was last seen empty while it was alive. Only the newest can be
    /// unread: a receiver queues at most `net.unix.max_dgram_qlen` datagrams (10 by default) before
    /// senders wait, so keeping the newest `unconfirmedLimit` (halved when full) covers them.
    private var unconfirmed: [[UInt8]] = []
    /// The queue was seen empty; the next successful send proves it was the daemon reading it.
    private var sawEmptyQueue = false
    /// The socket file connected to (device, inode), when it did not change during the connect.
    private var connectedFile: SinkCalls.FileIdentity?
    /// To send again after a reconnect.
    private var resend: [[UInt8]] = []

    init(path: String, facility: SyslogFacility, processID: Int32, clock: SyslogClock, unconfirmedLimit: Int) {
        self.path = path
        self.facility = facility
        self.processID = processID
        self.clock = clock
        self.unconfirmedLimit = max(1, unconfirmedLimit)
    }

    func connect(_ waiter: SinkWaiter) -> ConnectOutcome {
        socket = nil
        let created: FileDescriptor
        switch SinkCalls.socket(family: AF_UNIX, type: Int32(SOCK_DGRAM.rawValue)) {
        case .success(let fd): created = fd
        case .failure(let error): return .failed("socket: \(error)")
        }
        let before = SinkCalls.fileIdentity(path)
        if case .failure(let error) = SinkCalls.connect(created.rawValue, unixPath: path) {
            return .failed("connect \(path): \(error)")
        }
        let after = SinkCalls.fileIdentity(path)
        connectedFile = before == after ? after : nil
        socket = consume created
        sawEmptyQueue = false
        // Taken out while they go: a send that finds the receiver gone holds frames anew.
        let held = resend
        resend = []
        let (outcome, unsent) = sendHeld(held) { send($0, waiter) }
        resend += unsent
        return outcome
    }

    func deliver(_ record: OutputRecord, _ waiter: SinkWaiter) -> DeliveryOutcome {
        send(SyslogMessage.local(record, facility: facility, processID: processID, clock: clock), waiter)
    }

    private func send(_ message: [UInt8], _ waiter: SinkWaiter) -> DeliveryOutcome {
        guard let fd = socket?.rawValue else { return .down("\(path) is not connected") }
        if SinkCalls.unconsumedBytes(fd) == 0 { sawEmptyQueue = true }
        while true {
            let result = message.withUnsafeBytes { SinkCalls.send(fd, $0) }
            switch result {
            case .success:
                // The send reached a live socket, the same one as before: the empty queue seen before
                // it was the daemon's reading.
                if sawEmptyQueue { unconfirmed.removeAll(keepingCapacity: true) }
                sawEmptyQueue = false
                if unconfirmed.count >= unconfirmedLimit { unconfirmed.removeFirst(unconfirmed.count / 2) }
                unconfirmed.append(message)
                return .delivered
            case .failure(let error) where error == .wouldBlock || error.rawValue == ENOBUFS:
                // The daemon's queue is full: wait until it reads.
                if waiter.wait(for: fd, events: Int16(POLLOUT)) == .stopping { return .stopping }
            case .failure(let error) where error == .messageTooLong:
                return .rejected("a message of \(message.count) bytes is larger than \(path) takes")
            case .failure(let error):
                // ECONNREFUSED (the daemon closed its socket), ENOENT, ENOTCONN: reconnect, and send
                // again what it may not have read.
                resend = unconfirmed + resend
                unconfirmed.removeAll(keepingCapacity: true)
                sawEmptyQueue = false
                socket = nil
                return .down("send to \(path): \(error)")
            }
        }
    }

    func settle() -> Bool {
        guard let fd = socket?.rawValue, !unconfirmed.isEmpty else { return false }
        guard SinkCalls.unconsumedBytes(fd) == 0 else { return true }
        // Empty: read, or thrown away by a daemon that closed its socket. Still the same socket file,
        // still accepting connections: the daemon is there, so it read them.
        if let connectedFile, SinkCalls.fileIdentity(path) == connectedFile, SinkCalls.acceptsDatagrams(path) {
            unconfirmed.removeAll(keepingCapacity: true)
            sawEmptyQueue = false
        }
        return false
    }

    func disconnect() {
        socket = nil
    }
}

/// Frames sent recently, with when: what a receiver that went away may have thrown away unread, to be
/// sent again on the next connection. Kept for `window` ns, at most `limit` of them.
struct RecentFrames {
    private let window: UInt64
    private let limit: Int
    private var frames: [(time: UInt64, frame: [UInt8])] = []

    init(window: UInt64, limit: Int) {
        self.window = window
        self.limit = max(1, limit)
    }

    mutating func remember(_ frame: [UInt8]) {
        let now = monotonicNanoseconds()
        var expired = 0
        while expired < frames.count
            && (now - frames[expired].time > window || frames.count - expired >= limit)
        {
            expired += 1
        }
        if expired > 0 { frames.removeFirst(expired) }
        frames.append((now, frame))
    }

    /// The frames sent within the window, oldest first; forgets them all.
    mutating func take() -> [[UInt8]] {
        let now = monotonicNanoseconds()
        defer { frames.removeAll(keepingCapacity: true) }
        return frames.filter { now - $0.time <= window }.map(\.frame)
    }

    mutating func forget() {
        frames.removeAll(keepingCapacity: true)
    }
}

/// Remote syslog over UDP: one RFC 5424 message per datagram (RFC 5426), on a connected socket so
/// that ICMP "port unreachable" comes back as ECONNREFUSED. On loopback the refusal is there as soon
/// as `send` returns, so the refused record is kept and sent again when the receiver is back.
///
/// A receiver that stops frees, unread, the datagrams that reached its socket after it stopped reading;
/// no sender is told. So when a refusal shows it went away, the datagrams sent in the last
/// `resendWindow` are sent again too, and reported as possibly duplicated. What UDP drops on the way
/// or in a full receive buffer no sender can see.
final class UDPSyslogSink: SinkTransport {
    private let address: IPAddress
    private let port: UInt16
    private let facility: SyslogFacility
    private let hostname: String
    private let processID: Int32
    private var socket: FileDescriptor?
    private var recent: RecentFrames
    private var resend: [[UInt8]] = []

    init(
        address: IPAddress, port: UInt16, facility: SyslogFacility, hostname: String, processID: Int32,
        tuning: SinkTuning
    ) {
        self.address = address
        self.port = port
        self.facility = facility
        self.hostname = hostname
        self.processID = processID
        self.recent = RecentFrames(window: tuning.resendWindow, limit: tuning.resendLimit)
    }

    private var destination: String { "\(address.uriHost):\(port)" }

    /// A connected UDP socket proves nothing: only a datagram that is not refused does.
    var connectShowsReachable: Bool { false }

    func connect(_ waiter: SinkWaiter) -> ConnectOutcome {
        socket = nil
        let created: FileDescriptor
        switch SinkCalls.socket(family: address.isIPv6 ? AF_INET6 : AF_INET, type: Int32(SOCK_DGRAM.rawValue)) {
        case .success(let fd): created = fd
        case .failure(let error): return .failed("socket: \(error)")
        }
        if case .failure(let error) = SinkCalls.connect(created.rawValue, to: address, port: port) {
            return .failed("connect \(destination): \(error)")
        }
        socket = consume created
        // Taken out while they go: a send that finds the receiver gone holds frames anew.
        let held = resend
        resend = []
        let (outcome, unsent) = sendHeld(held) { send($0, waiter) }
        resend += unsent
        return outcome
    }

    func deliver(_ record: OutputRecord, _ waiter: SinkWaiter) -> DeliveryOutcome {
        send(SyslogMessage.rfc5424(record, facility: facility, hostname: hostname, processID: processID), waiter)
    }

    private func send(_ message: [UInt8], _ waiter: SinkWaiter) -> DeliveryOutcome {
        guard let fd = socket?.rawValue else { return .down("no socket for \(destination)") }
        while true {
            let result = message.withUnsafeBytes { SinkCalls.send(fd, $0) }
            switch result {
            case .success:
                if SinkCalls.pendingError(fd) == .connectionRefused { return receiverGone() }
                recent.remember(message)
                return .delivered
            case .failure(let error) where error == .connectionRefused:
                // A refusal of an earlier datagram; this one was not sent.
                return receiverGone()
            case .failure(let error) where error == .wouldBlock || error.rawValue == ENOBUFS:
                if waiter.wait(for: fd, events: Int16(POLLOUT)) == .stopping { return .stopping }
            case .failure(let error) where error == .messageTooLong:
                return .rejected(
                    "a message of \(message.count) bytes is larger than a UDP datagram to \(destination) can be")
            case .failure(let error):
                socket = nil
                return .down("send to \(destination): \(error)")
            }
        }
    }

    private func receiverGone() -> DeliveryOutcome {
        resend = recent.take() + resend
        socket = nil
        return .down("\(destination) refused the datagram (nothing listens there)")
    }

    func disconnect() {
        socket = nil
    }
}

/// Remote syslog over TCP: RFC 5424 messages with octet-counting framing (`LEN SP MSG`, RFC 6587).
///
/// Plain TCP syslog has no acknowledgements. Before each write the sink checks whether the receiver
/// closed the connection (as rsyslog's own forwarder does), so a restart is noticed before a line goes
/// into a dead connection. When the connection ends with a reset — the receiver threw away data it had
/// not read — the lines written in the last `resendWindow` are sent again on the new connection, and
/// reported as possibly duplicated.
final class TCPSyslogSink: SinkTransport {
    private let address: IPAddress
    private let port: UInt16
    private let facility: SyslogFacility
    private let hostname: String
    private let processID: Int32
    private let tuning: SinkTuning
    private var socket: FileDescriptor?
    /// What a reset may have lost.
    private var recent: RecentFrames
    private var resend: [[UInt8]] = []

    init(
        address: IPAddress, port: UInt16, facility: SyslogFacility, hostname: String, processID: Int32,
        tuning: SinkTuning
    ) {
        self.address = address
        self.port = port
        self.facility = facility
        self.hostname = hostname
        self.processID = processID
        self.tuning = tuning
        self.recent = RecentFrames(window: tuning.resendWindow, limit: tuning.resendLimit)
    }

    private var destination: String { "\(address.uriHost):\(port)" }

    func connect(_ waiter: SinkWaiter) -> ConnectOutcome {
        socket = nil
        let created: FileDescriptor
        switch SinkCalls.socket(family: address.isIPv6 ? AF_INET6 : AF_INET, type: Int32(SOCK_STREAM.rawValue)) {
        case .success(let fd): created = fd
        case .failure(let error): return .failed("socket: \(error)")
        }
        let fd = created.rawValue
        // Lines are small and must not wait for Nagle's algorithm; keepalive notices a peer that vanished.
        SinkCalls.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
        SinkCalls.setOption(fd, level: SOL_SOCKET, name: SO_KEEPALIVE, value: 1)
        switch SinkCalls.connect(fd, to: address, port: port) {
        case .success: break
        case .failure(let error) where error == .inProgress:
            switch waiter.wait(for: fd, events: Int16(POLLOUT), until: monotonicNanoseconds() + tuning.connectTimeout) {
            case .stopping: return .stopping
            case .timedOut: return .failed("connect \(destination): timed out")
            case .ready:
                if let error = SinkCalls.pendingError(fd) { return .failed("connect \(destination): \(error)") }
            }
        case .failure(let error):
            return .failed("connect \(destination): \(error)")
        }
        socket = consume created
        // Taken out while they go: a send that finds the receiver gone holds frames anew.
        let held = resend
        resend = []
        let (outcome, unsent) = sendHeld(held) { write($0, waiter) }
        resend += unsent
        return outcome
    }

    func deliver(_ record: OutputRecord, _ waiter: SinkWaiter) -> DeliveryOutcome {
        let message = SyslogMessage.rfc5424(record, facility: facility, hostname: hostname, processID: processID)
        return write(SyslogMessage.octetCounted(message), waiter)
    }

    private func write(_ frame: [UInt8], _ waiter: SinkWaiter) -> DeliveryOutcome {
        guard let fd = socket?.rawValue else { return .down("not connected to \(destination)") }
        switch SinkCalls.peerClosed(fd) {
        case .success(false): break
        case .success(true):
            connectionEnded(fd, afterEndOfStream: true)
            return .down("\(destination) closed the connection")
        case .failure(let error):
            connectionEnded(fd, afterEndOfStream: false)
            return .down("connection to \(destination): \(error)")
        }
        var offset = 0
        while offset < frame.count {
            let result = frame.withUnsafeBytes { raw in
                SinkCalls.send(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            switch result {
            case .success(let written):
                offset += written
            case .failure(let error) where error == .wouldBlock:
                // The receiver is slow or stopped reading: wait, reporting drops meanwhile.
                if waiter.wait(for: fd, events: Int16(POLLOUT)) == .stopping { return .stopping }
            case .failure(let error):
                connectionEnded(fd, afterEndOfStream: false)
                return .down("send to \(destination): \(error)")
            }
        }
        recent.remember(frame)
        return .delivered
    }

    /// The connection is over. A clean end — the receiver closed after reading everything (FIN, no
    /// error, nothing of ours unacknowledged) — lost nothing; otherwise what was written recently is
    /// sent again after the reconnect.
    private func connectionEnded(_ fd: Int32, afterEndOfStream: Bool) {
        let clean = afterEndOfStream && SinkCalls.pendingError(fd) == nil && SinkCalls.unconsumedBytes(fd) == 0
        if clean {
            recent.forget()
        } else {
            resend = recent.take() + resend
        }
        socket = nil
    }

    func disconnect() {
        socket = nil
    }
}

/// Sends the frames held through an outage, oldest first, once the sink is connected again. A frame
/// the receiver rejects is dropped; at the first that cannot go, it and the rest are returned unsent.
func sendHeld(_ held: [[UInt8]], _ send: ([UInt8]) -> DeliveryOutcome) -> (ConnectOutcome, unsent: ArraySlice<[UInt8]>) {
    var resent = 0
    for (index, frame) in held.enumerated() {
        switch send(frame) {
        case .delivered: resent += 1
        case .rejected: break
        case .stopping: return (.stopping, held[index...])
        case .down(let reason): return (.failed(reason), held[index...])
        }
    }
    return (.connected(resent: resent), [])
}
