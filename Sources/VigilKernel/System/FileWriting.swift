import Glibc
import Synchronization

private let temporarySerial = Atomic<UInt64>(0)

/// Creating files and directories: the cold-path counterpart of the readers.
public enum FileSystem {
    /// Creates `path` and its missing parents (`mkdir -p`).
    public static func makeDirectories(_ path: String, mode: UInt32 = 0o755) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode_t(mode)) != 0 {
                let error = Errno.current
                if error.rawValue != EEXIST { throw SystemError(error, "mkdir", current) }
            }
        }
    }

    /// Writes `bytes` to a new or truncated file at `path`.
    public static func writeFile(_ path: String, _ bytes: UnsafeRawBufferPointer, mode: UInt32 = 0o644) throws(SystemError) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode))
        if fd < 0 { throw SystemError(Errno.current, "open", path) }
        let file = FileDescriptor(adopting: fd)
        var offset = 0
        while offset < bytes.count {
            switch system_write(file.rawValue, bytes.baseAddress! + offset, bytes.count - offset) {
            case .success(let n): offset += n
            case .failure(let errno): throw SystemError(errno, "write", path)
            }
        }
    }

    public static func writeFile(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try writeFile(path, raw, mode: mode) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Replaces the file at `path` with `bytes` so that, whatever happens (a crash, SIGKILL, power
    /// loss), the path holds either the old file or the new one, never a mix: the bytes go to a
    /// temporary file in the same directory, are flushed to disk (`fsync`), and the temporary file is
    /// renamed over `path`; the directory is then flushed so the rename itself is durable.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644) throws(SystemError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        // Unique per call (process and a counter), and created exclusively: two writers never share one.
        let serial = temporarySerial.add(1, ordering: .relaxed).newValue
        let temporary = (directory == "/" ? "" : directory) + "/.\(name).tmp.\(getpid()).\(serial)"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
        if fd < 0 { throw SystemError(Errno.current, "open", temporary) }
        do throws(SystemError) {
            let file = FileDescriptor(adopting: fd)
            let failure: Errno? = bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    switch system_write(file.rawValue, raw.baseAddress! + offset, raw.count - offset) {
                    case .success(let n): offset += n
                    case .failure(let errno): return errno
                    }
                }
                return nil
            }
            if let failure { throw SystemError(failure, "write", temporary) }
            if fsync(file.rawValue) != 0 { throw SystemError(Errno.current, "fsync", temporary) }
            if rename(temporary, path) != 0 { throw SystemError(Errno.current, "rename", path) }
        } catch {
            unlink(temporary)
            throw error
        }
        let directoryFD = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            system_close(directoryFD)
        }
    }

    /// Reads a whole regular file of at most `limit` bytes.
    public static func readFile(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SystemError(Errno.current, "open", path) }
        let file = FileDescriptor(adopting: fd)
        var buffer = ReadBuffer(capacity: 16 * 1024)
        switch file.readAll(into: &buffer, limit: limit) {
        case .success(true): return Array(buffer.bytes)
        case .success(false): throw SystemError(Errno(rawValue: EFBIG), "read", path)
        case .failure(let errno): throw SystemError(errno, "read", path)
        }
    }

    /// Removes the file at `path`; false when there was none.
    @discardableResult
    public static func remove(_ path: String) throws(SystemError) -> Bool {
        if unlink(path) == 0 { return true }
        let error = Errno.current
        if error.rawValue == ENOENT { return false }
        throw SystemError(error, "unlink", path)
    }

    /// The names in a directory (not `.` or `..`).
    public static func entries(_ directory: String) throws(SystemError) -> [String] {
        let fd = try FileDescriptor.openDirectory(directory)
        var names: [String] = []
        if case .failure(let errno) = fd.forEachEntry({ name, _ in names.append(String(cString: name)) }) {
            throw SystemError(errno, "getdents64", directory)
        }
        return names.sorted()
    }

    /// What tells one version of a file from another: device, inode, size and modification time.
    public struct FileIdentity: Equatable, Sendable {
        public var device: UInt64
        public var inode: UInt64
        public var size: Int64
        public var modified: Int64
    }

    /// The identity of the file at `path`; nil when there is none.
    public static func identity(_ path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    /// Creates a symbolic link at `path` pointing to `target` (any bytes, even a path that does not exist).
    public static func makeSymlink(_ path: String, target: [UInt8]) throws(SystemError) {
        var cTarget = target.map { CChar(bitPattern: $0) }
        cTarget.append(0)
        unlink(path)
        if symlink(cTarget, path) != 0 { throw SystemError(Errno.current, "symlink", path) }
    }

    /// True when something exists at `path`.
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// True when `path` is a directory with no entries.
    public static func isEmptyDirectory(_ path: String) -> Bool {
        guard let directory = try? FileDescriptor.openDirectory(path) else { return false }
        var empty = true
        _ = directory.forEachEntry { _, _ in empty = false }
        return empty
    }

    /// Writes `bytes` to standard output, all of it.
    public static func writeStandardOutput(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                guard case .success(let n) = system_write(1, raw.baseAddress! + offset, raw.count - offset) else { return }
                offset += n
            }
        }
    }

    /// Writes `text` to standard error.
    public static func writeStandardError(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { raw in
            _ = system_write(2, raw.baseAddress!, raw.count)
        }
    }
}

/// An exclusive advisory lock (`flock`) on a file, held until this value goes away: writers of one
/// directory (the agent, `vigil baseline ...`) take it around each read-modify-write.
public struct FileLock: ~Copyable {
    private let descriptor: FileDescriptor

    /// Waits for the lock on `path`, creating the file when missing.
    public init(_ path: String) throws(SystemError) {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw SystemError(Errno.current, "open", path) }
        while flock(fd, LOCK_EX) != 0 {
            let error = Errno.current
            if error.rawValue != EINTR {
                system_close(fd)
                throw SystemError(error, "flock", path)
            }
        }
        descriptor = FileDescriptor(adopting: fd)
    }
    // Closing the descriptor releases the lock.
}
