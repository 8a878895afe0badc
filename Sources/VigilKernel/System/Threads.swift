import CVigilShims
import Glibc

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// A thread of its own for work that must not wait on the rest (the connector's receiver, slow /proc
/// reads). The corresponding C function is `pthread_create`.
public struct SystemThread: Sendable {
    private let handle: pthread_t

    /// Starts `body` on a new thread, which inherits the caller's signal mask.
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(Errno) {
        let threadName = String(name.prefix(15))
        let box = Unmanaged.passRetained(ThreadBody({
            vigil_name_thread(threadName)
            body()
        })).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let body = Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue()
            body.body()
            return nil
        }, box)
        if result != 0 {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            throw Errno(rawValue: result)
        }
        handle = thread
    }

    /// Waits for the thread to finish. The corresponding C function is `pthread_join`.
    public func join() {
        _ = pthread_join(handle, nil)
    }

    /// Lets the thread finish on its own without being joined.
    public func detach() {
        _ = pthread_detach(handle)
    }
}

/// An eventfd used to wake a thread blocked in poll(2). The corresponding C function is `eventfd`.
public final class WakeupSignal: @unchecked Sendable {
    private let descriptor: FileDescriptor

    public init() throws(Errno) {
        let fd = vigil_eventfd()
        if fd < 0 { throw Errno.current }
        descriptor = FileDescriptor(adopting: fd)
    }

    public var rawValue: Int32 { descriptor.rawValue }

    public func signal() {
        var one: UInt64 = 1
        _ = write(descriptor.rawValue, &one, 8)
    }

    /// Clears pending signals.
    public func drain() {
        var value: UInt64 = 0
        _ = read(descriptor.rawValue, &value, 8)
    }
}

/// SIGINT, SIGTERM and SIGHUP delivered as readable events on a descriptor, for the agent's poll loop.
/// Create it before starting other threads: it blocks those signals, and threads inherit the mask.
public final class SignalDescriptor {
    private let descriptor: FileDescriptor

    public init() throws(Errno) {
        let fd = vigil_signalfd_for_termination_and_reload()
        if fd < 0 { throw Errno.current }
        descriptor = FileDescriptor(adopting: fd)
    }

    public var rawValue: Int32 { descriptor.rawValue }

    /// The next pending signal's number, or nil when none is pending.
    public func next() -> Int32? {
        let signal = vigil_signalfd_read(descriptor.rawValue)
        return signal > 0 ? signal : nil
    }
}
