import Testing
import VigilJSON

@Suite("JSONWriter")
struct JSONWriterTests {
    /// `{"a":1,"b":[1,2],"c":{},"d":[]}` written by calls, as callers do.
    static func sample(indent: Int) -> String {
        var writer = JSONWriter(indent: indent)
        writer.beginObject()
        writer.key("a")
        writer.int(1)
        writer.key("b")
        writer.beginArray()
        writer.int(1)
        writer.int(2)
        writer.endArray()
        writer.key("c")
        writer.beginObject()
        writer.endObject()
        writer.key("d")
        writer.beginArray()
        writer.endArray()
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test("compact output has no whitespace at all")
    func compact() {
        #expect(Self.sample(indent: 0) == #"{"a":1,"b":[1,2],"c":{},"d":[]}"#)
    }

    @Test("indented output puts each member on its own line; empty containers stay closed")
    func indented() {
        #expect(
            Self.sample(indent: 2) == """
                {
                  "a": 1,
                  "b": [
                    1,
                    2
                  ],
                  "c": {},
                  "d": []
                }
                """)
        #expect(Self.sample(indent: 4).contains("\n        1,\n"))
    }

    @Test("an array of objects is indented level by level")
    func arrayOfObjects() {
        let value = JSONValue.array([.object([("x", .number(1))]), .object([])])
        #expect(written(value, indent: 1) == "[\n {\n  \"x\": 1\n },\n {}\n]")
        #expect(written(value) == #"[{"x":1},{}]"#)
    }

    @Test("quotes, backslashes, newline, CR and tab get short escapes")
    func shortEscapes() {
        #expect(written(.string("a\"b\\c\nd\re\tf")) == #""a\"b\\c\nd\re\tf""#)
    }

    @Test("every other control character and DEL are written as \\u00XX")
    func controlCharacters() {
        for byte in UInt8(0)..<0x20 where ![0x0A, 0x0D, 0x09].contains(byte) {
            let hex = String(byte, radix: 16)
            let expected = "\"\\u00" + (hex.count == 1 ? "0" + hex : hex) + "\""
            #expect(written(.string(String(UnicodeScalar(byte)))) == expected)
        }
        #expect(written(.string("\u{7F}")) == #""\u007f""#)
        #expect(written(.string("\u{08}\u{0C}")) == #""\u0008\u000c""#)
    }

    @Test("slash and non-ASCII text are written as they are")
    func noNeedlessEscapes() {
        #expect(written(.string("/usr/bin/é€😀\u{2028}")) == "\"/usr/bin/é€😀\u{2028}\"")
    }

    @Test("keys are escaped like strings")
    func keyEscaping() {
        #expect(written(.object([("a\"\n", .null)])) == #"{"a\"\n":null}"#)
    }

    @Test(
        "integral doubles are written without a fraction; others in shortest round-trip form; non-finite as null",
        arguments: [
            (1.0, "1"), (-3.0, "-3"), (0.0, "0"), (-0.0, "0"), (1.5, "1.5"), (0.1, "0.1"), (-2.5e-8, "-2.5e-08"),
            (1e16, "1e+16"), (-1e300, "-1e+300"), (999_999_999_999_999.0, "999999999999999"), (Double.nan, "null"),
            (Double.infinity, "null"), (-Double.infinity, "null"),
        ])
    func doubles(value: Double, expected: String) {
        var writer = JSONWriter()
        writer.double(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == expected)
    }

    @Test("integers of every width are written exactly; nil optionals as null")
    func integers() {
        var writer = JSONWriter()
        writer.beginArray()
        writer.int(Int64.min)
        writer.int(UInt64.max)
        writer.int(Int32(-7))
        writer.int(UInt8(255))
        writer.int(Int?.none)
        writer.int(Int?.some(5))
        writer.string(String?.none)
        writer.string(String?.some("s"))
        writer.bool(true)
        writer.bool(false)
        writer.null()
        writer.strings([])
        writer.strings(["x", "y"])
        writer.endArray()
        #expect(
            String(decoding: writer.bytes, as: UTF8.self)
                == #"[-9223372036854775808,18446744073709551615,-7,255,null,5,null,"s",true,false,null,[],["x","y"]]"#)
    }

    @Test("a scalar document is just the scalar")
    func scalarDocument() {
        #expect(written(.string("x"), indent: 2) == "\"x\"")
        #expect(written(.null, indent: 2) == "null")
    }

    @Test("what the writer writes, the parser reads back")
    func writerToParser() throws {
        for indent in [0, 2] {
            let value = try JSONParser.parse(Self.sample(indent: indent))
            #expect(
                value
                    == .object([
                        ("a", .number(1)), ("b", .array([.number(1), .number(2)])), ("c", .object([])),
                        ("d", .array([])),
                    ]))
        }
        let tricky = JSONValue.object([
            ("control \u{01}\u{1F}\u{7F}", .string("\"\\/\n\r\t\u{08}\u{0C}\u{00}")),
            ("unicode", .string("é€😀\u{10FFFF}\u{FFFD}")),
            (
                "numbers",
                .array([.number(-0.5), .number(1e300), .number(.leastNonzeroMagnitude), .number(123_456_789)])
            ),
        ])
        #expect(try JSONParser.parse(written(tricky)) == tricky)
        #expect(try JSONParser.parse(written(tricky, indent: 3)) == tricky)
    }

    @Test(
        "Docker's records survive parse, write and parse again, byte-stable on the second write",
        arguments: Captured.jsonFiles)
    func capturedRoundTrip(file: String) throws {
        let original = try JSONParser.parse(try Captured.bytes(file))
        let compact = written(original)
        let reparsed = try JSONParser.parse(compact)
        #expect(reparsed == original)
        #expect(written(reparsed) == compact, "key order and number form are stable")
        #expect(try JSONParser.parse(written(original, indent: 2)) == original)
    }
}
