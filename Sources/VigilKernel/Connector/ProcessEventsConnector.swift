import CVigilShims
import Glibc

/// Why the connector cannot be used; the poll source takes over and says what is lost.
public struct ConnectorUnavailable: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// A subscription to the kernel's process-events connector: every fork, exec, exit, uid, gid and comm
/// change on the node, as it happens. Owns its netlink socket and unsubscribes when released.
///
/// Needs CAP_NET_ADMIN, the initial user and PID namespaces and the initial network namespace.
public final class ProcessEventsConnector {
    private let socket: FileDescriptor
    /// The receive buffer was enlarged with SO_RCVBUFFORCE (else SO_RCVBUF, capped by rmem_max).
    public let receiveBufferForced: Bool
    /// The receive buffer size the kernel granted, in bytes.
    public let receiveBufferSize: Int
    /// The kernel took the 8-byte subscription (`struct proc_input`, Linux 6.6+); else the 4-byte form.
    public private(set) var usesFilterRequest = false
    private var buffer: UnsafeMutableRawBufferPointer

    /// Opens, subscribes and checks that events arrive (by renaming this thread to its own name, which
    /// raises a comm event), trying the 8-byte request first and the 4-byte one after.
    public init(receiveBuffer: Int = 8 << 20) throws(ConnectorUnavailable) {
        var forced: Int32 = 0
        let fd = vigil_connector_open(Int32(clamping: receiveBuffer), &forced)
        if fd < 0 {
            let error = Errno.current
            throw ConnectorUnavailable(description: "cannot open the process-events connector: \(error)")
        }
        socket = FileDescriptor(adopting: fd)
        receiveBufferForced = forced != 0
        var size: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &length)
        receiveBufferSize = Int(size)
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 8)

        for withFilter in [true, false] {
            if vigil_connector_subscribe(fd, 1, withFilter ? 1 : 0, ProcessEvent.Kind.all) != 0 {
                // Every property is set by now, so throwing runs deinit, which frees the buffer.
                let error = Errno.current
                throw ConnectorUnavailable(description: "cannot subscribe to process events: \(error)")
            }
            if selfTest() {
                usesFilterRequest = withFilter
                return
            }
        }
        throw ConnectorUnavailable(
            description:
                "the process-events connector delivers no events (Vigil must run as root with CAP_NET_ADMIN, in the host's user, PID and network namespaces)"
        )
    }

    deinit {
        _ = vigil_connector_subscribe(socket.rawValue, 0, usesFilterRequest ? 1 : 0, ProcessEvent.Kind.all)
        buffer.deallocate()
    }

    /// The socket, for `poll(2)` together with other descriptors.
    public var descriptor: Int32 { socket.rawValue }

    /// Renames this thread to its own name and waits up to a second for the comm event.
    private func selfTest() -> Bool {
        var name = [CChar](repeating: 0, count: 17)
        _ = vigil_get_thread_name(&name)
        _ = vigil_set_thread_name(name)
        let tid = vigil_gettid()
        let deadline = monotonicNanoseconds() + 1_000_000_000
        var seen = false
        while !seen, monotonicNanoseconds() < deadline {
            let remaining = Int32((deadline - min(deadline, monotonicNanoseconds())) / 1_000_000)
            guard case .received = receive(timeoutMilliseconds: max(1, remaining), { message in
                if case .comm(let pid, _, _) = message.event, pid == tid { seen = true }
            }) else { continue }
        }
        return seen
    }

    /// What one `receive` call got.
    public enum Receive: Equatable, Sendable {
        /// One datagram, whose messages were passed to the handler.
        case received
        /// Nothing arrived within the timeout.
        case timedOut
        /// The socket's buffer overflowed (ENOBUFS): an unknown number of events were lost.
        case overrun
        case failed(Errno)
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for a datagram and passes its messages to `body`.
    /// When `interrupt` (a descriptor such as an eventfd) becomes readable first, returns `.timedOut`.
    public func receive(
        timeoutMilliseconds: Int32, interrupt: Int32? = nil, _ body: (ConnectorMessage) -> Void
    ) -> Receive {
        var descriptors = [pollfd(fd: socket.rawValue, events: Int16(POLLIN), revents: 0)]
        if let interrupt { descriptors.append(pollfd(fd: interrupt, events: Int16(POLLIN), revents: 0)) }
        let ready = poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds)
        if ready == 0 { return .timedOut }
        if ready < 0 {
            let error = Errno.current
            return error == .interrupted ? .timedOut : .failed(error)
        }
        if descriptors[0].revents == 0 { return .timedOut }
        return receiveReady(body)
    }

    /// Reads one datagram without waiting (the socket was reported readable by the caller's poll).
    public func receiveReady(_ body: (ConnectorMessage) -> Void) -> Receive {
        let count = recv(socket.rawValue, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
        if count < 0 {
            let error = Errno.current
            if error == .noBufferSpace { return .overrun }
            if error == .wouldBlock || error == .interrupted { return .timedOut }
            return .failed(error)
        }
        ConnectorParser.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), body)
        return .received
    }
}
