public import VigilKernel
import VigilNode

/// A baseline file that cannot be read: the file, the line, and what was wrong.
public struct BaselineFileError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}

/// The baseline file format: plain text for people and for git, one fact per line, always written in
/// the same order. Documented in `Baselines/README.md`.
///
///     format 1
///     workload image:web:1.4
///     state locked
///     learned 1h
///     created 2026-11-30T05:10:00Z
///     changed 2026-11-30T05:41:12Z
///     locked 2026-11-30T06:10:00Z
///     pids-high 7
///     fork-rate-high 3
///     node node-a
///     process /bin/busybox[httpd] parent=/bin/busybox[sh] users=0 caps=chown,setuid seen=1
///
/// Values that hold spaces, backslashes or control characters escape them as `\xNN` (`\\` for a
/// backslash). Anything unknown is refused, so a hand edit with a typo is never silently ignored.
public enum BaselineFile {
    public static let formatVersion = 1

    // MARK: Writing

    /// The file's text for `baseline`.
    public static func encode(_ baseline: Baseline) -> String {
        var out = "# Vigil baseline: the processes workload \(escape(baseline.workload.rawValue)) normally runs.\n"
        out += "# Format: Baselines/README.md in the Vigil repository. Review it before you lock it.\n"
        out += "format \(formatVersion)\n"
        out += "workload \(escape(baseline.workload.rawValue))\n"
        out += "state \(baseline.state.rawValue)\n"
        // To the millisecond: a learning time cut to whole seconds would lose a little at every restart.
        out += "learned \(DurationParser.format(baseline.learned / 1_000_000 * 1_000_000))\n"
        out += "created \(baseline.created.rfc3339Seconds)\n"
        out += "changed \(baseline.changed.rfc3339Seconds)\n"
        if let locked = baseline.lockedAt, baseline.state == .locked { out += "locked \(locked.rfc3339Seconds)\n" }
        out += "pids-high \(baseline.pidsHigh)\n"
        out += "fork-rate-high \(baseline.forkRateHigh)\n"
        for node in baseline.nodes.sorted() { out += "node \(escape(node))\n" }
        out += "\n# process KIND parent=PARENT users=UIDS caps=CAPABILITIES seen=COUNT\n"
        for key in baseline.processes.keys.sorted() { out += processLine(key, baseline.processes[key]!) + "\n" }
        return out
    }

    /// One `process` line (without its newline); `seen` leaves out the count.
    public static func processLine(_ key: ProcessEntryKey, _ entry: ProcessEntry, seen: Bool = true) -> String {
        "process \(escape(key.kind.description)) parent=\(escape(key.parent.description))"
            + " users=\(entry.users.map(formatUsers) ?? "*") caps=\(entry.capabilities.map(formatCapabilities) ?? "*")"
            + (seen ? " seen=\(entry.seen)" : "")
    }

    public static func formatUsers(_ users: Set<UInt32>) -> String {
        users.isEmpty ? "-" : users.sorted().map(String.init).joined(separator: ",")
    }

    /// `chown,net_bind_service`, or `-` for none.
    public static func formatCapabilities(_ set: CapabilitySet) -> String {
        set.isEmpty ? "-" : set.numbers.map { CapabilityNames.shortName(of: $0).lowercased() }.joined(separator: ",")
    }

