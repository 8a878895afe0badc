import Testing
import VigilAgent

@Suite("Durations")
struct DurationTests {
    @Test("durations read like 90s, 10m, 1h, 250ms and combinations")
    func parses() {
        #expect(DurationParser.nanoseconds("90s") == 90_000_000_000)
        #expect(DurationParser.nanoseconds("10m") == 600_000_000_000)
        #expect(DurationParser.nanoseconds("1h") == 3_600_000_000_000)
        #expect(DurationParser.nanoseconds("250ms") == 250_000_000)
        #expect(DurationParser.nanoseconds("1h30m") == 5_400_000_000_000)
        #expect(DurationParser.nanoseconds("0") == 0)
    }

    @Test("a number without a unit, an unknown unit, or an overflow is refused", arguments: ["10", "5x", "", "s", "ms5", "99999999999999999999h", "1.5s", "-1s"])
    func refuses(_ text: String) {
        #expect(DurationParser.nanoseconds(text) == nil)
    }

    @Test("formatting reads back to the same duration", arguments: [UInt64(250_000_000), 90_000_000_000, 5_400_000_000_000, 1_000, 3_600_000_000_000])
    func roundTrips(_ value: UInt64) {
        #expect(DurationParser.nanoseconds(DurationParser.format(value)) == value)
    }
}

@Suite("Configuration file")
struct ConfigurationFileTests {
    @Test("every key is read from the [watch] section, with comments and blank lines")
    func readsEveryKey() throws {
        let text = """
            # Vigil agent
            [watch]
            source = poll          # forced polling
            events = true
            poll_interval = 100ms

            resync_interval = 1m
            slow_read_timeout = 5ms
            receive_buffer = 1048576
            """
        let configuration = try ConfigurationFile.parse(text, file: "vigil.conf")
        #expect(configuration.source == .poll)
        #expect(configuration.events)
        #expect(configuration.pollInterval == 100_000_000)
        #expect(configuration.resyncInterval == 60_000_000_000)
        #expect(configuration.slowReadTimeout == 5_000_000)
        #expect(configuration.receiveBuffer == 1_048_576)
    }

    @Test(
        "a bad file is refused with the file, the line and the reason",
        arguments: [
            ("[watch]\nsource = sometimes\n", 2, "source must be auto, connector or poll"),
            ("[watch]\n\nevents = yes\n", 3, "events must be true or false"),
            ("[watch]\npoll_interval = 5\n", 2, "poll_interval must be a positive duration"),
            ("[watch]\npoll_interval = 1ms\n", 2, "at least 10ms"),
            ("[alerts]\n", 1, "unknown section [alerts]"),
            ("events = true\n", 1, "must be inside a [watch] section"),
            ("[watch]\nevnets = true\n", 2, "unknown key 'evnets'"),
            ("[watch\n", 1, "must end with ']'"),
            ("[watch]\njust words\n", 2, "expected 'key = value'"),
        ])
    func refusesBadFiles(_ text: String, _ line: Int, _ reason: String) {
        do {
            _ = try ConfigurationFile.parse(text, file: "/etc/vigil/vigil.conf")
            Issue.record("accepted a bad file: \(text)")
        } catch {
            #expect(error.file == "/etc/vigil/vigil.conf")
            #expect(error.line == line)
            #expect(error.reason.contains(reason), "\(error.reason)")
            #expect(error.description.hasPrefix("/etc/vigil/vigil.conf:\(line): "))
        }
    }

    @Test("a missing file is refused naming it")
    func missingFile() {
        #expect(throws: ConfigurationError.self) { try ConfigurationFile.load("/nonexistent/vigil.conf") }
    }
}
