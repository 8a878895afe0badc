import Glibc

/// The PID counters of a cgroup: `pids.current`, `pids.max`, `pids.events`.
public struct PidCounters: Equatable, Sendable {
    /// Tasks (threads included) now in the cgroup and its descendants.
    public var current: UInt64?
    /// The limit; nil when unlimited (`max`) or when the pids controller is absent.
    public var max: UInt64?
    /// Times a fork or clone failed because the limit was reached (`max N` in pids.events).
    public var eventsMax: UInt64?

    public init(current: UInt64? = nil, max: UInt64? = nil, eventsMax: UInt64? = nil) {
        self.current = current
        self.max = max
        self.eventsMax = eventsMax
    }

    /// Parses the `max N` line of `pids.events`.
    public static func parseEventsMax(_ bytes: UnsafeRawBufferPointer.SubSequence) -> UInt64? {
        var result: UInt64?
        Bytes.forEachLine(bytes) { line in
            guard Bytes.hasPrefix(line, "max ") else { return }
            result = Bytes.decimal(Bytes.trimmed(line.dropFirst(4)))
        }
        return result
    }

    /// Parses `pids.max`: a number, or `max` (unlimited → nil).
    public static func parseLimit(_ bytes: UnsafeRawBufferPointer.SubSequence) -> UInt64? {
        Bytes.decimal(Bytes.trimmed(bytes))
    }
}

/// One mounted cgroup hierarchy (or a directory laid out like one), read through a directory
/// descriptor at its root, which it owns. Paths are relative to that root and start with `/`.
public final class CgroupHierarchy {
    /// Where the hierarchy's root is, such as `/sys/fs/cgroup/unified`.
    public let root: String
    /// The path of the root relative to the cgroup root, for recording (`unified`, `pids`, or empty).
    public let name: String
    private let directory: FileDescriptor
    private var buffer = ReadBuffer(capacity: 16 * 1024)
    public var recorder: (any FileRecorder)?

    public init(root: String, name: String) throws(SystemError) {
        self.root = root
        self.name = name
        self.directory = try FileDescriptor.openDirectory(root)
    }

    /// Every cgroup in the hierarchy (the root included, as `/`), depth first, parents before children.
    /// A directory removed during the walk is skipped. `descend` may prune a subtree.
    public func walk(maxDepth: Int = 32, descend: (String) -> Bool = { _ in true }) -> [String] {
        var result = ["/"]
        walk(directory, path: "", depth: 0, maxDepth: maxDepth, descend: descend, into: &result)
        return result
    }

    /// The cgroup at `path` and its descendants; empty when it does not exist.
    public func walk(under path: String, maxDepth: Int = 16) -> [String] {
        let relative = path.drop(while: { $0 == "/" })
        if relative.isEmpty { return walk(maxDepth: maxDepth) }
        guard let start = try? directory.open(relative: String(relative), directory: true) else { return [] }
        var result = [path]
        walk(start, path: path, depth: 0, maxDepth: maxDepth, descend: { _ in true }, into: &result)
        return result
    }

    private func walk(
        _ fd: borrowing FileDescriptor, path: String, depth: Int, maxDepth: Int, descend: (String) -> Bool,
        into result: inout [String]
    ) {
        guard depth < maxDepth else { return }
        var children: [String] = []
        _ = fd.forEachEntry { name, isDirectory in
            if isDirectory { children.append(String(cString: name)) }
        }
        children.sort()
        for child in children {
            let childPath = path + "/" + child
            result.append(childPath)
            guard descend(childPath), let childFD = try? fd.open(relative: child, directory: true) else { continue }
            walk(childFD, path: childPath, depth: depth + 1, maxDepth: maxDepth, descend: descend, into: &result)
        }
    }

    /// Reads `file` in the cgroup at `path` into the buffer; false when absent or unreadable.
    private func load(_ path: String, _ file: String, records: Bool = false) -> Bool {
        let relative = Self.relative(path, file)
        guard let fd = try? directory.open(relative: relative) else { return false }
        // A file of many records (cgroup.procs) comes a page at a time: only a read of 0 ends it.
        guard case .success = fd.readAll(into: &buffer, limit: 16 << 20, shortReadEnds: !records) else { return false }
        recorder?.recordFile(.cgroup, name.isEmpty ? relative : name + "/" + relative, buffer.bytes)
        return true
    }

    private static func relative(_ path: String, _ file: String) -> String {
        let trimmed = path.drop(while: { $0 == "/" })
        return trimmed.isEmpty ? file : trimmed + "/" + file
    }

    /// True when `file` exists in the cgroup at `path` (read, so a recording captures it).
    public func has(_ path: String, _ file: String) -> Bool {
        load(path, file)
    }

    /// The process ids in `cgroup.procs` of the cgroup at `path`, deduplicated; empty when absent.
    public func processes(_ path: String) -> [Int32] {
        guard load(path, "cgroup.procs", records: true) else { return [] }
        var pids: [Int32] = []
        Bytes.forEachLine(buffer.bytes[...]) { line in
            if let pid = Bytes.decimal(Bytes.trimmed(line)), pid > 0, pid <= UInt64(Int32.max) {
                pids.append(Int32(pid))
            }
        }
        pids.sort()
        var unique: [Int32] = []
        unique.reserveCapacity(pids.count)
        for pid in pids where unique.last != pid { unique.append(pid) }
        return unique
    }

    /// The PID counters of the cgroup at `path`; nil when it has no pids controller files.
    public func pidCounters(_ path: String) -> PidCounters? {
        guard load(path, "pids.current") else { return nil }
        var counters = PidCounters(current: Bytes.decimal(Bytes.trimmed(buffer.bytes[...])))
        if load(path, "pids.max") { counters.max = PidCounters.parseLimit(buffer.bytes[...]) }
        if load(path, "pids.events") { counters.eventsMax = PidCounters.parseEventsMax(buffer.bytes[...]) ?? 0 }
        return counters
    }

    /// A small file's trimmed text, such as `memory.max`; nil when absent.
    public func value(_ path: String, _ file: String) -> String? {
        guard load(path, file) else { return nil }
        return Bytes.string(Bytes.trimmed(buffer.bytes[...]))
    }
}
