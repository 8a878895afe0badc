/// The one duration parser: `90s`, `10m`, `1h`, `250ms`, `1h30m`, `0`.
public enum DurationParser {
    /// Parses `text` into nanoseconds; nil when it is not a duration.
    public static func nanoseconds(_ text: String) -> UInt64? {
        if text == "0" { return 0 }
        var total: UInt64 = 0
        var number: UInt64?
        var index = text.utf8.startIndex
        let bytes = text.utf8
        guard !bytes.isEmpty else { return nil }
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte >= 0x30 && byte <= 0x39 {
                let (times, o1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(UInt64(byte - 0x30))
                if o1 || o2 { return nil }
                number = sum
                index = bytes.index(after: index)
                continue
            }
            guard let value = number else { return nil }
            var unitEnd = index
            while unitEnd < bytes.endIndex, !(bytes[unitEnd] >= 0x30 && bytes[unitEnd] <= 0x39) {
                unitEnd = bytes.index(after: unitEnd)
            }
            let unit = String(text[index..<unitEnd])
            let scale: UInt64
            switch unit {
            case "ns": scale = 1
            case "us", "µs": scale = 1_000
            case "ms": scale = 1_000_000
            case "s": scale = 1_000_000_000
            case "m": scale = 60_000_000_000
            case "h": scale = 3_600_000_000_000
            case "d": scale = 86_400_000_000_000
            default: return nil
            }
            let (part, o1) = value.multipliedReportingOverflow(by: scale)
            let (sum, o2) = total.addingReportingOverflow(part)
            if o1 || o2 { return nil }
            total = sum
            number = nil
            index = unitEnd
        }
        // A bare number without a unit is ambiguous; only `0` is accepted that way.
        return number == nil ? total : nil
    }

    /// A duration for people: `250ms`, `90s`, `10m`, `1h30m`.
    public static func format(_ nanoseconds: UInt64) -> String {
        if nanoseconds == 0 { return "0" }
        if nanoseconds % 1_000_000_000 != 0 && nanoseconds < 1_000_000_000 {
            return nanoseconds % 1_000_000 == 0 ? "\(nanoseconds / 1_000_000)ms" : "\(nanoseconds / 1_000)us"
        }
        if nanoseconds % 1_000_000_000 != 0 {
            // `7m12s512ms`: the whole part as people read it, the rest to the millisecond.
            let whole = format(nanoseconds / 1_000_000_000 * 1_000_000_000)
            let rest = nanoseconds % 1_000_000_000
            return whole + (rest % 1_000_000 == 0 ? "\(rest / 1_000_000)ms" : "\(rest / 1_000)us")
        }
        var seconds = nanoseconds / 1_000_000_000
        var text = ""
        if seconds >= 3600 {
            text += "\(seconds / 3600)h"
            seconds %= 3600
        }
        if seconds >= 60 {
            text += "\(seconds / 60)m"
            seconds %= 60
        }
        if seconds > 0 { text += "\(seconds)s" }
        return text
    }
}
