/// `/proc/PID/cmdline`: NUL-separated arguments.
public enum ProcCmdline {
    /// Splits the bytes into arguments. Invalid UTF-8 becomes U+FFFD; a trailing NUL does not make an
    /// empty last argument. A process that rewrote its argv into one space-separated string (as some
    /// daemons do) yields one argument, exactly as the kernel shows it.
    public static func parse(_ bytes: UnsafeRawBufferPointer.SubSequence) -> [String] {
        var arguments: [String] = []
        var start = bytes.startIndex
        var index = start
        while index < bytes.endIndex {
            if bytes[index] == Bytes.nul {
                arguments.append(Bytes.string(bytes[start..<index]))
                start = index + 1
            }
            index += 1
        }
        if start < bytes.endIndex {
            arguments.append(Bytes.string(bytes[start..<bytes.endIndex]))
        }
        return arguments
    }
}

/// The target of `/proc/PID/exe`.
public struct ExecutablePath: Equatable, Sendable {
    /// The path as the kernel shows it, without the " (deleted)" suffix.
    public var path: String
    /// The file was unlinked after the process executed it.
    public var deleted: Bool
    /// The process runs from an anonymous memory file (`memfd_create`): no file on disk at all.
    public var isMemfd: Bool { path.hasPrefix("/memfd:") }

    public init(path: String, deleted: Bool) {
        self.path = path
        self.deleted = deleted
    }

    /// Parses a link target such as `/usr/bin/sleep`, `/tmp/x (deleted)` or `/memfd:payload (deleted)`.
    public static func parse(_ bytes: UnsafeRawBufferPointer.SubSequence) -> ExecutablePath {
        let suffix: [UInt8] = Array(" (deleted)".utf8)
        if bytes.count >= suffix.count, bytes.suffix(suffix.count).elementsEqual(suffix) {
            return ExecutablePath(path: Bytes.string(bytes.dropLast(suffix.count)), deleted: true)
        }
        return ExecutablePath(path: Bytes.string(bytes), deleted: false)
    }

    /// The path as the kernel shows it, with " (deleted)" when it was unlinked.
    public var display: String { deleted ? path + " (deleted)" : path }
}
