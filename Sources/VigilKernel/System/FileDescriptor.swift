import CVigilShims
import Glibc

/// An open file descriptor with exactly one owner, closed when the owner goes away.
public struct FileDescriptor: ~Copyable {
    /// The raw descriptor, valid while `self` lives.
    public let rawValue: Int32

    public init(adopting rawValue: Int32) {
        self.rawValue = rawValue
    }

    deinit {
        system_close(rawValue)
    }

    /// Opens `path` as a directory. The corresponding C function is `open`.
    public static func openDirectory(_ path: String) throws(SystemError) -> FileDescriptor {
        switch system_openat(AT_FDCWD, path, vigil_o_directory_cloexec()) {
        case .success(let fd): return FileDescriptor(adopting: fd)
        case .failure(let errno): throw SystemError(errno, "open", path)
        }
    }

    /// Opens `path` relative to this directory for reading. The corresponding C function is `openat`.
    public func open(relative path: UnsafePointer<CChar>, directory: Bool = false) throws(Errno) -> FileDescriptor {
        let flags = directory ? vigil_o_directory_cloexec() : vigil_o_rdonly_cloexec()
        switch system_openat(rawValue, path, flags) {
        case .success(let fd): return FileDescriptor(adopting: fd)
        case .failure(let errno): throw errno
        }
    }

    /// Opens `path` relative to this directory for reading.
    public func open(relative path: String, directory: Bool = false) throws(Errno) -> FileDescriptor {
        let flags = directory ? vigil_o_directory_cloexec() : vigil_o_rdonly_cloexec()
        switch path.withCString({ system_openat(rawValue, $0, flags) }) {
        case .success(let fd): return FileDescriptor(adopting: fd)
        case .failure(let errno): throw errno
        }
    }

    /// Reads the target of the symbolic link `path` relative to this directory, as raw bytes.
    /// The corresponding C function is `readlinkat`.
    public func readLink(relative path: UnsafePointer<CChar>) -> Result<[UInt8], Errno> {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4096) { buffer in
            system_readlinkat(rawValue, path, buffer.baseAddress!, buffer.count).map { count in
                Array(UnsafeRawBufferPointer(start: buffer.baseAddress!, count: count))
            }
        }
    }

    public func readLink(relative path: String) -> Result<[UInt8], Errno> {
        path.withCString { readLink(relative: $0) }
    }

    /// True when `path` exists relative to this directory. The corresponding C function is `faccessat`.
    public func exists(relative path: String) -> Bool {
        path.withCString { system_faccessat(rawValue, $0) }
    }

    /// Reads the whole file (from offset 0) into `buffer`, growing it up to `limit` bytes.
    /// Returns false when the file was longer than `limit` (the buffer holds its first `limit` bytes).
    ///
    /// - Parameter shortReadEnds: a read that returns less than asked means the end of the file. True
    ///   for kernel-generated files (/proc, cgroupfs), which produce their whole text in one read when
    ///   the buffer is large enough; it saves the final zero-length read, one system call per file.
    public func readAll(into buffer: inout ReadBuffer, limit: Int = 1 << 20, shortReadEnds: Bool = false)
        -> Result<Bool, Errno>
    {
        buffer.count = 0
        while true {
            // A reused buffer may already be larger than `limit`: never read past the limit.
            if buffer.count == min(buffer.capacity, limit) {
                if buffer.capacity >= limit { return .success(false) }
                buffer.grow(to: min(limit, buffer.capacity * 2))
            }
            let space = min(buffer.capacity, limit) - buffer.count
            switch system_read(rawValue, buffer.base + buffer.count, space) {
            case .success(0): return .success(true)
            case .success(let n):
                buffer.count += n
                if shortReadEnds && n < space { return .success(true) }
            case .failure(let errno): return .failure(errno)
            }
        }
    }

    /// Lists the entries of this directory (not `.` or `..`), calling `body` with each name and
    /// whether it is a directory. The corresponding system call is `getdents64`.
    public func forEachEntry(
        _ body: (_ name: UnsafePointer<CChar>, _ isDirectory: Bool) -> Void
    ) -> Result<Void, Errno> {
        let size = 32 * 1024
        return withUnsafeTemporaryAllocation(byteCount: size, alignment: 8) { buffer in
            let base = buffer.baseAddress!
            _ = Glibc.lseek(rawValue, 0, SEEK_SET)
            while true {
                switch system_getdents64(rawValue, base, size) {
                case .failure(let errno): return .failure(errno)
                case .success(0): return .success(())
                case .success(let n):
                    var offset = 0
                    while offset < n {
                        let length = Int(vigil_dirent_reclen(base, offset))
                        let type = vigil_dirent_type(base, offset)
                        let name = vigil_dirent_name(base, offset)!
                        let isDot = name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0))
                        if !isDot {
                            body(name, type == UInt8(DT_DIR))
                        }
                        offset += length
                    }
                }
            }
        }
    }
}

/// A growable byte buffer reused across reads, so the hot path allocates once.
public struct ReadBuffer: ~Copyable {
    @usableFromInline var base: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    /// Bytes of valid data at the start of the buffer.
    public var count: Int = 0

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        self.base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit {
        base.deallocate()
    }

    mutating func grow(to newCapacity: Int) {
        guard newCapacity > capacity else { return }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 8)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// The valid bytes, for parsing in place.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
