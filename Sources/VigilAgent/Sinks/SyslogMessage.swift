import Glibc
public import VigilKernel

/// The bytes of the syslog messages Vigil sends: RFC 5424 for remote receivers, with octet-counting
/// framing over TCP, and the traditional local form that rsyslog's imuxsock and journald parse from
/// `/dev/log`.
public enum SyslogMessage {
    /// The SD-ID Vigil's structured data uses. 32473 is the private enterprise number RFC 5612 sets
    /// aside for documentation; a registered number replaces it when Vigil gets one.
    public static let structuredDataID = "vigil@32473"

    /// An RFC 5424 message:
    /// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID NAME="VALUE" …] MSG`, where MSG is the
    /// record's JSON line (no BOM, no newline).
    ///
    /// Header fields are printable US-ASCII without spaces, cut to the RFC's lengths (HOSTNAME 255,
    /// APP-NAME 48, PROCID 128, MSGID 32); an empty one is the NILVALUE `-`. Parameter values escape
    /// `"`, `\` and `]` with a backslash.
    public static func rfc5424(
        _ record: OutputRecord, facility: SyslogFacility, hostname: String, processID: Int32
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(record.json.count + 256)
        out.append(contentsOf: "<\(facility.pri(record.priority))>1 ".utf8)
        out.append(contentsOf: rfc5424Timestamp(record.time).utf8)
        out.append(0x20)
        appendHeaderField(hostname, limit: 255, to: &out)
        out.append(0x20)
        appendHeaderField(record.appName, limit: 48, to: &out)
        out.append(0x20)
        appendHeaderField(String(processID), limit: 128, to: &out)
        out.append(0x20)
        appendHeaderField(record.name, limit: 32, to: &out)
        out.append(0x20)
        appendStructuredData(record.structuredData, to: &out)
        if !record.json.isEmpty {
            out.append(0x20)
            out.append(contentsOf: record.json)
        }
        return out
    }

    /// A message framed for a TCP stream by octet counting (RFC 6587 3.4.1): `LEN SP MESSAGE`.
    public static func octetCounted(_ message: [UInt8]) -> [UInt8] {
        var frame = Array(String(message.count).utf8)
        frame.append(0x20)
        frame.append(contentsOf: message)
        return frame
    }

    /// The form `syslog(3)` writes to `/dev/log`, which rsyslog's imuxsock and journald parse:
    /// `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG`, with the day padded by a space (`Nov  3`) and the time in
    /// the local time zone. MSG is the record's JSON line. The daemon adds the host name itself.
    public static func local(
        _ record: OutputRecord, facility: SyslogFacility, processID: Int32, clock: SyslogClock = .localTime
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(record.json.count + 64)
        out.append(contentsOf: "<\(facility.pri(record.priority))>".utf8)
        out.append(contentsOf: rfc3164Timestamp(record.time, clock: clock).utf8)
        out.append(0x20)
        // The tag ends at the first space, `[` or `:`; RFC 3164 allows 32 characters.
        var tag: [UInt8] = []
        for byte in record.appName.utf8.prefix(32) {
            tag.append(byte > 0x20 && byte < 0x7F && byte != 0x5B && byte != 0x3A ? byte : 0x5F)
        }
        out.append(contentsOf: tag.isEmpty ? Array("vigil".utf8) : tag)
        out.append(contentsOf: "[\(processID)]: ".utf8)
        out.append(contentsOf: record.json)
        return out
    }

    /// RFC 5424's TIMESTAMP: RFC 3339 in UTC with microseconds (the RFC allows at most six fraction
    /// digits): `2026-11-30T02:10:35.123456Z`.
    public static func rfc5424Timestamp(_ time: Timestamp) -> String {
        let full = time.rfc3339  // 2026-11-30T02:10:35.123456789Z
        guard let dot = full.firstIndex(of: ".") else { return full }
        return String(full[...dot]) + String(full[full.index(after: dot)...].prefix(6)) + "Z"
    }

    /// `Mmm dd hh:mm:ss`, as `syslog(3)` writes it.
    public static func rfc3164Timestamp(_ time: Timestamp, clock: SyslogClock) -> String {
        var seconds = time_t(time.seconds)
        var parts = tm()
        switch clock {
        case .localTime: localtime_r(&seconds, &parts)
        case .utc: gmtime_r(&seconds, &parts)
        }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32, pad: String) -> String { value < 10 ? pad + String(value) : String(value) }
        return "\(months[Int(parts.tm_mon) % 12]) \(two(parts.tm_mday, pad: " ")) "
            + "\(two(parts.tm_hour, pad: "0")):\(two(parts.tm_min, pad: "0")):\(two(parts.tm_sec, pad: "0"))"
    }

    /// Appends the structured data, or `-` when there is none.
    static func appendStructuredData(_ elements: [(id: String, params: [(String, String)])], to out: inout [UInt8]) {
        guard !elements.isEmpty else {
            out.append(0x2D)
            return
        }
        for element in elements {
            out.append(0x5B)  // [
            appendName(element.id, to: &out)
            for (name, value) in element.params {
                out.append(0x20)
                appendName(name, to: &out)
                out.append(contentsOf: "=\"".utf8)
                appendParamValue(value, to: &out)
                out.append(0x22)
            }
            out.append(0x5D)  // ]
        }
    }

    /// A PARAM-VALUE: UTF-8 with `"`, `\` and `]` escaped by a backslash (RFC 5424 6.3.3).
    static func appendParamValue(_ value: String, to out: inout [UInt8]) {
        for byte in value.utf8 {
            if byte == 0x22 || byte == 0x5C || byte == 0x5D { out.append(0x5C) }
            out.append(byte)
        }
    }

    /// An SD-NAME: 1 to 32 printable US-ASCII characters other than `=`, space, `]` and `"`; anything
    /// else becomes `_`. (`@` is allowed: it separates an SD-ID from its enterprise number.)
    static func appendName(_ name: String, to out: inout [UInt8]) {
        var count = 0
        for byte in name.utf8.prefix(32) {
            let allowed = byte > 0x20 && byte < 0x7F && byte != 0x3D && byte != 0x5D && byte != 0x22
            out.append(allowed ? byte : 0x5F)
            count += 1
        }
        if count == 0 { out.append(0x5F) }
    }

    /// A header field: printable US-ASCII (33…126) cut to `limit`; anything else becomes `_`; empty is `-`.
    static func appendHeaderField(_ value: String, limit: Int, to out: inout [UInt8]) {
        guard !value.isEmpty else {
            out.append(0x2D)
            return
        }
        for byte in value.utf8.prefix(limit) {
            out.append(byte > 0x20 && byte < 0x7F ? byte : 0x5F)
        }
    }
}

/// Which clock the local syslog timestamp is written in. Daemons replace it with their own reception
/// time by default (rsyslog's `IgnoreTimestamp`, journald), so it matters only to raw readers.
public enum SyslogClock: Sendable {
    case localTime
    case utc
}
