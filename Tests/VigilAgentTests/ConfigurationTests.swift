import Testing
import VigilAgent
import VigilDetect
import VigilKernel

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
            ("[alert]\n", 1, "unknown section [alert]"),
            ("events = true\n", 1, "must be inside a section such as [watch]"),
            ("[rule shell_in_containers]\n", 1, "unknown rule 'shell_in_containers'"),
            ("[rule shell_in_container]\npriority = loud\n", 2, "priority must be one of"),
            ("[rule reverse_shell]\nexcept_pids = 1\n", 2, "unknown key 'except_pids'"),
            ("[fork_storm]\npids_fraction = 1.5\n", 2, "pids_fraction must be a number above 0 and at most 1"),
            ("[alerts]\ndedup_window = soon\n", 2, "dedup_window must be a duration"),
            ("[watch]\noutput = syslog:udp://example.com:514\n", 2, "syslog:udp://example.com:514"),
            ("[watch]\nsyslog_facility = mail2\n", 2, "syslog_facility must be one of"),
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

    @Test("rule sections, alerts, fork-storm thresholds and outputs are read")
    func readsRulesAndOutputs() throws {
        let text = """
            [watch]
            output = stdout, syslog:udp://127.0.0.1:5514
            syslog_facility = local3
            [alerts]
            dedup_window = 5s
            [fork_storm]
            rate = 50
            pids_fraction = 0.75
            quiet_period = 1s
            [rule shell_in_container]
            enabled = false
            [rule reverse_shell]
            priority = emergency
            except_workloads = k8s:ops/*, image:busybox:latest
            except_exes = /usr/bin/nc
            except_parents = crond
            """
        let configuration = try ConfigurationFile.parse(text, file: "vigil.conf")
        #expect(configuration.outputs.count == 2)
        #expect(configuration.syslogFacility == .local3)
        #expect(configuration.detection.dedupWindow == 5_000_000_000)
        #expect(configuration.detection.forkRate == 50)
        #expect(configuration.detection.pidsFraction == 0.75)
        #expect(configuration.detection.stormQuietPeriod == 1_000_000_000)
        #expect(configuration.detection.settings(.shellInContainer).enabled == false)
        let reverse = configuration.detection.settings(.reverseShell)
        #expect(reverse.priority == .emergency)
        #expect(reverse.exceptWorkloads == ["k8s:ops/*", "image:busybox:latest"])
        #expect(!configuration.detection.applies(.reverseShell, workload: "k8s:ops/toolbox/sh", exe: nil, name: nil, parent: nil))
        #expect(!configuration.detection.applies(.reverseShell, workload: "image:web:1", exe: "/usr/bin/nc", name: nil, parent: nil))
        #expect(!configuration.detection.applies(.reverseShell, workload: "image:web:1", exe: nil, name: nil, parent: "crond"))
        #expect(configuration.detection.applies(.reverseShell, workload: "image:web:1", exe: "/bin/sh", name: "sh", parent: "httpd"))
    }

    @Test("a missing file is refused naming it")
    func missingFile() {
        #expect(throws: ConfigurationError.self) { try ConfigurationFile.load("/nonexistent/vigil.conf") }
    }
}
