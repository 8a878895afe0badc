import Glibc
import Testing
import VigilTestSupport
import VigilDetect
import VigilKernel

@testable import VigilAgent

extension SinksTests {
    @Suite("delivery to receivers on loopback and in temporary directories")
    struct DeliveryTests {
        @Test("the local syslog sink sends each line as one datagram to the socket, in the local form")
        func unixDatagram() throws {
            let directory = try LiveGate.makeTemporaryDirectory("sink-unix")
            defer { LiveGate.removeTree(directory) }
            let receiver = try DatagramReceiver(path: directory + "/log.sock")
            defer { receiver.close() }
            let log = StatusLog()
            let sinks = try SinkSet(
                specs: [.localSyslog(path: receiver.path)], format: .json, hostname: "node1", facility: .authpriv,
                processID: 4242, localClock: .utc, status: log.handler)
            for sequence in 0..<200 { sinks.publish(SinkTest.record(sequence)) }
            let datagrams = receiver.receive(count: 200, within: 10)
            sinks.close(timeout: 2_000_000_000)

            #expect(datagrams.count == 200)
            #expect(datagrams.flatMap { SinkTest.sequences(in: $0) } == Array(0..<200))
            let first = String(decoding: datagrams.first ?? [], as: UTF8.self)
            #expect(first == #"<84>Nov 30 02:30:35 vigil[4242]: {"rule":"test_line","seq":0,"pad":""}"#)
            #expect(sinks.statistics().first?.delivered == 200)
            #expect(log.all.isEmpty, "\(log.text)")
        }

        @Test("the UDP sink sends one RFC 5424 message per datagram to a receiver on 127.0.0.1")
        func udp() throws {
            let receiver = try UDPReceiver()
            defer { receiver.close() }
            let log = StatusLog()
            let spec = OutputSpec.remoteSyslog(.udp, try #require(IPAddress("127.0.0.1")), port: receiver.port)
            let sinks = try SinkSet(
                specs: [spec], format: .json, hostname: "node1", facility: .local4, processID: 77, status: log.handler)
            for sequence in 0..<100 { sinks.publish(SinkTest.record(sequence, priority: .critical)) }
            let datagrams = receiver.receive(count: 100, within: 10)
            sinks.close(timeout: 2_000_000_000)

            #expect(datagrams.count == 100)
            #expect(datagrams.flatMap { SinkTest.sequences(in: $0) } == Array(0..<100))
            let expected = SyslogMessage.rfc5424(
                SinkTest.record(0, priority: .critical), facility: .local4, hostname: "node1", processID: 77)
            #expect(datagrams.first == expected)
            #expect(
                String(decoding: expected, as: UTF8.self).hasPrefix(
                    #"<162>1 2025-11-30T02:30:35.123456Z node1 vigil 77 test_line [vigil@32473 rule="test_line" seq="0"] {"#
                ))
            #expect(log.all.isEmpty, "\(log.text)")
        }

        @Test(
            "the TCP sink sends octet-counted frames; when the listener goes away and comes back it reconnects and reports the outage and the lines it lost"
        )
        func tcpReconnects() throws {
            let receiver = try TCPReceiver()
            defer { receiver.stop() }
            let log = StatusLog()
            let address = try #require(IPAddress("127.0.0.1"))
            let spec = OutputSpec.remoteSyslog(.tcp, address, port: receiver.port)
            var tuning = SinkTest.quickTuning
            tuning.holdLimit = 300_000_000  // lines held longer than 0.3 s while down are lost
            let sinks = try SinkSet(
                specs: [spec], format: .json, hostname: "node1", facility: .authpriv, tuning: tuning, processID: 9,
                status: log.handler)
            defer { sinks.close(timeout: 2_000_000_000) }

            for sequence in 0..<20 { sinks.publish(SinkTest.record(sequence)) }
            #expect(SinkTest.eventually(within: 10) { receiver.frames?.count == 20 })
            let frames = try #require(receiver.frames)
            #expect(
                frames.first
                    == SyslogMessage.rfc5424(SinkTest.record(0), facility: .authpriv, hostname: "node1", processID: 9))

