import CLibcap
import Glibc

/// A set of Linux capabilities as the kernel reports it: bit N is capability N.
public struct CapabilitySet: Equatable, Hashable, Sendable, Comparable {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static let empty = CapabilitySet(rawValue: 0)

    /// Docker's, containerd's and Podman's default effective set for a root container:
    /// CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT
    /// MKNOD AUDIT_WRITE SETFCAP.
    public static let dockerDefault = CapabilitySet(rawValue: 0x0000_0000_a804_25fb)

    /// CRI-O's default set (since 1.18): Docker's without NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP.
    public static let crioDefault = CapabilitySet(rawValue: 0x0000_0000_0000_05fb)

    /// Every capability up to and including `last` (the kernel's `cap_last_cap`).
    public static func all(upTo last: Int) -> CapabilitySet {
        let count = min(max(last + 1, 0), 64)
        return CapabilitySet(rawValue: count == 64 ? .max : (UInt64(1) << UInt64(count)) - 1)
    }

    public func contains(_ capability: Int) -> Bool {
        capability >= 0 && capability < 64 && rawValue & (1 << UInt64(capability)) != 0
    }

    public var isEmpty: Bool { rawValue == 0 }
    public var count: Int { rawValue.nonzeroBitCount }

    public func union(_ other: CapabilitySet) -> CapabilitySet { CapabilitySet(rawValue: rawValue | other.rawValue) }
    public func subtracting(_ other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(rawValue: rawValue & ~other.rawValue)
    }
    public func isSubset(of other: CapabilitySet) -> Bool { rawValue & ~other.rawValue == 0 }

    /// The capability numbers in the set, ascending.
    public var numbers: [Int] { (0..<64).filter { contains($0) } }

    /// Names such as `CAP_NET_RAW`, ascending by number.
    public var names: [String] { numbers.map { CapabilityNames.name(of: $0) } }

    public static func < (a: CapabilitySet, b: CapabilitySet) -> Bool { a.rawValue < b.rawValue }
}

/// The five capability sets of a process.
public struct CapabilitySets: Equatable, Hashable, Sendable {
    public var effective = CapabilitySet.empty
    public var permitted = CapabilitySet.empty
    public var bounding = CapabilitySet.empty
    public var inheritable = CapabilitySet.empty
    public var ambient = CapabilitySet.empty

    public init(
        effective: CapabilitySet = .empty, permitted: CapabilitySet = .empty, bounding: CapabilitySet = .empty,
        inheritable: CapabilitySet = .empty, ambient: CapabilitySet = .empty
    ) {
        self.effective = effective
        self.permitted = permitted
        self.bounding = bounding
        self.inheritable = inheritable
        self.ambient = ambient
    }
}

/// Capability names, from libcap's `cap_to_name`, built once at start.
public enum CapabilityNames {
    /// Index N holds the name of capability N (`CAP_CHOWN`); numbers libcap does not know read `CAP_N`.
    public static let table: [String] = (0..<64).map { number in
        guard let raw = cap_to_name(cap_value_t(number)) else { return "CAP_\(number)" }
        defer { cap_free(raw) }
        let name = String(cString: raw)
        // libcap spells unknown capabilities as their number.
        if name.allSatisfy(\.isNumber) { return "CAP_\(name)" }
        return name.uppercased()
    }

    /// Number for a name such as `CAP_NET_ADMIN`, `cap_net_admin` or `NET_ADMIN`.
    public static func number(of name: String) -> Int? {
        let upper = name.uppercased()
        let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        return table.firstIndex(of: full)
    }

    public static func name(of number: Int) -> String {
        number >= 0 && number < 64 ? table[number] : "CAP_\(number)"
    }

    /// The short form used in summaries: `NET_ADMIN`.
    public static func shortName(of number: Int) -> String {
        String(name(of: number).dropFirst(4))
    }
}
