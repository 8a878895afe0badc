import CVigilShims
import Glibc

/// Directory-change notifications for a set of directories (`inotify(7)`): which were created or
/// removed in them. Owns its descriptor.
public final class DirectoryWatcher {
    private let descriptor: FileDescriptor
    private var paths: [Int32: String] = [:]
    /// The most directories watched; beyond it the caller falls back to its interval.
    public let limit: Int
    /// Report files appearing, going and being renamed over, not only directories.
    private let includeFiles: Bool

    public init(limit: Int = 8192, includeFiles: Bool = false) throws(Errno) {
        self.includeFiles = includeFiles
        let fd = vigil_inotify_open()
        if fd < 0 { throw Errno.current }
        descriptor = FileDescriptor(adopting: fd)
        self.limit = limit
    }

    public var rawValue: Int32 { descriptor.rawValue }
    public var count: Int { paths.count }

    /// Watches `path` for subdirectories (and with `includeFiles`, files) created or removed; false when it could not be watched
    /// (gone, not permitted, or the limit reached).
    @discardableResult
    public func watch(_ path: String) -> Bool {
        guard paths.count < limit else { return false }
        let wd = vigil_inotify_watch_directory(descriptor.rawValue, path)
        guard wd >= 0 else { return false }
        paths[wd] = path
        return true
    }

    /// A change: the directory (`parent/name`) and whether it appeared.
    public struct Change: Sendable, Equatable {
        public var path: String
        public var created: Bool
    }

    /// Reads the pending changes without waiting. Overflows (`IN_Q_OVERFLOW`) report `overflowed`.
    public func changes() -> (changes: [Change], overflowed: Bool) {
        var result: [Change] = []
        var overflowed = false
        let size = 64 * 1024
        withUnsafeTemporaryAllocation(byteCount: size, alignment: 8) { buffer in
            while true {
                let count = read(descriptor.rawValue, buffer.baseAddress, size)
                if count <= 0 { return }
                var offset = 0
                while true {
                    var wd: Int32 = 0
                    var mask: UInt32 = 0
                    var name: UnsafePointer<CChar>?
                    let next = vigil_inotify_event(buffer.baseAddress, count, offset, &wd, &mask, &name)
                    if next == 0 { break }
                    offset = next
                    if mask & 0x4000 != 0 { overflowed = true }  // IN_Q_OVERFLOW
                    if mask & 0x8000 != 0 { paths[wd] = nil }  // IN_IGNORED: the watched directory is gone
                    guard let parent = paths[wd], let name, name[0] != 0, includeFiles || mask & 0x4000_0000 != 0 else { continue }
                    let created = mask & (0x100 | 0x80) != 0  // IN_CREATE | IN_MOVED_TO
                    result.append(Change(path: parent + "/" + String(cString: name), created: created))
                }
            }
        }
        return (result, overflowed)
    }
}
