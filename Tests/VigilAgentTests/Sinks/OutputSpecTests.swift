import Testing
import VigilAgent

extension SinksTests {
    @Suite("--output specs")
    struct OutputSpecTests {
        @Test("every documented form parses, and prints back as written")
        func parsesDocumentedForms() throws {
            let cases: [(String, OutputSpec)] = [
                ("stdout", .standardOutput),
                ("file:/var/log/vigil.json", .file(path: "/var/log/vigil.json")),
                ("file:relative/vigil.json", .file(path: "relative/vigil.json")),
                ("syslog", .localSyslog(path: "/dev/log")),
                ("syslog:unix:/run/systemd/journal/syslog", .localSyslog(path: "/run/systemd/journal/syslog")),
                ("syslog:udp://127.0.0.1:514", .remoteSyslog(.udp, try #require(IPAddress("127.0.0.1")), port: 514)),
                ("syslog:tcp://10.1.2.3:6514", .remoteSyslog(.tcp, try #require(IPAddress("10.1.2.3")), port: 6514)),
                ("syslog:tcp://[::1]:601", .remoteSyslog(.tcp, try #require(IPAddress("::1")), port: 601)),
                (
                    "syslog:udp://[fd00::1:2]:65535",
                    .remoteSyslog(.udp, try #require(IPAddress("fd00::1:2")), port: 65535)
                ),
            ]
            for (text, expected) in cases {
                let spec = try OutputSpec.parse(text)
                #expect(spec == expected, "\(text)")
                #expect(spec.description == text, "\(text) prints back as \(spec.description)")
            }
        }

        @Test("localhost means 127.0.0.1, and /dev/log spelled out prints as plain syslog")
        func normalises() throws {
            #expect(try OutputSpec.parse("syslog:udp://localhost:5514").description == "syslog:udp://127.0.0.1:5514")
            #expect(try OutputSpec.parse("syslog:unix:/dev/log") == .localSyslog(path: "/dev/log"))
            #expect(try OutputSpec.parse("syslog:unix:/dev/log").description == "syslog")
            #expect(IPAddress("localhost")?.bytes == [127, 0, 0, 1])
            #expect(IPAddress("::1")?.bytes == Array(repeating: 0, count: 15) + [1])
        }

        @Test(
            "a bad spec is refused with an error naming it, saying what is wrong and what is expected",
            arguments: [
                ("", "not an output"),
                ("stderr", "not an output"),
                ("STDOUT", "not an output"),
                ("stdout:", "not an output"),
                ("file:", "needs a path"),
                ("syslog:", "unknown syslog transport"),
                ("syslog:unix:", "needs the socket's path"),
                ("syslog:unix:/" + String(repeating: "a", count: 120), "at most 107 bytes"),
                ("syslog:http://127.0.0.1:80", "unknown syslog transport \"http\""),
                ("syslog:udp://logs.example.com:514", "Vigil does not resolve host names"),
                ("syslog:udp://127.0.0.1", "expected HOST:PORT"),
                ("syslog:tcp://127.0.0.1:", "PORT must be a number from 1 to 65535, not \"\""),
                ("syslog:tcp://127.0.0.1:0", "PORT must be a number"),
                ("syslog:tcp://127.0.0.1:65536", "PORT must be a number"),
                ("syslog:tcp://127.0.0.1:-1", "PORT must be a number"),
                ("syslog:tcp://127.0.0.1:5x", "PORT must be a number"),
                ("syslog:udp://:514", "the host is missing"),
                ("syslog:udp://::1:514", "IPv6 address goes in brackets"),
                ("syslog:udp://[::1]514", "expected :PORT after the address"),
                ("syslog:udp://[::1:514", "missing its \"]\""),
                ("syslog:udp://[nonsense]:514", "HOST must be an IPv4 address"),
                ("syslog:udp://256.1.1.1:514", "HOST must be an IPv4 address"),
                ("syslog:udp://[fe80::1%eth0]:514", "HOST must be an IPv4 address"),
            ])
        func refuses(_ text: String, _ problem: String) {
            do {
                let spec = try OutputSpec.parse(text)
                Issue.record("\(text) parsed as \(spec)")
            } catch {
                #expect(error.spec == text)
                #expect(error.problem.contains(problem), "\(error.problem)")
                #expect(error.description.hasPrefix("--output \(text): "))
                #expect(error.description.contains("expected stdout, file:PATH, syslog, syslog:unix:PATH"))
            }
        }

        @Test("facilities are parsed from their names; anything else is refused; authpriv is the default")
        func facilities() {
            #expect(SyslogFacility.default == .authpriv)
            #expect(SyslogFacility(name: "authpriv")?.code == 10)
            #expect(SyslogFacility(name: "kern")?.code == 0)
            #expect(SyslogFacility(name: "local0")?.code == 16)
            #expect(SyslogFacility(name: "local7")?.code == 23)
            #expect(SyslogFacility(name: "ftp")?.code == 11)
            #expect(SyslogFacility(name: "security") == nil)
            #expect(SyslogFacility(name: "AUTHPRIV") == nil)
            #expect(SyslogFacility.allCases.count == 20)
            #expect(Set(SyslogFacility.allCases.map(\.code)).count == 20)
        }
    }
}
