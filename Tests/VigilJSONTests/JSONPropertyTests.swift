import Testing
import VigilJSON

/// Random documents through writer and parser, and random bytes into the parser. Seeds are fixed.
@Suite("JSON under arbitrary input")
struct JSONPropertyTests {
    /// A random JSON value, at most `depth` levels of containers deep.
    static func randomValue(_ random: inout SplitMix64, depth: Int) -> JSONValue {
        let kind = Int.random(in: 0..<(depth > 0 ? 7 : 5), using: &random)
        switch kind {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .number(randomNumber(&random))
        case 3, 4: return .string(randomString(&random))
        case 5:
            return .array(
                (0..<Int.random(in: 0...5, using: &random)).map { _ in randomValue(&random, depth: depth - 1) })
        default:
            var members: [(String, JSONValue)] = []
            var keys: Set<String> = []
            for _ in 0..<Int.random(in: 0...5, using: &random) {
                let key = randomString(&random)
                guard keys.insert(key).inserted else { continue }
                members.append((key, randomValue(&random, depth: depth - 1)))
            }
            return .object(members)
        }
    }

    static func randomNumber(_ random: inout SplitMix64) -> Double {
        switch Int.random(in: 0..<5, using: &random) {
        case 0: return Double(Int.random(in: -1_000_000...1_000_000, using: &random))
        case 1: return Double(Int64.random(in: Int64.min...Int64.max, using: &random))
        case 2: return Double.random(in: -1e20...1e20, using: &random)
        case 3: return Double(Int.random(in: -1000...1000, using: &random)) / 8
        default:
            // Any finite double at all, subnormals included.
            while true {
                let value = Double(bitPattern: random.next())
                if value.isFinite { return value }
            }
        }
    }

    static let interestingScalars: [Unicode.Scalar] = [
        "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{00}", "\u{01}", "\u{08}", "\u{0C}", "\u{1F}",
        "\u{7F}", "é", "€", "😀", "\u{2028}", "\u{FFFD}", "\u{FFFF}", "\u{10FFFF}",
    ]

    static func randomString(_ random: inout SplitMix64) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...12, using: &random) {
            if Int.random(in: 0..<4, using: &random) == 0 {
                // Any scalar value: a random code point outside the surrogate range.
                var value = UInt32.random(in: 0...0x10FFFF, using: &random)
                if (0xD800...0xDFFF).contains(value) { value = 0xFFFD }
                scalars.append(Unicode.Scalar(value)!)
            } else {
                scalars.append(interestingScalars.randomElement(using: &random)!)
            }
        }
        return String(scalars)
    }

    @Test("random documents round-trip through the writer and parser, compact and indented")
    func randomDocumentsRoundTrip() throws {
        var random = SplitMix64(seed: 42)
        for i in 0..<1500 {
            let value = Self.randomValue(&random, depth: 5)
            let compact = written(value)
            let parsed = try JSONParser.parse(compact)
            #expect(parsed == value, "#\(i): \(compact)")
            #expect(written(parsed) == compact, "#\(i): writing is stable")
            let indent = Int.random(in: 1...4, using: &random)
            #expect(try JSONParser.parse(written(value, indent: indent)) == value, "#\(i)")
        }
    }

    @Test("random bytes never crash the parser; what parses writes back and parses the same")
    func randomBytes() {
        var random = SplitMix64(seed: 43)
        let alphabet = Array(#"{}[]:,"\ tfnrue0123456789-+.eEaluxsD8\#n"#.utf8)
        for i in 0..<3000 {
            let length = Int.random(in: 0...(i % 10 == 0 ? 4096 : 64), using: &random)
            let bytes: [UInt8] = (0..<length).map { _ in
                i % 4 == 0 ? UInt8.random(in: 0...255, using: &random) : alphabet.randomElement(using: &random)!
            }
            Self.checkArbitrary(bytes, "#\(i)")
        }
    }

    @Test("mutations of real and random documents never crash the parser")
    func mutatedDocuments() throws {
        var random = SplitMix64(seed: 44)
        var documents = try Captured.jsonFiles.map { try Captured.bytes($0) }
        for _ in 0..<20 { documents.append(Array(written(Self.randomValue(&random, depth: 4)).utf8)) }
        let specials = Array(#"{}[]:,"\0"#.utf8) + [0x00, 0x0A, 0xFF]
        for i in 0..<2000 {
            var bytes = documents[i % documents.count]
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0...bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes.insert(specials.randomElement(using: &random)!, at: position)
                case 1 where position < bytes.count: bytes.remove(at: position)
                case 2 where position < bytes.count: bytes[position] = specials.randomElement(using: &random)!
                default: bytes.removeLast(min(bytes.count, Int.random(in: 0...16, using: &random)))
                }
            }
            Self.checkArbitrary(bytes, "mutation #\(i)")
        }
    }

    /// Parses `bytes`: a success must round-trip, an error must point inside the document.
    static func checkArbitrary(_ bytes: [UInt8], _ label: String) {
        do {
            let value = try JSONParser.parse(bytes)
            let reparsed = try? JSONParser.parse(written(value))
            #expect(reparsed == value, "\(label): \(written(value))")
        } catch {
            let lines = bytes.count(where: { $0 == 0x0A }) + 1
            #expect(error.line >= 1 && error.line <= lines, "\(label)")
            #expect(error.column >= 1 && error.column <= bytes.count + 1, "\(label)")
            #expect(!error.reason.isEmpty)
        }
    }
}
