public import VigilKernel
public import VigilNode

/// What a process is, for a baseline: the program it runs and the name it runs under.
///
/// The name tells busybox applets apart: `/bin/busybox[wget]` and `/bin/busybox[sh]` are different
/// kinds though they run the same file. It is the kernel's comm (set at exec from the file name run),
/// or argv[0]'s base name when comm is a 15-byte truncation of it, or the applet when a multi-call
/// binary is run by its own name (`busybox wget ...`).
public struct ProcessKind: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The executable's path (`/bin/busybox`), as `/proc/PID/exe` reads; `?` when unknown.
    public var executable: String
    public var name: String

    public init(executable: String, name: String) {
        self.executable = executable
        self.name = name
    }

    /// `/bin/busybox[wget]`, or just `/usr/sbin/nginx` when the name is the file's own. Brackets and
    /// backslashes inside either part are written `\x5b`, `\x5d`, `\\`, so the text always reads back.
    public var description: String {
        let base = executable.split(separator: "/").last.map(String.init) ?? executable
        let path = Self.escapeBrackets(executable)
        if base == name, executable != Self.unknownExecutable { return path }
        return "\(path)[\(Self.escapeBrackets(name))]"
    }

    /// Reads `description`'s form back: `EXE[NAME]`, or `EXE` (name = its base name). The executable
    /// is an absolute path, or `?`.
    public init?(parsing text: String) {
        guard text.hasPrefix("/") || text.hasPrefix(Self.unknownExecutable + "[") else { return nil }
        let scalars = text.unicodeScalars
        if let open = scalars.firstIndex(of: "[") {
            guard scalars.last == "]", scalars.index(after: open) < scalars.index(before: scalars.endIndex),
                let executable = Self.unescapeBrackets(String(scalars[..<open])),
                let name = Self.unescapeBrackets(String(scalars[scalars.index(after: open)..<scalars.index(before: scalars.endIndex)])),
                !executable.isEmpty, !name.isEmpty
            else { return nil }
            self.init(executable: executable, name: name)
        } else {
            guard scalars.last != "]", let executable = Self.unescapeBrackets(text), let base = executable.split(separator: "/").last
            else { return nil }
            self.init(executable: executable, name: String(base))
        }
    }

    private static func escapeBrackets(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x5B || $0 == 0x5D || $0 == 0x5C }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "[": out += "\\x5b"
            case "]": out += "\\x5d"
            case "\\": out += "\\\\"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func unescapeBrackets(_ text: String) -> String? {
        guard text.utf8.contains(0x5C) else { return text.utf8.contains(0x5D) ? nil : text }
        guard let value = BaselineFile.unescape(Substring(text)) else { return nil }
        return value
    }

    public static func < (a: ProcessKind, b: ProcessKind) -> Bool {
        (a.executable, a.name) < (b.executable, b.name)
    }

    /// The executable of a process gone before `/proc/PID/exe` could be read.
    public static let unknownExecutable = "?"

    /// Multi-call binaries whose first argument names the program when run by their own name.
    private static let multiCall: Set<String> = ["busybox", "toybox"]

    /// The kind of a followed process, as read at its exec; nil when its program could not be read.
    public init?(of process: TrackedProcess) {
        guard !process.unread else { return nil }
        let executable = process.exe.map { $0.path } ?? Self.unknownExecutable
        var name = process.comm
        if let first = process.cmdline.first, !first.isEmpty {
            let argv0 = first.split(separator: "/").last.map(String.init) ?? first
            // comm holds at most 15 bytes (cut inside a character, it ends in U+FFFD); argv[0] says the rest.
            let cut = name.unicodeScalars.last == "\u{FFFD}" ? String(name.unicodeScalars.dropLast()) : name
            if name.utf8.count == 15 || (cut != name && cut.utf8.count >= 12),
                argv0.utf8.count > cut.utf8.count, argv0.utf8.starts(with: cut.utf8)
            {
                name = argv0
            }
            // A program that re-executes itself through /proc/self/exe (busybox sh running an applet)
            // is named "exe" by the kernel; argv[0] names the applet.
            if name == "exe", !executable.hasSuffix("/exe"), !argv0.isEmpty, argv0.utf8.count <= 64 { name = argv0 }
            // A multi-call binary runs the applet argv[0] names, whatever comm says: `exec -a wget
            // /bin/ls` runs wget. (A leading `-` marks a login shell.)
            let base = executable.split(separator: "/").last.map(String.init) ?? executable
            let applet = argv0.hasPrefix("-") ? String(argv0.dropFirst()) : argv0
            if Self.multiCall.contains(base), !applet.isEmpty, applet.utf8.count <= 64 {
                name = applet.hasPrefix("busybox") ? "busybox" : applet
            }
            if Self.multiCall.contains(name), process.cmdline.count > 1 {
                let applet = process.cmdline[1]
                if !applet.hasPrefix("-"), !applet.isEmpty, applet.utf8.count <= 64 {
                    name = applet.split(separator: "/").last.map(String.init) ?? applet
                }
            }
        }
        if name.isEmpty { return nil }
        self.init(executable: executable, name: name)
    }
}