            // The receiver stops. Lines published now wait, then are lost after the hold limit.
            receiver.stop()
            for sequence in 20..<50 {
                sinks.publish(SinkTest.record(sequence))
                LiveGate.pause(milliseconds: 2)
            }
            #expect(
                SinkTest.eventually(within: 10) {
                    log.about(spec.description).contains { $0.message.contains("cannot deliver") }
                })
            #expect(SinkTest.eventually(within: 10) { sinks.statistics()[0].lost == 30 }, "\(sinks.statistics())")

            // It comes back on the same port: the sink reconnects by itself.
            try receiver.start()
            for sequence in 50..<70 {
                sinks.publish(SinkTest.record(sequence))
                LiveGate.pause(milliseconds: 2)
            }
            #expect(
                SinkTest.eventually(within: 10) { Set(SinkTest.sequences(in: receiver.bytes)).isSuperset(of: 50..<70) })
            let recovery = try #require(
                log.about(spec.description).first { $0.message.contains("is delivering again") }, "\(log.text)")
            #expect(recovery.counter("sink_lost") == 30)
            #expect(recovery.counter("sink_down_ns") > 300_000_000)
            #expect(receiver.frames != nil, "the framing survives the reconnect")
            let received = Set(SinkTest.sequences(in: receiver.bytes))
            #expect(received == Set(0..<20).union(50..<70))
            #expect(receiver.accepted == 2, "one connection before the stop, one after")
        }

        @Test("lines published while the receiver is briefly down are held and arrive late, none lost")
        func holdsWhileBrieflyDown() throws {
            let directory = try LiveGate.makeTemporaryDirectory("sink-hold")
            defer { LiveGate.removeTree(directory) }
            let receiver = try DatagramReceiver(path: directory + "/log.sock")
            defer { receiver.close() }
            let log = StatusLog()
            let sinks = try SinkSet(
                specs: [.localSyslog(path: receiver.path)], format: .json, hostname: "node1", facility: .authpriv,
                tuning: SinkTest.quickTuning, status: log.handler)
            defer { sinks.close(timeout: 2_000_000_000) }
            for sequence in 0..<10 { sinks.publish(SinkTest.record(sequence)) }
            var datagrams = receiver.receive(count: 10, within: 10)
            // The sink sees, while idle, that the receiver read them: they will not be sent again.
            LiveGate.pause(milliseconds: 200)

            receiver.close()
            for sequence in 10..<40 {
                sinks.publish(SinkTest.record(sequence))
                LiveGate.pause(milliseconds: 5)
            }
            try receiver.bind()
            datagrams += receiver.receive(count: 30, within: 10)
            let sequences = datagrams.flatMap { SinkTest.sequences(in: $0) }
            #expect(sequences == Array(0..<40))
            let label = "syslog:unix:" + receiver.path
            #expect(
                SinkTest.eventually(within: 5) {
                    log.about(label).contains { $0.message.contains("is delivering again") }
                }, "\(log.text)")
            let recovery = log.about(label).first { $0.message.contains("is delivering again") }
            #expect(recovery?.counter("sink_lost") == 0)
            #expect(recovery?.counter("sink_resent") == 0)
            #expect(sinks.statistics()[0].lost == 0)
        }

        @Test("datagrams the daemon had not read when it closed its socket are sent again to the new one, and said so")
        func resendsUnreadDatagrams() throws {
            let directory = try LiveGate.makeTemporaryDirectory("sink-unread")
            defer { LiveGate.removeTree(directory) }
            let receiver = try DatagramReceiver(path: directory + "/log.sock")
            defer { receiver.close() }
            let log = StatusLog()
            let sinks = try SinkSet(
                specs: [.localSyslog(path: receiver.path)], format: .json, hostname: "node1", facility: .authpriv,
                tuning: SinkTest.quickTuning, status: log.handler)
            defer { sinks.close(timeout: 2_000_000_000) }
            for sequence in 0..<5 { sinks.publish(SinkTest.record(sequence)) }
            var datagrams = receiver.receive(count: 5, within: 10)
            LiveGate.pause(milliseconds: 200)
            // Three more arrive in the socket, unread, and the daemon closes it: the kernel frees them.
            for sequence in 5..<8 { sinks.publish(SinkTest.record(sequence)) }
            #expect(SinkTest.eventually(within: 5) { sinks.statistics()[0].delivered == 8 })
            receiver.close()
            try receiver.bind()
            for sequence in 8..<10 { sinks.publish(SinkTest.record(sequence)) }
            datagrams += receiver.receive(count: 5, within: 10)
            #expect(datagrams.flatMap { SinkTest.sequences(in: $0) } == Array(0..<10))
            let label = "syslog:unix:" + receiver.path
            #expect(
                SinkTest.eventually(within: 5) {
                    log.about(label).contains { $0.message.contains("is delivering again") }
                }, "\(log.text)")
            let recovery = log.about(label).first { $0.message.contains("is delivering again") }
            #expect(recovery?.counter("sink_resent") == 3, "\(log.text)")
            #expect(recovery?.message.contains("3 lines sent again") == true)
        }

        @Test("a receiver that is not there at start is reported at once; lines wait for it")
        func downAtStart() throws {
            let directory = try LiveGate.makeTemporaryDirectory("sink-late")
            defer { LiveGate.removeTree(directory) }
            let path = directory + "/log.sock"
            let log = StatusLog()
            let sinks = try SinkSet(
                specs: [.localSyslog(path: path)], format: .json, hostname: "node1", facility: .authpriv,
                tuning: SinkTest.quickTuning, status: log.handler)
            defer { sinks.close(timeout: 2_000_000_000) }
            #expect(SinkTest.eventually(within: 5) { !log.all.isEmpty })
            #expect(
                log.all.first?.message.hasPrefix(
                    "sink syslog:unix:\(path) cannot deliver (connect \(path): No such file or directory)") == true,
                "\(log.text)")
            for sequence in 0..<5 { sinks.publish(SinkTest.record(sequence)) }
            let receiver = try DatagramReceiver(path: path)
            defer { receiver.close() }
            #expect(receiver.receive(count: 5, within: 10).flatMap { SinkTest.sequences(in: $0) } == Array(0..<5))
        }

        @Test("an idle sink notices by itself that its receiver is back, and says so")
        func recoversWhileIdle() throws {
            let receiver = try TCPReceiver()
            receiver.stop()
            defer { receiver.stop() }
            let log = StatusLog()
            let spec = OutputSpec.remoteSyslog(.tcp, try #require(IPAddress("127.0.0.1")), port: receiver.port)
            let sinks = try SinkSet(
                specs: [spec], format: .json, hostname: "node1", facility: .authpriv, tuning: SinkTest.quickTuning,
                status: log.handler)
            defer { sinks.close(timeout: 1_000_000_000) }
            #expect(
                SinkTest.eventually(within: 5) {
                    log.about(spec.description).contains {
                        $0.message.contains("cannot deliver (connect 127.0.0.1:\(receiver.port): Connection refused)")
                    }
                }, "\(log.text)")
            try receiver.start()
            #expect(
                SinkTest.eventually(within: 5) {
                    log.about(spec.description).contains { $0.message.contains("is delivering again") }
                }, "\(log.text)")
            #expect(sinks.statistics()[0].isDown == false)
            // The sink's connect completes before the receiver's thread has counted its accept.
            #expect(SinkTest.eventually(within: 5) { receiver.accepted == 1 }, "accepted \(receiver.accepted)")
        }

        @Test(
            "a TCP receiver that accepts and never reads stalls neither publish nor the other sinks; its drops are counted and reported"
        )
        func stuckTCPReceiver() throws {
            let stuck = try TCPReceiver(reads: false)
            defer { stuck.stop() }
            let healthy = try UDPReceiver()
            defer { healthy.close() }
            let directory = try LiveGate.makeTemporaryDirectory("sink-stuck")
            defer { LiveGate.removeTree(directory) }
            let log = StatusLog()
            let address = try #require(IPAddress("127.0.0.1"))
            let stuckSpec = OutputSpec.remoteSyslog(.tcp, address, port: stuck.port)
            let sinks = try SinkSet(
                specs: [
                    stuckSpec, .file(path: directory + "/lines.json"), .remoteSyslog(.udp, address, port: healthy.port),
                ],
                format: .json, hostname: "node1", facility: .authpriv, queueCapacity: 500, tuning: SinkTest.quickTuning,
                status: log.handler)

            // 12 MB for the stuck receiver: far more than the socket buffers (4 MB) and the queue hold.
            let total = 6_000
            var slowest: UInt64 = 0
            var sequence = 0
            var udpDatagrams: [[UInt8]] = []
            while sequence < total {
                for _ in 0..<100 {
                    let start = SinkTest.now()
                    sinks.publish(SinkTest.record(sequence, padding: 2000))
                    slowest = max(slowest, SinkTest.now() - start)
                    sequence += 1
                }
                // Let the healthy sinks keep up: they must never be held back by the stuck one.
                let caughtUp = SinkTest.eventually(within: 10) {
                    let statistics = sinks.statistics()
                    return statistics[1].delivered == sequence && statistics[2].delivered == sequence
                }
                udpDatagrams += healthy.receive(count: 100, within: 0.001)
                if !caughtUp {
                    Issue.record("healthy sinks fell behind at \(sequence): \(sinks.statistics())")
                    break
                }
            }
            udpDatagrams += healthy.receive(count: total - udpDatagrams.count, within: 5)
            #expect(slowest < 50_000_000, "publish took \(slowest / 1000) µs at worst")

            let stalled = sinks.statistics()[0]
            #expect(stalled.dropped > 0)
            #expect(
                SinkTest.eventually(within: 5) {
                    log.about(stuckSpec.description).contains { $0.message.contains("(queue full)") }
                }, "\(log.text)")

            let start = SinkTest.now()
            sinks.close(timeout: 1_000_000_000)
            #expect(SinkTest.now() - start < 1_500_000_000, "close keeps to its timeout")

            let statistics = sinks.statistics()
            #expect(statistics[1].delivered == UInt64(total))
            #expect(statistics[2].delivered == UInt64(total))
            #expect(udpDatagrams.count == total)
            let fileLines = try #require(LiveGate.readFile(directory + "/lines.json"))
            #expect(SinkTest.sequences(in: fileLines) == Array(0..<total))
            // Every record the stuck sink took is delivered (into the socket), dropped or undelivered,
            // and every drop and undelivered line was reported.
            let stuckStatistics = statistics[0]
            #expect(stuckStatistics.delivered + stuckStatistics.dropped + stuckStatistics.undelivered == UInt64(total))
            #expect(
                log.reportedLosses(stuckSpec.description) == stuckStatistics.dropped + stuckStatistics.undelivered,
                "\(log.text)")
            #expect(statistics[1].dropped == 0 && statistics[2].dropped == 0)
        }

        @Test("a standard output pipe that nobody reads stalls nothing; close gives up on it and reports what it left")
        func stuckPipe() throws {
            var ends: [Int32] = [-1, -1]
            try #require(pipe(&ends) == 0)
            _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
            defer { close(ends[0]) }
            let directory = try LiveGate.makeTemporaryDirectory("sink-pipe")
            defer { LiveGate.removeTree(directory) }
            let log = StatusLog()
            let path = directory + "/lines.json"
            let file = try FileSink.open(path).get()
            let sinks = try SinkSet(
                sinks: [
                    ("stdout", StandardOutputSink(descriptor: FileDescriptor(adopting: ends[1]), format: .text)),
                    ("file:" + path, FileSink(path: path, opened: file)),
                ], queueCapacity: 100, tuning: SinkTest.quickTuning, status: log.handler)
            let total = 3000
            for sequence in 0..<total {
                sinks.publish(SinkTest.record(sequence, padding: 200))
                if sequence % 100 == 99 {
                    #expect(SinkTest.eventually(within: 10) { sinks.statistics()[1].delivered == sequence + 1 })
                }
            }
            let start = SinkTest.now()
            sinks.close(timeout: 400_000_000)
            #expect(SinkTest.now() - start < 900_000_000)
            let statistics = sinks.statistics()
            #expect(statistics[0].dropped > 0)
            #expect(statistics[0].undelivered > 0, "the pipe is full at close")
            #expect(statistics[0].delivered + statistics[0].dropped + statistics[0].undelivered == UInt64(total))
            #expect(statistics[1].delivered == UInt64(total))
            #expect(
                log.about("stdout").contains {
                    $0.message.contains("stopped:") && $0.message.contains("not delivered")
                }, "\(log.text)")
            #expect(log.reportedLosses("stdout") == statistics[0].dropped + statistics[0].undelivered, "\(log.text)")

            // What the pipe took is whole text lines, in order.
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            let n = buffer.withUnsafeMutableBytes { read(ends[0], $0.baseAddress, $0.count) }
            let text = String(decoding: buffer[0..<max(0, n)], as: UTF8.self)
            let lines = text.split(separator: "\n")
            #expect(lines.count == Int(statistics[0].delivered))
            #expect(lines.first?.hasPrefix("line 0 xxx") == true)
        }

        @Test(
            "standard output whose reader is gone does not end the agent with SIGPIPE: the sink reports it and counts the lines lost"
        )
        func brokenPipe() throws {
            var ends: [Int32] = [-1, -1]
            try #require(pipe(&ends) == 0)
            _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
            let log = StatusLog()
            var tuning = SinkTest.quickTuning
            tuning.holdLimit = 100_000_000
            let sinks = try SinkSet(
                sinks: [("stdout", StandardOutputSink(descriptor: FileDescriptor(adopting: ends[1]), format: .json))],
                queueCapacity: 100, tuning: tuning, status: log.handler)
            sinks.publish(SinkTest.record(0))
            #expect(SinkTest.eventually(within: 5) { sinks.statistics()[0].delivered == 1 })
            close(ends[0])  // the reader goes away
            for sequence in 1..<6 { sinks.publish(SinkTest.record(sequence)) }
            #expect(SinkTest.eventually(within: 5) { sinks.statistics()[0].lost == 5 }, "\(sinks.statistics())")
            sinks.close(timeout: 500_000_000)
            #expect(
                log.about("stdout").first?.message.hasPrefix("sink stdout cannot deliver (standard output") == true,
                "\(log.text)")
            #expect(log.reportedLosses("stdout") == 5, "\(log.text)")
        }

        @Test("the file sink appends JSON lines with mode 0640 and, on reopen, follows a rename to a new file")
        func fileReopens() throws {
            let directory = try LiveGate.makeTemporaryDirectory("sink-file")
            defer { LiveGate.removeTree(directory) }
            let path = directory + "/vigil.json"
            try LiveGate.writeFile(directory, "vigil.json", "{\"earlier\":true}\n")
            let log = StatusLog()
            let sinks = try SinkSet(
                specs: [.file(path: path)], format: .text, hostname: "node1", facility: .authpriv, status: log.handler)
            defer { sinks.close(timeout: 2_000_000_000) }
            for sequence in 0..<3 { sinks.publish(SinkTest.record(sequence)) }
            #expect(SinkTest.eventually(within: 5) { sinks.statistics()[0].delivered == 3 })

            // logrotate renames the file, then sends SIGHUP.
            try #require(rename(path, path + ".1") == 0)
            sinks.publish(SinkTest.record(3))
            #expect(SinkTest.eventually(within: 5) { sinks.statistics()[0].delivered == 4 })
            sinks.reopen()
            for sequence in 4..<6 { sinks.publish(SinkTest.record(sequence)) }
            #expect(SinkTest.eventually(within: 5) { sinks.statistics()[0].delivered == 6 })

            let rotated = LiveGate.readText(path + ".1") ?? ""
            #expect(rotated.hasPrefix("{\"earlier\":true}\n{\"rule\":\"test_line\",\"seq\":0,"))
            #expect(SinkTest.sequences(in: rotated) == [0, 1, 2, 3])
            let current = LiveGate.readText(path) ?? ""
            #expect(SinkTest.sequences(in: current) == [4, 5])
            #expect(current.split(separator: "\n").count == 2)
            var info = stat()
            #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o640)
            #expect(log.all.isEmpty, "\(log.text)")
        }

        @Test("a file that cannot be opened is refused at start, and a spec given twice is refused")
        func refusesAtStart() throws {
            #expect(throws: SinkError.self) {
                try SinkSet(
                    specs: [.file(path: "/nonexistent-vigil-directory/x.json")], format: .json, hostname: "h",
                    facility: .authpriv, status: { _, _ in })
            }
            do {
                _ = try SinkSet(
                    specs: [.file(path: "/nonexistent-vigil-directory/x.json")], format: .json, hostname: "h",
                    facility: .authpriv, status: { _, _ in })
            } catch {
                #expect(
                    error.description
                        == "--output file:/nonexistent-vigil-directory/x.json: cannot open /nonexistent-vigil-directory/x.json: No such file or directory"
                )
            }
            let directory = try LiveGate.makeTemporaryDirectory("sink-twice")
            defer { LiveGate.removeTree(directory) }
            #expect(throws: SinkError.self) {
                try SinkSet(
                    specs: [.localSyslog(path: directory + "/s"), .localSyslog(path: directory + "/s")], format: .json,
                    hostname: "h", facility: .authpriv, status: { _, _ in })
            }
        }

        @Test(
            "with an encoder, the sinks' own reports become agent_status lines in every sink, including one made before the sinks existed"
        )
        func statusLines() throws {
            let directory = try LiveGate.makeTemporaryDirectory("sink-status")
            defer { LiveGate.removeTree(directory) }
            let missing = directory + "/no-daemon.sock"
            let sinks = try SinkSet(
                specs: [.file(path: directory + "/lines.json"), .localSyslog(path: missing)],
                encoder: EventLineEncoder(hostname: "node1", format: .json), facility: .authpriv,
                tuning: SinkTest.quickTuning)
            #expect(
                SinkTest.eventually(within: 5) {
                    (LiveGate.readText(directory + "/lines.json") ?? "").contains("cannot deliver")
                })
            sinks.close(timeout: 500_000_000)
            let lines = (LiveGate.readText(directory + "/lines.json") ?? "").split(separator: "\n")
            #expect(lines.count == 2, "\(lines)")
            let first = String(lines.first ?? "")
            #expect(first.contains(#""event":"agent_status""#))
            #expect(first.contains(#""hostname":"node1""#))
            #expect(
                first.contains(
                    "sink syslog:unix:\(missing) cannot deliver (connect \(missing): No such file or directory)"))
            // At close, the sink still down says so, in the file.
            #expect(String(lines.last ?? "").contains("was still down at shutdown"))
        }

        @Test("close flushes what is queued before it stops")
        func closeFlushes() throws {
            let receiver = try UDPReceiver()
            defer { receiver.close() }
            let sinks = try SinkSet(
                specs: [.remoteSyslog(.udp, try #require(IPAddress("127.0.0.1")), port: receiver.port)], format: .json,
                hostname: "node1", facility: .authpriv, status: { _, _ in })
            for sequence in 0..<2000 { sinks.publish(SinkTest.record(sequence)) }
            sinks.close(timeout: 5_000_000_000)
            #expect(sinks.statistics()[0].delivered == 2000)
            #expect(receiver.receive(count: 2000, within: 5).count == 2000)
            sinks.publish(SinkTest.record(2000))  // after close: ignored, not a crash
        }
    }
}
