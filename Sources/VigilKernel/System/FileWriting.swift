import Glibc

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