/// What started a process, for a baseline.
public enum ParentKind: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// None: the process is the container's first (its PID 1, started by the runtime).
    case none
    /// A process outside the container: `docker exec`, `kubectl exec`, a runtime hook.
    case outside
    /// Any parent (an entry added with `vigil baseline allow` without `--parent`).
    case any
    /// A process of the container.
    case process(ProcessKind)

    public var description: String {
        switch self {
        case .none: "-"
        case .outside: "outside"
        case .any: "*"
        case .process(let kind): kind.description
        }
    }

    public init?(parsing text: String) {
        switch text {
        case "-": self = .none
        case "outside": self = .outside
        case "*": self = .any
        default:
            guard let kind = ProcessKind(parsing: text) else { return nil }
            self = .process(kind)
        }
    }

    private var order: (Int, ProcessKind?) {
        switch self {
        case .none: (0, nil)
        case .outside: (1, nil)
        case .any: (2, nil)
        case .process(let kind): (3, kind)
        }
    }

    public static func < (a: ParentKind, b: ParentKind) -> Bool {
        let (x, y) = (a.order, b.order)
        if x.0 != y.0 { return x.0 < y.0 }
        guard let p = x.1, let q = y.1 else { return false }
        return p < q
    }

    /// The parent kind of `process`, whose parent is `parent` when that is a followed process of the
    /// same container.
    public static func of(_ process: TrackedProcess, parent: TrackedProcess?) -> ParentKind? {
        if let parent, parent.container == process.container {
            guard let kind = ProcessKind(of: parent) else { return nil }
            return .process(kind)
        }
        return process.namespacePid == 1 ? ParentKind.none : .outside
    }
}

/// One entry of a baseline: a process kind started by a parent kind.
public struct ProcessEntryKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var kind: ProcessKind
    public var parent: ParentKind

    public init(kind: ProcessKind, parent: ParentKind) {
        self.kind = kind
        self.parent = parent
    }

    public var description: String { "\(kind) (parent \(parent))" }

    public static func < (a: ProcessEntryKey, b: ProcessEntryKey) -> Bool {
        a.kind != b.kind ? a.kind < b.kind : a.parent < b.parent
    }

    /// Whether an entry under this key admits a process of `other`'s kind and parent.
    public func admits(_ other: ProcessEntryKey) -> Bool {
        kind == other.kind && (parent == .any || parent == other.parent)
    }
}

/// What a baseline knows of one process kind: who it runs as, with what capabilities.
public struct ProcessEntry: Equatable, Sendable {
    /// Effective user ids it ran as; nil admits any user.
    public var users: Set<UInt32>?
    /// The union of its effective capabilities; nil admits any.
    public var capabilities: CapabilitySet?
    /// How many times it was seen while learning.
    public var seen: UInt64

    public init(users: Set<UInt32>?, capabilities: CapabilitySet?, seen: UInt64) {
        self.users = users
        self.capabilities = capabilities
        self.seen = seen
    }

    /// Adds another sighting (or another node's entry).
    public mutating func absorb(_ other: ProcessEntry) {
        if let mine = users { users = other.users.map { mine.union($0) } }
        if let mine = capabilities { capabilities = other.capabilities.map { mine.union($0) } }
        seen &+= other.seen
    }
}

/// One workload's normal behaviour: the process kinds it runs, who they run as, their capabilities,
/// and how many PIDs it holds and how fast it forks at most.
public struct Baseline: Equatable, Sendable {
    public enum State: String, Sendable, CaseIterable {
        /// Everything seen is added.
        case learning
        /// Frozen: anything outside it is an alert.
        case locked
    }

