import Glibc
import VigilKernel

// Every system call the sinks make goes through here: EINTR is retried, -1 becomes an Errno.
// (VigilKernel's wrappers cover files and /proc; these add sockets, poll and signal masks.)

@inline(__always)
private func valueOrErrno<T: FixedWidthInteger>(_ body: () -> T) -> Result<T, Errno> {
    while true {
        let result = body()
        if result != -1 { return .success(result) }
        let error = Errno(rawValue: errno)
        if error == .interrupted { continue }
        return .failure(error)
    }
}

enum SinkCalls {
    static let closeOnExecNonBlocking = Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)

    /// A new non-blocking, close-on-exec socket. The corresponding C function is `socket`.
    static func socket(family: Int32, type: Int32) -> Result<FileDescriptor, Errno> {
        valueOrErrno { Glibc.socket(family, type | closeOnExecNonBlocking, 0) }.map { FileDescriptor(adopting: $0) }
    }

    /// Connects `fd` to the unix socket at `path`. The corresponding C function is `connect`.
    static func connect(_ fd: Int32, unixPath path: String) -> Result<Void, Errno> {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return .failure(Errno(rawValue: ENAMETOOLONG)) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                valueOrErrno { Glibc.connect(fd, address, length) }.map { _ in () }
            }
        }
    }

    /// Connects `fd` to `address`:`port`; a non-blocking stream socket answers EINPROGRESS.
    /// The corresponding C function is `connect`.
    static func connect(_ fd: Int32, to address: IPAddress, port: UInt16) -> Result<Void, Errno> {
        if address.isIPv6 {
            var inet = sockaddr_in6()
            inet.sin6_family = sa_family_t(AF_INET6)
            inet.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &inet.sin6_addr) { $0.copyBytes(from: address.bytes) }
            return withUnsafePointer(to: &inet) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    valueOrErrno { Glibc.connect(fd, raw, socklen_t(MemoryLayout<sockaddr_in6>.size)) }.map { _ in () }
                }
            }
        }
        var inet = sockaddr_in()
        inet.sin_family = sa_family_t(AF_INET)
        inet.sin_port = port.bigEndian
        withUnsafeMutableBytes(of: &inet.sin_addr) { $0.copyBytes(from: address.bytes) }
        return withUnsafePointer(to: &inet) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                valueOrErrno { Glibc.connect(fd, raw, socklen_t(MemoryLayout<sockaddr_in>.size)) }.map { _ in () }
            }
        }
    }

    /// Sends without waiting and without SIGPIPE. The corresponding C function is `send`.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        valueOrErrno { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
    }

    /// Writes to a file or pipe. The corresponding C function is `write`.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        valueOrErrno { Glibc.write(fd, bytes.baseAddress, bytes.count) }
    }

    /// Whether the peer closed a stream (true), is still there (false), or failed (the error); data the
    /// peer sent (syslog receivers send none) is read and thrown away. The corresponding C function is `recv`.
    static func peerClosed(_ fd: Int32) -> Result<Bool, Errno> {
        var scratch = [UInt8](repeating: 0, count: 512)
        while true {
            let result = scratch.withUnsafeMutableBytes { raw in
                valueOrErrno { Glibc.recv(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT)) }
            }
            switch result {
            case .success(0): return .success(true)
            case .success: continue
            case .failure(let error) where error == .wouldBlock: return .success(false)
            case .failure(let error): return .failure(error)
            }
        }
    }

    /// The socket's pending error (`SO_ERROR`), which reading clears: an ICMP refusal on a UDP socket,
    /// the outcome of a non-blocking connect, a reset. The corresponding C function is `getsockopt`.
    static func pendingError(_ fd: Int32) -> Errno? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return Errno(rawValue: errno) }
        return value == 0 ? nil : Errno(rawValue: value)
    }

    /// Bytes this socket sent that the other end has not consumed yet (`SIOCOUTQ`): for a unix
    /// datagram socket, what sits unread in the receiver's queue; for TCP, what is unacknowledged.
    /// The corresponding C function is `ioctl`.
    static func unconsumedBytes(_ fd: Int32) -> Int? {
        var value: Int32 = 0
        let request = UInt(0x5411)  // SIOCOUTQ (= TIOCOUTQ)
        return ioctl(fd, request, &value) == 0 ? Int(value) : nil
    }

    /// Sets an integer socket option. The corresponding C function is `setsockopt`.
    static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32) {
        var value = value
        _ = setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Opens `path` for appending (created with mode 0640), non-blocking so a FIFO cannot hang the
    /// sink. The corresponding C function is `open`.
    static func openForAppending(_ path: String) -> Result<FileDescriptor, Errno> {
        valueOrErrno { Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, mode_t(0o640)) }
            .map { FileDescriptor(adopting: $0) }
    }

    /// A close-on-exec duplicate of `fd`, so the sink owns its own descriptor for standard output.
    /// The corresponding C function is `fcntl(F_DUPFD_CLOEXEC)`.
    static func duplicate(_ fd: Int32) -> Result<FileDescriptor, Errno> {
        valueOrErrno { fcntl(fd, F_DUPFD_CLOEXEC, Int32(3)) }.map { FileDescriptor(adopting: $0) }
    }

    /// Whether `fd` is a regular file (which never makes a writer wait for a reader). The corresponding C
    /// function is `fstat`.
    static func isRegularFile(_ fd: Int32) -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// A file's device and inode: which file a path names now.
    struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    /// The identity of the file at `path`, nil when there is none. The corresponding C function is `stat`.
    static func fileIdentity(_ path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Whether a datagram socket bound at `path` is alive: connecting to it succeeds (nothing is sent).
    static func acceptsDatagrams(_ path: String) -> Bool {
        guard case .success(let probe) = socket(family: AF_UNIX, type: Int32(SOCK_DGRAM.rawValue)) else { return false }
        if case .success = connect(probe.rawValue, unixPath: path) { return true }
        return false
    }

    /// Waits up to `timeout` ms for the first descriptor's `events` (when `fd` is not -1) or for `wakeup`
    /// to become readable. Returns the first descriptor's returned events and whether `wakeup` fired.
    /// The corresponding C function is `poll`.
    static func poll(_ fd: Int32, events: Int16, wakeup: Int32, timeout: Int32) -> (events: Int16, woken: Bool) {
        var descriptors = [
            pollfd(fd: fd, events: events, revents: 0), pollfd(fd: wakeup, events: Int16(POLLIN), revents: 0),
        ]
        let result = descriptors.withUnsafeMutableBufferPointer { buffer in
            Glibc.poll(buffer.baseAddress, nfds_t(buffer.count), timeout)
        }
        if result <= 0 { return (0, false) }
        return (descriptors[0].revents, descriptors[1].revents != 0)
    }

    /// Blocks SIGPIPE in the calling thread, so a write to a pipe whose reader left fails with EPIPE
    /// instead of ending the agent. The corresponding C function is `pthread_sigmask`.
    static func blockBrokenPipeSignal() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Takes a SIGPIPE left pending on this thread by a failed write. The corresponding C function is
    /// `sigtimedwait`.
    static func discardBrokenPipeSignal() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        var zero = timespec(tv_sec: 0, tv_nsec: 0)
        while sigtimedwait(&set, nil, &zero) == SIGPIPE {}
    }
}

extension Errno {
    static let connectionRefused = Errno(rawValue: ECONNREFUSED)
    static let brokenPipe = Errno(rawValue: EPIPE)
    static let messageTooLong = Errno(rawValue: EMSGSIZE)
    static let inProgress = Errno(rawValue: EINPROGRESS)
}
