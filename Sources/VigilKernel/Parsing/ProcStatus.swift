/// The fields Vigil uses from `/proc/PID/status`.
public struct ProcStatus: Equatable, Sendable {
    public var tgid: Int32 = 0
    public var ppid: Int32 = 0
    /// Real, effective, saved and filesystem user ids.
    public var uid: (real: UInt32, effective: UInt32, saved: UInt32, filesystem: UInt32) = (0, 0, 0, 0)
    public var gid: (real: UInt32, effective: UInt32, saved: UInt32, filesystem: UInt32) = (0, 0, 0, 0)
    public var capabilities = CapabilitySets()
    public var noNewPrivs = false
    public var seccomp: SeccompMode = .disabled
    public var threads: Int32 = 1
    /// The pid in each PID namespace, outermost first; the last is the pid inside the container.
    public var namespacePids: [Int32] = []

    public init() {}

    public static func == (a: ProcStatus, b: ProcStatus) -> Bool {
        a.tgid == b.tgid && a.ppid == b.ppid && a.uid == b.uid && a.gid == b.gid
            && a.capabilities == b.capabilities && a.noNewPrivs == b.noNewPrivs && a.seccomp == b.seccomp
            && a.threads == b.threads && a.namespacePids == b.namespacePids
    }

    /// Parses the contents of `/proc/PID/status`; unknown or malformed lines are ignored, so a newer
    /// kernel's extra lines never break it. Returns nil when the Uid or Cap lines are missing.
    public static func parse(_ bytes: UnsafeRawBufferPointer.SubSequence) -> ProcStatus? {
        var status = ProcStatus()
        var seen = 0
        Bytes.forEachLine(bytes) { line in
            guard let colon = line.firstIndex(of: Bytes.colon) else { return }
            let key = line[line.startIndex..<colon]
            let value = Bytes.trimmed(line[(colon + 1)...])
            guard key.count >= 3 else { return }
            switch key.count {
            case 3:
                if Bytes.hasPrefix(key, "Uid"), let ids = idQuad(value) {
                    status.uid = ids
                    seen |= 1
                } else if Bytes.hasPrefix(key, "Gid"), let ids = idQuad(value) {
                    status.gid = ids
                }
            case 4:
                if Bytes.hasPrefix(key, "Tgid") {
                    status.tgid = Int32(clamping: Bytes.decimal(value) ?? 0)
                } else if Bytes.hasPrefix(key, "PPid") {
                    status.ppid = Int32(clamping: Bytes.decimal(value) ?? 0)
                }
            case 5:
                if Bytes.hasPrefix(key, "NSpid") {
                    var pids: [Int32] = []
                    Bytes.forEachField(value, separator: Bytes.tab) { field in
                        if let pid = Bytes.decimal(Bytes.trimmed(field)) { pids.append(Int32(clamping: pid)) }
                        return true
                    }
                    status.namespacePids = pids
                }
            case 6:
                guard let set = Bytes.hex(value) else { return }
                if Bytes.hasPrefix(key, "CapInh") {
                    status.capabilities.inheritable = CapabilitySet(rawValue: set)
                } else if Bytes.hasPrefix(key, "CapPrm") {
                    status.capabilities.permitted = CapabilitySet(rawValue: set)
                } else if Bytes.hasPrefix(key, "CapEff") {
                    status.capabilities.effective = CapabilitySet(rawValue: set)
                    seen |= 2
                } else if Bytes.hasPrefix(key, "CapBnd") {
                    status.capabilities.bounding = CapabilitySet(rawValue: set)
                } else if Bytes.hasPrefix(key, "CapAmb") {
                    status.capabilities.ambient = CapabilitySet(rawValue: set)
                }
            case 7:
                if Bytes.hasPrefix(key, "Seccomp") {
                    status.seccomp = SeccompMode(statusValue: Bytes.decimal(value) ?? 0)
                } else if Bytes.hasPrefix(key, "Threads") {
                    status.threads = Int32(clamping: Bytes.decimal(value) ?? 1)
                }
            case 10:
                if Bytes.hasPrefix(key, "NoNewPrivs") {
                    status.noNewPrivs = Bytes.decimal(value) == 1
                }
            default:
                break
            }
        }
        return seen == 3 ? status : nil
    }

    private static func idQuad(
        _ value: UnsafeRawBufferPointer.SubSequence
    ) -> (real: UInt32, effective: UInt32, saved: UInt32, filesystem: UInt32)? {
        var ids: [UInt32] = []
        ids.reserveCapacity(4)
        Bytes.forEachField(value, separator: Bytes.tab) { field in
            guard let id = Bytes.decimal(Bytes.trimmed(field)), id <= UInt64(UInt32.max) else { return false }
            ids.append(UInt32(id))
            return ids.count < 4
        }
        guard ids.count == 4 else { return nil }
        return (ids[0], ids[1], ids[2], ids[3])
    }
}

/// A process's seccomp mode, from the `Seccomp:` line of its status.
public enum SeccompMode: String, Sendable, Equatable {
    case disabled
    case strict
    case filter

    init(statusValue: UInt64) {
        switch statusValue {
        case 1: self = .strict
        case 2: self = .filter
        default: self = .disabled
        }
    }
}
