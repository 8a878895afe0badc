/// The one byte-parsing toolkit: small, allocation-free helpers over raw bytes.
///
/// Every kernel text format Vigil reads (/proc, cgroup files, mountinfo) is parsed with these, in place,
/// without building Strings until a value is kept.
public enum Bytes {
    public static let newline: UInt8 = 0x0A
    public static let space: UInt8 = 0x20
    public static let tab: UInt8 = 0x09
    public static let colon: UInt8 = 0x3A
    public static let nul: UInt8 = 0x00

    /// Parses an unsigned decimal number; nil when empty, not all digits, or overflowing.
    @inlinable
    public static func decimal(_ bytes: UnsafeRawBufferPointer.SubSequence) -> UInt64? {
        guard !bytes.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - 0x30))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    /// Parses a signed decimal number.
    @inlinable
    public static func signedDecimal(_ bytes: UnsafeRawBufferPointer.SubSequence) -> Int64? {
        guard let first = bytes.first else { return nil }
        if first == 0x2D {
            guard let magnitude = decimal(bytes.dropFirst()), magnitude <= UInt64(Int64.max) else { return nil }
            return -Int64(magnitude)
        }
        guard let magnitude = decimal(bytes), magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// Parses an unsigned hexadecimal number (no prefix); nil when empty, invalid or longer than 16 digits.
    @inlinable
    public static func hex(_ bytes: UnsafeRawBufferPointer.SubSequence) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 16 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x61...0x66: digit = byte - 0x61 + 10
            case 0x41...0x46: digit = byte - 0x41 + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    /// Removes leading and trailing spaces, tabs and newlines.
    @inlinable
    public static func trimmed(_ bytes: UnsafeRawBufferPointer.SubSequence) -> UnsafeRawBufferPointer.SubSequence {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isBlank(bytes[start]) { start += 1 }
        while end > start, isBlank(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }

    @inlinable
    static func isBlank(_ byte: UInt8) -> Bool {
        byte == space || byte == tab || byte == newline || byte == 0x0D
    }

    /// Calls `body` with each line (without its newline); a final line without newline counts too.
    @inlinable
    public static func forEachLine(
        _ bytes: UnsafeRawBufferPointer.SubSequence,
        _ body: (UnsafeRawBufferPointer.SubSequence) -> Void
    ) {
        var start = bytes.startIndex
        var index = start
        while index < bytes.endIndex {
            if bytes[index] == newline {
                body(bytes[start..<index])
                start = index + 1
            }
            index += 1
        }
        if start < bytes.endIndex {
            body(bytes[start..<bytes.endIndex])
        }
    }

    /// Calls `body` with each field separated by runs of `separator`; stops early when `body` returns false.
    @inlinable
    public static func forEachField(
        _ bytes: UnsafeRawBufferPointer.SubSequence,
        separator: UInt8 = space,
        _ body: (UnsafeRawBufferPointer.SubSequence) -> Bool
    ) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            while index < bytes.endIndex, bytes[index] == separator { index += 1 }
            if index == bytes.endIndex { return }
            let start = index
            while index < bytes.endIndex, bytes[index] != separator { index += 1 }
            if !body(bytes[start..<index]) { return }
        }
    }

    /// Splits on every `separator` (empty fields kept), as Strings: for cold paths only.
    public static func split(_ bytes: UnsafeRawBufferPointer.SubSequence, on separator: UInt8) -> [UnsafeRawBufferPointer.SubSequence] {
        var parts: [UnsafeRawBufferPointer.SubSequence] = []
        var start = bytes.startIndex
        for index in bytes.indices where bytes[index] == separator {
            parts.append(bytes[start..<index])
            start = index + 1
        }
        parts.append(bytes[start..<bytes.endIndex])
        return parts
    }

    /// True when `bytes` starts with the ASCII `prefix`.
    @inlinable
    public static func hasPrefix(_ bytes: UnsafeRawBufferPointer.SubSequence, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let p = prefix.utf8Start
        for i in 0..<count where bytes[bytes.startIndex + i] != p[i] {
            return false
        }
        return true
    }

    /// Decodes bytes as UTF-8, replacing invalid sequences with U+FFFD: never fails.
    @inlinable
    public static func string(_ bytes: UnsafeRawBufferPointer.SubSequence) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes bytes as UTF-8 (with replacement).
    @inlinable
    public static func string(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Runs `body` with the array's bytes as a parser input slice.
    @inlinable
    public func withParserInput<R>(_ body: (UnsafeRawBufferPointer.SubSequence) throws -> R) rethrows -> R {
        try withUnsafeBytes { raw in try body(raw[...]) }
    }
}
