import Testing
import VigilJSON

@Suite("JSONParser")
struct JSONParserTests {
    @Test(
        "scalars parse to their values",
        arguments: [
            ("null", JSONValue.null), ("true", .bool(true)), ("false", .bool(false)), ("0", .number(0)),
            ("-0", .number(0)), ("42", .number(42)), ("-17", .number(-17)), ("1.5", .number(1.5)),
            ("-1.5e3", .number(-1500)), ("1E+2", .number(100)), ("1e-2", .number(0.01)), ("0.000001", .number(1e-6)),
            ("123456789012", .number(123_456_789_012)), ("\"\"", .string("")), ("\"text\"", .string("text")),
        ])
    func scalars(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test("a nested document parses, with members in document order")
    func nestedDocument() throws {
        let value = try JSONParser.parse(#"{"b":[true,false,null,{"x":1}],"a":{"c":"d"},"n":-2.5,"e":[]}"#)
        #expect(value.members?.map(\.0) == ["b", "a", "n", "e"])
        #expect(value["b"] == .array([.bool(true), .bool(false), .null, .object([("x", .number(1))])]))
        #expect(value["b"]?.array?.count == 4)
        #expect(value["b"]?.array?[3]["x"]?.int == 1)
        #expect(value["a"]?["c"]?.string == "d")
        #expect(value["n"]?.number == -2.5)
        #expect(value["n"]?.int == nil, "not an integer")
        #expect(value["e"]?.array?.isEmpty == true)
        #expect(value["b"]?.array?[2].isNull == true)
        #expect(value["b"]?.array?[0].bool == true)
        #expect(value["missing"] == nil)
        #expect(value["b"]?["x"] == nil, "an array has no members")
    }

    @Test("whitespace (space, tab, CR, LF) is allowed around every token")
    func whitespace() throws {
        let value = try JSONParser.parse(" \t\r\n{ \"a\" \n:\t[ 1 ,\r\n 2 ] , \"b\" : { } }\n ")
        #expect(value == .object([("a", .array([.number(1), .number(2)])), ("b", .object([]))]))
    }

    @Test("every two-character escape")
    func simpleEscapes() throws {
        #expect(try JSONParser.parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0C}\n\r\t"))
    }

    @Test(
        "\\u escapes of either case, including NUL",
        arguments: [
            (#""\u0041""#, "A"), (#""\u00e9""#, "é"), (#""\u00E9""#, "é"), (#""\u20AC""#, "€"), (#""\u0000""#, "\0"),
            (#""a\u0020b""#, "a b"), (#""\uFFFF""#, "\u{FFFF}"),
        ])
    func unicodeEscapes(text: String, expected: String) throws {
        #expect(try JSONParser.parse(text) == .string(expected))
    }

    @Test("a surrogate pair is one scalar")
    func surrogatePairs() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONParser.parse(#""\uD834\uDD1E""#) == .string("𝄞"))
        #expect(try JSONParser.parse(#""\uDBFF\uDFFF""#) == .string("\u{10FFFF}"))
        #expect(try JSONParser.parse(#""x\ud83d\ude00y""#) == .string("x😀y"))
    }

    @Test(
        "a lone surrogate becomes U+FFFD and nothing after it is lost",
        arguments: [
            (#""\ud83d""#, "\u{FFFD}"), (#""\ude00""#, "\u{FFFD}"), (#""\ud83dx""#, "\u{FFFD}x"),
            (#""\ude00\ud83d""#, "\u{FFFD}\u{FFFD}"), (#""\ud83d\u0041""#, "\u{FFFD}A"),
            (#""\ud83d\n""#, "\u{FFFD}\n"), (#""\ud83d\ud83d\ude00""#, "\u{FFFD}😀"),
        ])
    func loneSurrogates(text: String, expected: String) throws {
        #expect(try JSONParser.parse(text) == .string(expected))
    }

    @Test("raw UTF-8 in strings is kept; invalid UTF-8 becomes U+FFFD")
    func rawBytesInStrings() throws {
        #expect(try JSONParser.parse("\"é€😀\"") == .string("é€😀"))
        let invalid: [UInt8] = [0x22, 0x61, 0xFF, 0x62, 0x22]
        #expect(try JSONParser.parse(invalid) == .string("a\u{FFFD}b"))
    }

    @Test("numbers beyond 2^53 round to the nearest double; -0 equals 0")
    func numberPrecision() throws {
        #expect(try JSONParser.parse("9007199254740993") == .number(9_007_199_254_740_992))
        #expect(try JSONParser.parse("-0") == .number(0))
        #expect(try JSONParser.parse("1e308") == .number(1e308))
        #expect(try JSONParser.parse("5e-324") == .number(.leastNonzeroMagnitude))
    }

    @Test("int is nil for fractions and for magnitudes a double cannot hold exactly")
    func intAccessor() throws {
        #expect(try JSONParser.parse("-3").int == -3)
        #expect(try JSONParser.parse("3.0").int == 3)
        #expect(try JSONParser.parse("3.5").int == nil)
        #expect(try JSONParser.parse("1e16").int == nil)
        #expect(try JSONParser.parse("\"3\"").int == nil)
    }

    @Test("duplicate keys are all kept; the subscript finds the first")
    func duplicateKeys() throws {
        let value = try JSONParser.parse(#"{"a":1,"a":2}"#)
        #expect(value.members?.count == 2)
        #expect(value["a"] == .number(1))
    }

    @Test("object equality ignores key order; array equality does not")
    func equality() throws {
        #expect(try JSONParser.parse(#"{"a":1,"b":[1,2]}"#) == JSONParser.parse(#"{"b":[1,2],"a":1}"#))
        #expect(try JSONParser.parse("[1,2]") != JSONParser.parse("[2,1]"))
        #expect(try JSONParser.parse(#"{"a":1}"#) != JSONParser.parse(#"{"a":1,"b":2}"#))
        #expect(try JSONParser.parse(#"{"a":1}"#) != JSONParser.parse(#"{"b":1}"#))
        #expect(JSONValue.number(1) != .string("1"))
        #expect(JSONValue.null != .bool(false))
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var text: String
        var line: Int
        var column: Int
        var reason: String
        var testDescription: String { text.debugDescription }
    }

    @Test(
        "invalid documents fail with the line and column of the problem",
        arguments: [
            ErrorCase(text: "", line: 1, column: 1, reason: "unexpected end of input"),
            ErrorCase(text: "   ", line: 1, column: 4, reason: "unexpected end of input"),
            ErrorCase(text: "[", line: 1, column: 2, reason: "unexpected end of input"),
            ErrorCase(text: "[1", line: 1, column: 3, reason: "unexpected end of input in an array"),
            ErrorCase(text: "{\"a\":1", line: 1, column: 7, reason: "unexpected end of input in an object"),
            ErrorCase(text: "{", line: 1, column: 2, reason: "expected a key string"),
            ErrorCase(text: "{1:2}", line: 1, column: 2, reason: "expected a key string"),
            ErrorCase(text: "{\"a\":1,}", line: 1, column: 8, reason: "expected a key string"),
            ErrorCase(text: "{\"a\" 1}", line: 1, column: 6, reason: "expected ':'"),
            ErrorCase(text: "[1,]", line: 1, column: 4, reason: "unexpected character"),
            ErrorCase(text: "[1 2]", line: 1, column: 4, reason: "expected ',' or ']'"),
            ErrorCase(text: "{\"a\":1 \"b\":2}", line: 1, column: 8, reason: "expected ',' or '}'"),
            ErrorCase(text: "\n\n  x", line: 3, column: 3, reason: "unexpected character"),
            ErrorCase(text: "{\n  \"a\": tru\n}", line: 2, column: 8, reason: "invalid literal"),
            ErrorCase(text: "{\n\"a\":\n[1,\n2,,]}", line: 4, column: 3, reason: "unexpected character"),
            ErrorCase(text: "nul", line: 1, column: 1, reason: "unexpected end of input"),
            ErrorCase(text: "nulx", line: 1, column: 1, reason: "invalid literal"),
            ErrorCase(text: "NaN", line: 1, column: 1, reason: "unexpected character"),
            ErrorCase(text: "Infinity", line: 1, column: 1, reason: "unexpected character"),
            ErrorCase(text: "+1", line: 1, column: 1, reason: "unexpected character"),
            ErrorCase(text: ".5", line: 1, column: 1, reason: "unexpected character"),
            ErrorCase(text: "-", line: 1, column: 2, reason: "invalid number"),
            ErrorCase(text: "-x", line: 1, column: 2, reason: "invalid number"),
            ErrorCase(text: "1.", line: 1, column: 3, reason: "invalid number"),
            ErrorCase(text: "1.e5", line: 1, column: 3, reason: "invalid number"),
            ErrorCase(text: "1e", line: 1, column: 3, reason: "invalid number"),
            ErrorCase(text: "1e+", line: 1, column: 4, reason: "invalid number"),
            ErrorCase(text: "01", line: 1, column: 2, reason: "unexpected text after the JSON value"),
            ErrorCase(text: "[1] x", line: 1, column: 5, reason: "unexpected text after the JSON value"),
            ErrorCase(text: "1 2", line: 1, column: 3, reason: "unexpected text after the JSON value"),
            ErrorCase(text: "\"abc", line: 1, column: 5, reason: "unterminated string"),
            ErrorCase(text: "\"a\tb\"", line: 1, column: 3, reason: "control character in a string"),
            ErrorCase(text: "\"a\nb\"", line: 1, column: 3, reason: "control character in a string"),
            ErrorCase(text: "\"\\", line: 1, column: 3, reason: "unterminated escape"),
            ErrorCase(text: "\"\\u12\"", line: 1, column: 4, reason: "short \\u escape"),
            ErrorCase(text: "\"\\u12G4\"", line: 1, column: 6, reason: "invalid \\u escape"),
        ])
    func errorPositions(_ error: ErrorCase) throws {
        let found = try #require(parseError(error.text))
        #expect(found.reason == error.reason)
        #expect(found.line == error.line)
        #expect(found.column == error.column)
        #expect(found.description == "line \(error.line), column \(error.column): \(error.reason)")
    }

    @Test("an unknown escape is an error on its line")
    func invalidEscape() throws {
        let found = try #require(parseError("[\n\"\\x\"]"))
        #expect(found.reason == "invalid escape")
        #expect(found.line == 2)
    }

    @Test("nesting up to 128 levels parses; the 129th level fails at its bracket")
    func depthLimit() throws {
        let deepest = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        var value = try JSONParser.parse(deepest)
        var depth = 1
        while case .array(let elements) = value, let first = elements.first {
            value = first
            depth += 1
        }
        #expect(depth == 128)
        #expect(value == .array([]), "the innermost array is empty")

        let tooDeep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        let found = try #require(parseError(tooDeep))
        #expect(found.reason.contains("nesting deeper than 128"))
        #expect(found.line == 1 && found.column == 129)

        let objects = String(repeating: #"{"a":"#, count: 129) + "1" + String(repeating: "}", count: 129)
        #expect(parseError(objects)?.reason.contains("nesting") == true)
        let mixed = String(repeating: #"[{"a":"#, count: 64) + "1" + String(repeating: "}]", count: 64)
        #expect(try JSONParser.parse(mixed) != .null, "128 levels of arrays and objects")
    }

    @Test("100,000 opening brackets fail with the nesting error instead of exhausting the stack")
    func hostileNesting() throws {
        #expect(parseError(String(repeating: "[", count: 100_000))?.column == 129)
        #expect(parseError(String(repeating: #"{"a":"#, count: 100_000))?.reason.contains("nesting") == true)
        #expect(parseError(String(repeating: "[{\"\":", count: 100_000))?.reason.contains("nesting") == true)
    }

    @Test("Docker's config.v2.json and hostconfig.json of the captured container parse")
    func capturedDockerRecords() throws {
        let config = try JSONParser.parse(try Captured.bytes("docker-sh.config.v2.json"))
        let id = String(decoding: try Captured.bytes("docker-sh.id.txt"), as: UTF8.self).filter { $0 != "\n" }
        #expect(config["ID"]?.string == id)
        #expect(config["Name"]?.string == "/vigil-capture-sh")
        #expect(config["Config"]?["Image"]?.string == "vigil-busybox:latest")
        #expect(config["Config"]?["Labels"]?["com.docker.compose.service"]?.string == "web")
        #expect(config["Config"]?["Labels"]?["com.docker.compose.project"]?.string == "vigil")
        #expect(
            config["Config"]?["Cmd"]
                == .array([.string("sh"), .string("-c"), .string("sleep 1000 & sleep 1000 & wait")]))
        let host = try JSONParser.parse(try Captured.bytes("docker-sh.hostconfig.json"))
        #expect(host["PidsLimit"]?.int == 64)
        #expect(host["Privileged"]?.bool == false)
    }
}
