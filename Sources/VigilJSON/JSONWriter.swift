/// The one JSON writer: appends compact or indented JSON to a byte buffer, keys in the order written.
///
/// Callers write values in order (`beginObject`, `key`, values, `endObject`); the writer handles commas,
/// escaping and indentation.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private let indentStep: Int
    private var needsComma: [Bool] = []
    private var afterKey = false

    /// - Parameter indent: spaces per level; 0 writes one line.
    public init(indent: Int = 0, capacity: Int = 1024) {
        self.indentStep = indent
        bytes.reserveCapacity(capacity)
    }

    private mutating func beforeValue() {
        if afterKey {
            afterKey = false
            return
        }
        if let last = needsComma.last {
            if last { bytes.append(UInt8(ascii: ",")) }
            needsComma[needsComma.count - 1] = true
            newline()
        }
    }

    private mutating func newline() {
        guard indentStep > 0 else { return }
        bytes.append(0x0A)
        bytes.append(contentsOf: repeatElement(0x20, count: indentStep * needsComma.count))
    }

    public mutating func beginObject() {
        beforeValue()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    public mutating func endObject() {
        let hadMembers = needsComma.removeLast()
        if hadMembers { newline() }
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        beforeValue()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    public mutating func endArray() {
        let hadElements = needsComma.removeLast()
        if hadElements { newline() }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes an object key; the next value written is its value.
    public mutating func key(_ name: String) {
        beforeValue()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        if indentStep > 0 { bytes.append(0x20) }
        afterKey = true
    }

    public mutating func string(_ value: String) {
        beforeValue()
        appendQuoted(value)
    }

    public mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    public mutating func int<T: BinaryInteger>(_ value: T) {
        beforeValue()
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func int<T: BinaryInteger>(_ value: T?) {
        if let value { int(value) } else { null() }
    }

    public mutating func double(_ value: Double) {
        beforeValue()
        if value.isFinite {
            if value.rounded() == value, abs(value) < 1e15 {
                bytes.append(contentsOf: String(Int64(value)).utf8)
            } else {
                bytes.append(contentsOf: String(value).utf8)
            }
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
    }

    public mutating func bool(_ value: Bool) {
        beforeValue()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func null() {
        beforeValue()
        bytes.append(contentsOf: "null".utf8)
    }

    /// True when writing one compact line (no indentation): pre-encoded values may then be spliced in.
    public var isCompact: Bool { indentStep == 0 }

    /// Writes a value that is already compact JSON (for values repeated many times, encoded once).
    /// Only valid for a compact writer.
    public mutating func encoded(_ json: [UInt8]) {
        precondition(indentStep == 0, "pre-encoded JSON in an indented document")
        beforeValue()
        bytes.append(contentsOf: json)
    }

    /// Writes an array of strings.
    public mutating func strings(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    /// Writes any parsed value (used to pass documents through).
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let n): double(n)
        case .string(let s): string(s)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let members):
            beginObject()
            for (name, member) in members {
                key(name)
                self.value(member)
            }
            endObject()
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Hands the bytes written so far to `sink` and empties the buffer, keeping the nesting state, so a
    /// large document streams out in pieces instead of being held whole.
    public mutating func flush(_ sink: ([UInt8]) -> Void) {
        guard !bytes.isEmpty else { return }
        sink(bytes)
        bytes.removeAll(keepingCapacity: true)
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F
    }

    private mutating func appendQuoted(_ value: String) {
        bytes.append(0x22)
        var value = value
        let plain = value.withUTF8 { utf8 in
            if !utf8.contains(where: Self.needsEscape) {
                bytes.append(contentsOf: utf8)
                return true
            }
            return false
        }
        if plain {
            bytes.append(0x22)
            return
        }
        for byte in value.utf8 {
            switch byte {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(0x22)
    }
}
