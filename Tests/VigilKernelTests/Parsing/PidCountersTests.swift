import Testing
import VigilKernel

@Suite("PidCounters.parseLimit and parseEventsMax")
struct PidCountersTests {
    @Test("pids.max 'max' is unlimited (nil); a number is the limit")
    func limit() throws {
        #expect(parseLimit("max\n") == nil)
        #expect(parseLimit("max") == nil)
        #expect(parseLimit("64\n") == 64)
        #expect(parseLimit(try Captured.bytes("docker-pids.max")) == 64)
        #expect(parseLimit(try Captured.bytes("docker-pids-hit.max")) == 5)
        #expect(parseLimit("  0 \n") == 0)
        #expect(parseLimit("") == nil)
        #expect(parseLimit("-1") == nil)
        #expect(parseLimit("6 4") == nil)
    }

    @Test("pids.events 'max N' is the count of forks refused at the limit")
    func eventsMax() throws {
        #expect(parseEventsMax("max 3") == 3)
        #expect(parseEventsMax("max 3\n") == 3)
        #expect(parseEventsMax(try Captured.bytes("docker-pids.events")) == 0)
        #expect(parseEventsMax(try Captured.bytes("docker-pids-hit.events")) == 1)
        #expect(parseEventsMax("") == nil)
        #expect(parseEventsMax("maximum 3\n") == nil)
        #expect(parseEventsMax("max\n") == nil)
    }

    @Test("other lines of pids.events (a newer kernel's max.imposed) do not shadow 'max N'")
    func eventsMaxAmongOtherLines() {
        #expect(parseEventsMax("max 3\nmax.imposed 7\n") == 3)
        #expect(parseEventsMax("max.imposed 7\nmax 3\n") == 3)
    }

    @Test("the captured counters: current 3 of 64; the limited container's peak exceeds its limit")
    func capturedCounters() throws {
        func number(_ file: String) throws -> UInt64? { parseLimit(try Captured.bytes(file)) }
        #expect(try number("docker-pids.current") == 3)
        let hitMax = try #require(try number("docker-pids-hit.max"))
        let hitPeak = try #require(try number("docker-pids-hit.peak"))
        #expect(hitPeak > hitMax, "attached processes are not limited, only forks")
    }
}

@Suite("Bytes helpers")
struct BytesTests {
    func decimal(_ text: String) -> UInt64? { Array(text.utf8).withParserInput { Bytes.decimal($0) } }
    func signed(_ text: String) -> Int64? { Array(text.utf8).withParserInput { Bytes.signedDecimal($0) } }
    func hex(_ text: String) -> UInt64? { Array(text.utf8).withParserInput { Bytes.hex($0) } }
    func trimmed(_ text: String) -> String { Array(text.utf8).withParserInput { Bytes.string(Bytes.trimmed($0)) } }
    func lines(_ text: String) -> [String] {
        var result: [String] = []
        Array(text.utf8).withParserInput { Bytes.forEachLine($0) { result.append(Bytes.string($0)) } }
        return result
    }
    func fields(_ text: String, separator: UInt8 = Bytes.space, limit: Int = .max) -> [String] {
        var result: [String] = []
        Array(text.utf8).withParserInput {
            Bytes.forEachField($0, separator: separator) {
                result.append(Bytes.string($0))
                return result.count < limit
            }
        }
        return result
    }
    func split(_ text: String, _ separator: Character) -> [String] {
        Array(text.utf8).withParserInput { Bytes.split($0, on: separator.asciiValue!).map { Bytes.string($0) } }
    }

    @Test("decimal: digits only, nil when empty, signed or overflowing")
    func decimals() {
        #expect(decimal("0") == 0)
        #expect(decimal("007") == 7)
        #expect(decimal("18446744073709551615") == UInt64.max)
        #expect(decimal("18446744073709551616") == nil)
        #expect(decimal("99999999999999999999") == nil)
        #expect(decimal("") == nil)
        #expect(decimal("-1") == nil)
        #expect(decimal("+1") == nil)
        #expect(decimal("1 ") == nil)
        #expect(decimal("12a") == nil)
    }

    @Test("signedDecimal: an optional minus, within Int64")
    func signedDecimals() {
        #expect(signed("-1") == -1)
        #expect(signed("42") == 42)
        #expect(signed("9223372036854775807") == Int64.max)
        #expect(signed("-9223372036854775807") == -Int64.max)
        #expect(signed("9223372036854775808") == nil)
        #expect(signed("-") == nil)
        #expect(signed("--1") == nil)
        #expect(signed("") == nil)
    }

    @Test("hex: up to 16 digits of either case, no prefix")
    func hexadecimals() {
        #expect(hex("00000000a80425fb") == 0xa804_25fb)
        #expect(hex("A80425FB") == 0xa804_25fb)
        #expect(hex("ffffffffffffffff") == UInt64.max)
        #expect(hex("0") == 0)
        #expect(hex("10000000000000000") == nil, "17 digits")
        #expect(hex("0x1") == nil)
        #expect(hex("g") == nil)
        #expect(hex("") == nil)
    }

    @Test("trimmed removes spaces, tabs, CR and LF at both ends only")
    func trimming() {
        #expect(trimmed(" \t a b \r\n") == "a b")
        #expect(trimmed("\n\n") == "")
        #expect(trimmed("") == "")
        #expect(trimmed("x") == "x")
    }

    @Test("forEachLine: a final line without newline counts, a final newline makes no empty line")
    func lineSplitting() {
        #expect(lines("a\nb") == ["a", "b"])
        #expect(lines("a\nb\n") == ["a", "b"])
        #expect(lines("\n\n") == ["", ""])
        #expect(lines("") == [])
    }

    @Test("forEachField collapses runs of the separator and stops when asked")
    func fieldSplitting() {
        #expect(fields("  a  b c ") == ["a", "b", "c"])
        #expect(fields("") == [])
        #expect(fields("   ") == [])
        #expect(fields("a\tb\t\tc", separator: Bytes.tab) == ["a", "b", "c"])
        #expect(fields("a b c d", limit: 2) == ["a", "b"])
    }

    @Test("split keeps empty fields")
    func splitting() {
        #expect(split("a,,b", ",") == ["a", "", "b"])
        #expect(split("", ",") == [""])
        #expect(split(",", ",") == ["", ""])
    }

    @Test("hasPrefix compares ASCII bytes and never reads past a short input")
    func prefixes() {
        #expect(Array("Uid:\t0".utf8).withParserInput { Bytes.hasPrefix($0, "Uid") })
        #expect(!Array("Ui".utf8).withParserInput { Bytes.hasPrefix($0, "Uid") })
        #expect(!Array("Gid".utf8).withParserInput { Bytes.hasPrefix($0, "Uid") })
        #expect([UInt8]().withParserInput { Bytes.hasPrefix($0, "") })
    }

    @Test("string replaces invalid UTF-8 with U+FFFD")
    func decoding() {
        #expect(Bytes.string([0x61, 0xFF, 0x62]) == "a\u{FFFD}b")
        #expect([UInt8]([0xC3, 0xA9]).withParserInput { Bytes.string($0) } == "é")
    }
}
