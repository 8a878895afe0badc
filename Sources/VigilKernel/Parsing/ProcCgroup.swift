/// One line of `/proc/PID/cgroup`: `hierarchy-ID:controller-list:cgroup-path`.
public struct CgroupMembership: Equatable, Sendable {
    /// 0 for the cgroup v2 (unified) line.
    public var hierarchy: Int
    /// Controllers of a v1 hierarchy (`cpu,cpuacct`, `name=systemd`); empty for v2.
    public var controllers: [String]
    /// The path relative to the hierarchy's root, starting with `/`.
    public var path: String

    public init(hierarchy: Int, controllers: [String], path: String) {
        self.hierarchy = hierarchy
        self.controllers = controllers
        self.path = path
    }

    /// Parses the whole file. Malformed lines are skipped. The path may contain `:`, so only the first
    /// two colons split.
    public static func parse(_ bytes: UnsafeRawBufferPointer.SubSequence) -> [CgroupMembership] {
        var result: [CgroupMembership] = []
        Bytes.forEachLine(bytes) { line in
            guard let first = line.firstIndex(of: Bytes.colon),
                let second = line[(first + 1)...].firstIndex(of: Bytes.colon),
                let id = Bytes.decimal(line[line.startIndex..<first]), id < 1 << 20
            else { return }
            let controllerBytes = line[(first + 1)..<second]
            let controllers =
                controllerBytes.isEmpty
                ? [] : Bytes.split(controllerBytes, on: 0x2C).map { Bytes.string($0) }
            result.append(
                CgroupMembership(
                    hierarchy: Int(id), controllers: controllers, path: Bytes.string(line[(second + 1)...])))
        }
        return result
    }

    /// The path to use for container matching: the v2 line when present, else the v1 line of the
    /// preferred controllers (pids, then the systemd named hierarchy, then any).
    public static func primaryPath(_ memberships: [CgroupMembership]) -> String? {
        if let unified = memberships.first(where: { $0.hierarchy == 0 && $0.controllers.isEmpty }),
            unified.path != "/" || memberships.count == 1
        {
            return unified.path
        }
        for preferred in ["pids", "name=systemd", "memory", "cpu"] {
            if let line = memberships.first(where: { $0.controllers.contains(preferred) }) {
                return line.path
            }
        }
        return memberships.first?.path
    }
}

/// A namespace link target such as `pid:[4026531836]`.
public struct NamespaceLink: Equatable, Hashable, Sendable {
    public var type: String
    public var inode: UInt64

    public init(type: String, inode: UInt64) {
        self.type = type
        self.inode = inode
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer.SubSequence) -> NamespaceLink? {
        guard let colon = bytes.firstIndex(of: Bytes.colon),
            bytes.count > colon - bytes.startIndex + 3,
            bytes[colon + 1] == 0x5B, bytes.last == 0x5D,
            let inode = Bytes.decimal(bytes[(colon + 2)..<(bytes.endIndex - 1)])
        else { return nil }
        return NamespaceLink(type: Bytes.string(bytes[bytes.startIndex..<colon]), inode: inode)
    }
}
