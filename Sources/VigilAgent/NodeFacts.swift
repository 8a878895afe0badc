import VigilDetect
import VigilKernel
import VigilNode

/// Answers the detectors' questions about the live node: what a socket on a process's standard
/// streams is, and whether an executable is in its container's writable layer. Reads /proc and the
/// host's filesystem; caches each container's overlay layout.
final class NodeFacts {
    private let paths: NodePaths
    private var proc: ProcReader?
    /// Per container cgroup: its root filesystem's overlay upper directory (a host path), or nil when
    /// the root is not an overlay.
    private var upperDirectories: [String: String?] = [:]
    /// Per container cgroup: the mount points of its processes' mount namespace. A file bind-mounted
    /// into the container (docker-init, /etc/hosts) leaves an empty stand-in in the upper layer that is
    /// not drift.
    private var mountPoints: [String: Set<String>] = [:]

    init(paths: NodePaths) {
        self.paths = paths
        proc = try? ProcReader(root: paths.procRoot)
    }

    var facts: ProcessRules.Facts {
        ProcessRules.Facts(
            socketKind: { [unowned self] pid, inode in socketKind(pid: pid, inode: inode) },
            inUpperLayer: { [unowned self] container, pid, path in inUpperLayer(container: container, pid: pid, path: path) })
    }

    /// Forgets containers that are gone.
    func retain(containers: Set<String>) {
        upperDirectories = upperDirectories.filter { containers.contains($0.key) }
        mountPoints = mountPoints.filter { containers.contains($0.key) }
    }

    // MARK: Sockets

    func socketKind(pid: Int32, inode: UInt64) -> SocketKind {
        guard let directory = try? FileDescriptor.openDirectory(paths.procRoot) else { return .unknown }
        var buffer = ReadBuffer(capacity: 16 * 1024)
        for (table, isIPv6) in [("tcp", false), ("tcp6", true), ("udp", false), ("udp6", true)] {
            guard let file = try? directory.open(relative: "\(pid)/net/\(table)"),
                case .success = file.readAll(into: &buffer, limit: 8 << 20)
            else { continue }
            if let remote = Self.find(inode: inode, inTable: buffer.bytes[...], isIPv6: isIPv6) {
                return .internet(remote)
            }
        }
        if let file = try? directory.open(relative: "\(pid)/net/unix"), case .success = file.readAll(into: &buffer, limit: 8 << 20) {
            var found = false
            Bytes.forEachLine(buffer.bytes[...]) { line in
                var index = 0
                Bytes.forEachField(line) { field in
                    if index == 6 {
                        if Bytes.decimal(field) == inode { found = true }
                        return false
                    }
                    index += 1
                    return true
                }
            }
            if found { return .unix }
        }
        return .unknown
    }

    /// The remote address of the socket with `inode` in a /proc/net/tcp-style table.
    static func find(inode: UInt64, inTable bytes: UnsafeRawBufferPointer.SubSequence, isIPv6: Bool) -> String? {
        var result: String?
        Bytes.forEachLine(bytes) { line in
            guard result == nil else { return }
            var fields: [UnsafeRawBufferPointer.SubSequence] = []
            Bytes.forEachField(line) { field in
                fields.append(field)
                return fields.count < 10
            }
            guard fields.count >= 10, Bytes.decimal(fields[9]) == inode else { return }
            result = address(fields[2], isIPv6: isIPv6)
        }
        return result
    }

    /// `0100007F:115C` → `127.0.0.1:4444`; IPv6 as eight groups.
    static func address(_ field: UnsafeRawBufferPointer.SubSequence, isIPv6: Bool) -> String? {
        guard let colon = field.firstIndex(of: Bytes.colon), let port = Bytes.hex(field[(colon + 1)...]) else { return nil }
        let host = field[field.startIndex..<colon]
        if !isIPv6 {
            guard let value = Bytes.hex(host) else { return nil }
            let octets = (0..<4).map { (value >> (8 * UInt64($0))) & 0xFF }
            return octets.map(String.init).joined(separator: ".") + ":\(port)"
        }
        guard host.count == 32 else { return nil }
        var groups: [String] = []
        // Four little-endian 32-bit words.
        for word in 0..<4 {
            let start = host.startIndex + word * 8
            guard let value = Bytes.hex(host[start..<(start + 8)]) else { return nil }
            let swapped = UInt32(truncatingIfNeeded: value).byteSwapped
            groups.append(String(swapped >> 16, radix: 16))
            groups.append(String(swapped & 0xFFFF, radix: 16))
        }
        // ::ffff:a.b.c.d is an IPv4 peer on a dual-stack socket: show it as IPv4.
        if groups[0..<5].allSatisfy({ $0 == "0" }), groups[5] == "ffff",
            let high = UInt32(groups[6], radix: 16), let low = UInt32(groups[7], radix: 16)
        {
            return "\(high >> 8).\(high & 0xFF).\(low >> 8).\(low & 0xFF):\(port)"
        }
        return "[\(compressed(groups))]:\(port)"
    }

    /// RFC 5952: the longest run of two or more zero groups becomes `::`.
    static func compressed(_ groups: [String]) -> String {
        var best: (start: Int, length: Int) = (-1, 0)
        var index = 0
        while index < groups.count {
            guard groups[index] == "0" else {
                index += 1
                continue
            }
            var end = index
            while end < groups.count, groups[end] == "0" { end += 1 }
            if end - index > best.length, end - index >= 2 { best = (index, end - index) }
            index = end
        }
        guard best.start >= 0 else { return groups.joined(separator: ":") }
        let head = groups[0..<best.start].joined(separator: ":")
        let tail = groups[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }

    // MARK: Drift

    func inUpperLayer(container: ContainerIdentity, pid: Int32, path: String) -> Bool {
        if upperDirectories[container.cgroup] == nil {
            // Read once per container; not cached while its processes cannot be read.
            guard let mounts = proc?.readMounts(pid: pid) else { return false }
            upperDirectories[container.cgroup] = .some(Self.upperDirectory(mounts))
            mountPoints[container.cgroup] = Set(mounts.map(\.mountPoint))
        }
        guard case .some(.some(let upper)) = upperDirectories[container.cgroup] else { return false }
        if mountPoints[container.cgroup]?.contains(path) == true { return false }
        return FileSystem.exists(NodePaths.join(paths.hostRoot, upper + path))
    }

    /// The overlay upper directory of a root filesystem, from a process's mounts; nil when its root is
    /// not an overlay.
    static func upperDirectory(_ mounts: [MountEntry]) -> String? {
        guard let root = mounts.last(where: { $0.mountPoint == "/" }), root.filesystemType == "overlay" else { return nil }
        return root.superOption("upperdir")
    }
}