    public var workload: WorkloadKey
    public var state: State
    /// How long it has been learned (time with at least one container of the workload running).
    public var learned: UInt64
    public var created: Timestamp
    /// When an entry or a mark last changed (not when `learned` grew).
    public var changed: Timestamp
    public var lockedAt: Timestamp?
    /// The most PIDs (pids.current) one container of the workload held.
    public var pidsHigh: UInt64
    /// The most forks per second one container of the workload made.
    public var forkRateHigh: UInt64
    /// Hostnames of the nodes it was learned on.
    public var nodes: Set<String>
    public var processes: [ProcessEntryKey: ProcessEntry]

    public init(workload: WorkloadKey, created: Timestamp = .now(), node: String? = nil) {
        self.workload = workload
        state = .learning
        learned = 0
        self.created = created
        changed = created
        pidsHigh = 0
        forkRateHigh = 0
        nodes = node.map { [$0] } ?? []
        processes = [:]
    }

    /// The entry admitting a process of `key`'s kind and parent: the exact one, else a `*` parent.
    /// An executable of `?` (a process gone before it could be read, on either side) matches by name.
    public func entry(for key: ProcessEntryKey) -> (key: ProcessEntryKey, entry: ProcessEntry)? {
        if let exact = processes[key] { return (key, exact) }
        let any = ProcessEntryKey(kind: key.kind, parent: .any)
        if let entry = processes[any] { return (any, entry) }
        let unknown = ProcessKind.unknownExecutable
        if key.kind.executable != unknown {
            for parent in [key.parent, .any] {
                let candidate = ProcessEntryKey(kind: ProcessKind(executable: unknown, name: key.kind.name), parent: parent)
                if let entry = processes[candidate] { return (candidate, entry) }
            }
            return nil
        }
        let matches = processes.filter { $0.key.kind.name == key.kind.name && ($0.key.parent == key.parent || $0.key.parent == .any) }
        return matches.min { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Records one sighting; true when something new was learned (a kind, a user, a capability).
    @discardableResult
    public mutating func learn(_ key: ProcessEntryKey, user: UInt32, capabilities: CapabilitySet, at time: Timestamp) -> Bool {
        let sighting = ProcessEntry(users: [user], capabilities: capabilities, seen: 1)
        // A process gone before its executable was read joins the kind of that name, when one is known.
        let key = key.kind.executable == ProcessKind.unknownExecutable ? (entry(for: key)?.key ?? key) : key
        guard var entry = processes[key] else {
            processes[key] = sighting
            changed = time
            return true
        }
        let before = entry
        entry.absorb(sighting)
        processes[key] = entry
        let grew = entry.users != before.users || entry.capabilities != before.capabilities
        if grew { changed = time }
        return grew
    }

    /// Raises the high-water marks; true when one rose.
    @discardableResult
    public mutating func observe(pids: UInt64?, forkRate: UInt64?, at time: Timestamp) -> Bool {
        var rose = false
        if let pids, pids > pidsHigh {
            pidsHigh = pids
            rose = true
        }
        if let forkRate, forkRate > forkRateHigh {
            forkRateHigh = forkRate
            rose = true
        }
        if rose { changed = time }
        return rose
    }

    /// The union with another node's baseline of the same workload: every entry, every user and
    /// capability, the higher marks. Locked only when both are.
    public mutating func merge(_ other: Baseline) {
        for (key, entry) in other.processes {
            if var mine = processes[key] {
                mine.absorb(entry)
                processes[key] = mine
            } else {
                processes[key] = entry
            }
        }
        pidsHigh = max(pidsHigh, other.pidsHigh)
        forkRateHigh = max(forkRateHigh, other.forkRateHigh)
        learned = max(learned, other.learned)
        created = min(created, other.created)
        changed = max(changed, other.changed)
        nodes.formUnion(other.nodes)
        if state == .locked, other.state == .locked {
            lockedAt = [lockedAt, other.lockedAt].compactMap { $0 }.max()
        } else {
            state = .learning
            lockedAt = nil
        }
    }

    /// The entry nearest to an unknown one, for an alert to say what was expected instead: the same
    /// kind under another parent, else the same name, else the same parent, else the same program.
    public func closest(to key: ProcessEntryKey) -> ProcessEntryKey? {
        func score(_ candidate: ProcessEntryKey) -> Int {
            var score = 0
            if candidate.kind == key.kind { score += 8 }
            if candidate.kind.name == key.kind.name { score += 4 }
            if candidate.parent == key.parent { score += 2 }
            if candidate.kind.executable == key.kind.executable { score += 1 }
            return score
        }
        var best: (key: ProcessEntryKey, score: Int)?
        for candidate in processes.keys.sorted() {
            let value = score(candidate)
            if value > 0, value > (best?.score ?? 0) { best = (candidate, value) }
        }
        return best?.key
    }
}