    /// Escapes what would split a value or a line: whitespace, control characters, backslashes.
    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x5C: out += "\\\\"
            case 0..<0x21, 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Undoes `escape`; nil when a backslash starts something else.
    public static func unescape(_ text: Substring) -> String? {
        guard text.utf8.contains(0x5C) else { return String(text) }
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            index = utf8.index(after: index)
            guard byte == 0x5C else {
                bytes.append(byte)
                continue
            }
            guard index < utf8.endIndex else { return nil }
            let next = utf8[index]
            index = utf8.index(after: index)
            if next == 0x5C {
                bytes.append(0x5C)
                continue
            }
            guard next == UInt8(ascii: "x"), utf8.distance(from: index, to: utf8.endIndex) >= 2 else { return nil }
            let end = utf8.index(index, offsetBy: 2)
            func hex(_ byte: UInt8) -> UInt8? {
                switch byte {
                case 0x30...0x39: byte - 0x30
                case 0x41...0x46: byte - 0x41 + 10
                case 0x61...0x66: byte - 0x61 + 10
                default: nil
                }
            }
            guard let high = hex(utf8[index]), let low = hex(utf8[utf8.index(after: index)]) else { return nil }
            let value = high << 4 | low
            bytes.append(value)
            index = end
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Reading

    /// Reads a baseline from the text of `file`.
    public static func decode(_ text: String, file: String) throws(BaselineFileError) -> Baseline {
        var format: Int?
        var workload: WorkloadKey?
        var state: Baseline.State?
        var learned: UInt64 = 0
        var created: Timestamp?
        var changed: Timestamp?
        var locked: Timestamp?
        var pidsHigh: UInt64 = 0
        var forkRateHigh: UInt64 = 0
        var nodes: Set<String> = []
        var processes: [ProcessEntryKey: (entry: ProcessEntry, line: Int)] = [:]
        var seenKeys: [String: Int] = [:]

        var number = 0
        // Lines and fields are cut on scalars: as Characters, "\r\n" or a combining mark after a space
        // would hide the separator.
        for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            func fail(_ reason: String) -> BaselineFileError { BaselineFileError(file: file, line: number, reason: reason) }
            let line = rawLine.last == "\r" ? rawLine.dropLast() : rawLine
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.first == "#" { continue }
            let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { Substring(String($0)) }
            let key = String(fields[0])
            if format == nil, key != "format" {
                throw fail("expected 'format \(formatVersion)' before anything else, found '\(key)' (is this a Vigil baseline file?)")
            }
            if key != "process" && key != "node" {
                if let first = seenKeys[key] { throw fail("'\(key)' given twice (first on line \(first))") }
                seenKeys[key] = number
            }
            func single() throws(BaselineFileError) -> String {
                guard fields.count == 2 else {
                    throw fail("'\(key)' takes one value, found \(fields.count - 1) (escape spaces as \\x20)")
                }
                guard let value = unescape(fields[1]) else { throw fail("bad escape in '\(fields[1])': use \\\\ or \\xNN") }
                return value
            }
            func count(_ text: String) throws(BaselineFileError) -> UInt64 {
                guard let value = UInt64(text) else { throw fail("'\(key)' must be a whole number, found '\(text)'") }
                return value
            }
            func time(_ text: String) throws(BaselineFileError) -> Timestamp {
                guard let value = Timestamp(rfc3339: text) else {
                    throw fail("'\(key)' must be a UTC time such as 2026-11-30T05:10:00Z, found '\(text)'")
                }
                return value
            }
            switch key {
            case "format":
                let value = try single()
                guard value == String(formatVersion) else {
                    throw fail("format \(value) is not one this Vigil reads (it reads format \(formatVersion))")
                }
                format = formatVersion
            case "workload":
                let value = try single()
                guard !value.isEmpty else { throw fail("the workload key is empty") }
                workload = WorkloadKey(rawValue: value)
            case "state":
                let value = try single()
                guard let parsed = Baseline.State(rawValue: value) else {
                    throw fail("state must be learning or locked, found '\(value)'")
                }
                state = parsed
            case "learned":
                let value = try single()
                guard let parsed = DurationParser.nanoseconds(value) else {
                    throw fail("'learned' must be a duration such as 45m or 1h, found '\(value)'")
                }
                learned = parsed
            case "created": created = try time(try single())
            case "changed": changed = try time(try single())
            case "locked": locked = try time(try single())
            case "pids-high": pidsHigh = try count(try single())
            case "fork-rate-high": forkRateHigh = try count(try single())
            case "node": nodes.insert(try single())
            case "process":
                guard fields.count >= 2 else { throw fail("'process' needs a kind such as /bin/busybox[wget]") }
                guard let kindText = unescape(fields[1]), let kind = ProcessKind(parsing: kindText) else {
                    throw fail("'\(fields[1])' is not a process kind such as /usr/sbin/nginx or /bin/busybox[wget]")
                }
                var parent = ParentKind.any
                var users: Set<UInt32>?
                var capabilities: CapabilitySet?
                var seen: UInt64 = 0
                var given: Set<String> = []
                for attribute in fields.dropFirst(2) {
                    guard let equals = attribute.firstIndex(of: "=") else {
                        throw fail("expected NAME=VALUE after the kind, found '\(attribute)'")
                    }
                    let name = String(attribute[..<equals])
                    let value = attribute[attribute.index(after: equals)...]
                    guard given.insert(name).inserted else { throw fail("'\(name)=' given twice") }
                    switch name {
                    case "parent":
                        guard let text = unescape(value), let parsed = ParentKind(parsing: text) else {
                            throw fail("parent must be -, outside, * or a process kind, found '\(value)'")
                        }
                        parent = parsed
                    case "users":
                        guard let parsed = parseUsers(value) else {
                            throw fail("users must be *, - or user ids such as 0,1000, found '\(value)'")
                        }
                        users = parsed
                    case "caps":
                        guard let parsed = parseCapabilities(value) else {
                            throw fail("caps must be *, - or capability names such as chown,net_bind_service, found '\(value)'")
                        }
                        capabilities = parsed
                    case "seen":
                        guard let parsed = UInt64(value) else { throw fail("seen must be a whole number, found '\(value)'") }
                        seen = parsed
                    default:
                        throw fail("unknown attribute '\(name)=' (expected parent=, users=, caps=, seen=)")
                    }
                }
                let entryKey = ProcessEntryKey(kind: kind, parent: parent)
                if let previous = processes[entryKey] {
                    throw fail("process \(entryKey) is listed twice (first on line \(previous.line))")
                }
                processes[entryKey] = (ProcessEntry(users: users, capabilities: capabilities, seen: seen), number)
            default:
                throw fail(
                    "unknown key '\(key)' (expected format, workload, state, learned, created, changed, locked, pids-high, fork-rate-high, node, process)"
                )
            }
        }
        guard format != nil else { throw BaselineFileError(file: file, line: 0, reason: "empty: no 'format \(formatVersion)' line") }
        guard let workload else { throw BaselineFileError(file: file, line: 0, reason: "no 'workload' line") }
        guard let state else { throw BaselineFileError(file: file, line: 0, reason: "no 'state' line (learning or locked)") }
        if locked != nil, state != .locked {
            throw BaselineFileError(file: file, line: seenKeys["locked"] ?? 0, reason: "'locked' time given but the state is \(state.rawValue)")
        }
        let now = Timestamp.now()
        var baseline = Baseline(workload: workload, created: created ?? changed ?? now)
        baseline.state = state
        baseline.learned = learned
        baseline.changed = changed ?? baseline.created
        baseline.lockedAt = state == .locked ? (locked ?? baseline.changed) : nil
        baseline.pidsHigh = pidsHigh
        baseline.forkRateHigh = forkRateHigh
        baseline.nodes = nodes
        baseline.processes = processes.mapValues(\.entry)
        return baseline

    }

    /// `*` (any: `.some(nil)`), `-` (none) or `0,1000`; nil when malformed.
    public static func parseUsers(_ value: Substring) -> Set<UInt32>?? {
        if value == "*" { return .some(nil) }
        if value == "-" { return .some([]) }
        var users: Set<UInt32> = []
        for part in value.split(separator: ",", omittingEmptySubsequences: false) {
            guard let uid = UInt32(part) else { return nil }
            users.insert(uid)
        }
        return .some(users)
    }

    /// `*` (any: `.some(nil)`), `-` (none) or `chown,CAP_NET_RAW`; nil when malformed.
    public static func parseCapabilities(_ value: Substring) -> CapabilitySet?? {
        if value == "*" { return .some(nil) }
        if value == "-" { return .some(.empty) }
        var set = CapabilitySet.empty
        for part in value.split(separator: ",", omittingEmptySubsequences: false) {
            guard let capability = CapabilityNames.number(of: String(part)), !part.isEmpty else { return nil }
            set = set.union(CapabilitySet(rawValue: 1 << UInt64(capability)))
        }
        return .some(set)
    }
}
