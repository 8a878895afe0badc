import Glibc
import Testing
import VigilKernel

@Suite("Timestamp and clocks")
struct ClockTests {
    @Test("the epoch plus 5 ns is written with all nine fraction digits")
    func epoch() {
        #expect(Timestamp(seconds: 0, nanoseconds: 5).rfc3339 == "1970-01-01T00:00:00.000000005Z")
        #expect(Timestamp(seconds: 0, nanoseconds: 0).rfc3339 == "1970-01-01T00:00:00.000000000Z")
    }

    @Test(
        "known instants are written in UTC",
        arguments: [
            (Int64(1_796_004_635), Int32(123_456_789), "2026-11-30T02:10:35.123456789Z"),
            (951_782_400, 999_999_999, "2000-02-29T00:00:00.999999999Z"),
            (1_709_164_800, 1, "2024-02-29T00:00:00.000000001Z"),
            (1_000_000_000, 0, "2001-09-09T01:46:40.000000000Z"),
            (253_402_300_799, 0, "9999-12-31T23:59:59.000000000Z"),
        ])
    func knownDates(seconds: Int64, nanoseconds: Int32, expected: String) {
        #expect(Timestamp(seconds: seconds, nanoseconds: nanoseconds).rfc3339 == expected)
    }

    @Test("timestamps order by seconds, then nanoseconds")
    func ordering() {
        #expect(Timestamp(seconds: 1, nanoseconds: 999_999_999) < Timestamp(seconds: 2, nanoseconds: 0))
        #expect(Timestamp(seconds: 2, nanoseconds: 1) > Timestamp(seconds: 2, nanoseconds: 0))
        #expect(!(Timestamp(seconds: 2, nanoseconds: 0) < Timestamp(seconds: 2, nanoseconds: 0)))
    }

    @Test("now is the realtime clock, and its text has the RFC 3339 shape")
    func now() {
        var before = timespec()
        clock_gettime(CLOCK_REALTIME, &before)
        let now = Timestamp.now()
        var after = timespec()
        clock_gettime(CLOCK_REALTIME, &after)
        #expect(now.seconds >= Int64(before.tv_sec) && now.seconds <= Int64(after.tv_sec))
        #expect((0..<1_000_000_000).contains(now.nanoseconds))
        let text = now.rfc3339
        #expect(text.count == "2026-11-30T02:10:35.123456789Z".count)
        #expect(text.hasSuffix("Z"))
        #expect(Array(text)[10] == "T")
    }

    @Test("the monotonic clock never goes backwards")
    func monotonic() {
        var previous = monotonicNanoseconds()
        for _ in 0..<1000 {
            let next = monotonicNanoseconds()
            #expect(next >= previous)
            previous = next
        }
        #expect(previous > 0)
    }

    @Test("systemHostname is gethostname's answer")
    func hostname() {
        var buffer = [CChar](repeating: 0, count: 256)
        #expect(gethostname(&buffer, buffer.count) == 0)
        let expected = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(systemHostname() == expected)
        #expect(!systemHostname().isEmpty)
    }
}
