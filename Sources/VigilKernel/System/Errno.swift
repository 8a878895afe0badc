import Glibc

/// An error number from a failed system call, with the call and the path it was about.
public struct Errno: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The raw `errno` value.
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// The value of `errno` now.
    static var current: Errno { Errno(rawValue: Glibc.errno) }

    public static let noSuchFile = Errno(rawValue: ENOENT)
    public static let noSuchProcess = Errno(rawValue: ESRCH)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let permissionDenied = Errno(rawValue: EACCES)
    public static let notPermitted = Errno(rawValue: EPERM)
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    public static let noBufferSpace = Errno(rawValue: ENOBUFS)

    /// True when the error means "the thing is gone": a process that exited, a cgroup removed.
    public var meansGone: Bool {
        rawValue == ENOENT || rawValue == ESRCH || rawValue == ENOTDIR
    }

    public var description: String {
        guard let message = strerror(rawValue) else { return "errno \(rawValue)" }
        return String(cString: message)
    }
}

/// A failed system call on a path: what the user needs to see.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public var errno: Errno
    public var operation: String
    public var path: String

    public init(_ errno: Errno, _ operation: String, _ path: String) {
        self.errno = errno
        self.operation = operation
        self.path = path
    }

    public var description: String { "\(operation) \(path): \(errno)" }
}
