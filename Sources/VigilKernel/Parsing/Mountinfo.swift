/// One line of `/proc/PID/mountinfo` (see proc(5)).
public struct MountEntry: Equatable, Sendable {
    public var id: Int
    public var parentID: Int
    /// `major:minor` of the filesystem's device.
    public var device: String
    /// The path within the filesystem that forms this mount's root (a bind mount's source path).
    public var root: String
    /// Where it is mounted, relative to the process's root.
    public var mountPoint: String
    public var options: [String]
    /// Optional fields such as `shared:5`, `master:3`, `propagate_from:2`, `unbindable`.
    public var propagation: [String]
    public var filesystemType: String
    public var source: String
    public var superOptions: [String]

    public var isReadOnly: Bool { options.contains("ro") }

    /// The value of a `key=value` super option, such as overlayfs's `upperdir`.
    public func superOption(_ key: String) -> String? {
        let prefix = key + "="
        return superOptions.first(where: { $0.hasPrefix(prefix) }).map { String($0.dropFirst(prefix.count)) }
    }

    /// Parses the whole file; malformed lines are skipped.
    public static func parse(_ bytes: UnsafeRawBufferPointer.SubSequence) -> [MountEntry] {
        var entries: [MountEntry] = []
        Bytes.forEachLine(bytes) { line in
            var fields: [UnsafeRawBufferPointer.SubSequence] = []
            Bytes.forEachField(line) { field in
                fields.append(field)
                return true
            }
            guard fields.count >= 10, let separator = fields.firstIndex(where: { $0.count == 1 && $0.first == 0x2D }),
                separator >= 6, fields.count >= separator + 3,
                let id = Bytes.decimal(fields[0]), let parent = Bytes.decimal(fields[1])
            else { return }
            entries.append(
                MountEntry(
                    id: Int(clamping: id),
                    parentID: Int(clamping: parent),
                    device: Bytes.string(fields[2]),
                    root: unescape(fields[3]),
                    mountPoint: unescape(fields[4]),
                    options: Bytes.split(fields[5], on: 0x2C).map { Bytes.string($0) },
                    propagation: fields[6..<separator].map { Bytes.string($0) },
                    filesystemType: Bytes.string(fields[separator + 1]),
                    source: unescape(fields[separator + 2]),
                    superOptions: separator + 3 < fields.count
                        ? Bytes.split(fields[separator + 3], on: 0x2C).map { unescape($0) } : []))
        }
        return entries
    }

    /// Undoes the kernel's octal escapes (`\040` for space, `\011`, `\012`, `\134`).
    static func unescape(_ bytes: UnsafeRawBufferPointer.SubSequence) -> String {
        guard bytes.contains(0x5C) else { return Bytes.string(bytes) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == 0x5C, index + 3 < bytes.endIndex + 0, bytes.endIndex - index >= 4 {
                let digits = bytes[(index + 1)...(index + 3)]
                if digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x37 }) {
                    let value = digits.reduce(0) { $0 * 8 + Int($1 - 0x30) }
                    if value <= 255 {
                        out.append(UInt8(value))
                        index += 4
                        continue
                    }
                }
            }
            out.append(byte)
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
