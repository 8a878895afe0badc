import Testing
import VigilKernel

/// RFC 3339 times in UTC, as baseline files hold them.
@Suite("Timestamp: RFC 3339")
struct TimestampTests {
    @Test(
        "parses whole seconds and fractions of up to nine digits",
        arguments: [
            ("2026-11-30T05:10:00Z", 1_796_015_400 as Int64, 0 as Int32),
            ("2026-11-30T05:10:00.5Z", 1_796_015_400, 500_000_000),
            ("2026-11-30T05:10:00.123Z", 1_796_015_400, 123_000_000),
            ("2026-11-30T05:10:00.000000001Z", 1_796_015_400, 1),
            ("2026-11-30T05:10:00.999999999Z", 1_796_015_400, 999_999_999),
            ("1970-01-01T00:00:00Z", 0, 0),
            ("2000-02-29T23:59:59Z", 951_868_799, 0),
        ])
    func parses(text: String, seconds: Int64, nanoseconds: Int32) {
        #expect(Timestamp(rfc3339: text) == Timestamp(seconds: seconds, nanoseconds: nanoseconds))
    }

    @Test(
        "refuses what is not an RFC 3339 UTC time",
        arguments: [
            "", "garbage", "2026-11-30", "2026-11-30T05:10:00", "2026-11-30 05:10:00Z", "2026-11-30T05:10:00z",
            "2026-11-30T05:10:00+00:00", "2026-11-30T05:10:00.Z", "2026-11-30T05:10:00.1234567890Z",
            "2026-11-30T05:10:00,5Z", "2026-13-30T05:10:00Z", "2026-00-30T05:10:00Z", "2026-11-00T05:10:00Z",
            "2026-11-32T05:10:00Z", "2026-11-30T24:00:00Z", "2026-11-30T05:60:00Z", "2026-11-30T05:10:61Z",
            "2026-1a-30T05:10:00Z", "-026-11-30T05:10:00Z", "2026-11-30T05:10:00.5aZ", "２026-11-30T05:10:00Z",
            "2026-11-30T05:10:00ZZ", " 2026-11-30T05:10:00Z",
        ])
    func refuses(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test("rfc3339Seconds cuts the fraction and reads back as the whole second")
    func secondsRoundTrip() {
        var random = SplitMix64(seed: 3339)
        for _ in 0..<300 {
            let time = Timestamp(
                seconds: Int64.random(in: 0...4_102_444_799, using: &random),  // to 2099-12-31T23:59:59Z
                nanoseconds: Int32.random(in: 0...999_999_999, using: &random))
            let text = time.rfc3339Seconds
            #expect(text.utf8.count == 20 && text.hasSuffix("Z"), "\(text)")
            #expect(Timestamp(rfc3339: text) == Timestamp(seconds: time.seconds, nanoseconds: 0), "\(text)")
            #expect(Timestamp(rfc3339: time.rfc3339) == time, "\(time.rfc3339)")
        }
        #expect(Timestamp(seconds: 1_796_015_400, nanoseconds: 999_999_999).rfc3339Seconds == "2026-11-30T05:10:00Z")
    }
}
