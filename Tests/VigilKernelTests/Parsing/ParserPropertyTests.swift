import Testing

@testable import VigilKernel

/// Every byte parser meets arbitrary bytes and damaged copies of the real captured files: it must never
/// crash, and whatever it returns must satisfy the invariants below. Seeds are fixed, so a failure
/// repeats; the iteration is named in the failure message.
@Suite("Byte parsers under arbitrary input")
struct ParserPropertyTests {
    static let randomCount = 1000
    static let mutationCount = 1000

    /// Arbitrary inputs followed by mutations of `files`, each passed to `body` with a description.
    static func inputs(
        seed: UInt64, files: [String], mutations: Int = mutationCount, _ body: ([UInt8], String) -> Void
    ) throws {
        var random = SplitMix64(seed: seed)
        for i in 0..<randomCount {
            body(random.arbitraryInput(alphabet: procAlphabet), "seed \(seed) random #\(i)")
        }
        let originals = try files.map { try Captured.bytes($0) }
        for i in 0..<mutations {
            let index = i % originals.count
            body(random.mutate(originals[index]), "seed \(seed) mutation #\(i) of \(files[index])")
        }
    }

    // MARK: ProcStat

    @Test("ProcStat: a parsed pid is the number before the '(' and the parse is slice-independent")
    func statArbitrary() throws {
        try Self.inputs(seed: 1, files: Captured.statFiles) { bytes, label in
            let stat = parseStat(bytes)
            #expect(withEmbedded(bytes) { ProcStat.parse($0) } == stat, "\(label)")
            guard let stat else { return }
            let open = bytes.firstIndex(of: 0x28)!
            let pidText = String(decoding: bytes[..<open], as: UTF8.self)
                .trimmingCharacters(in: [" ", "\t", "\n", "\r", "\r\n"])
            #expect(Int32(pidText) == stat.pid, "\(label)")
            #expect(stat.ppid >= 0, "\(label)")
        }
    }

    @Test("ProcStat: every truncation of a real stat line is nil before field 22 and complete after it")
    func statTruncations() throws {
        for file in Captured.statFiles {
            let bytes = try Captured.bytes(file)
            let full = try #require(parseStat(bytes))
            // Where field 22 begins and ends, found independently.
            let close = bytes.lastIndex(of: 0x29)!
            var spaces = 0
            var fieldStart = 0
            var fieldEnd = bytes.count
            for i in (close + 1)..<bytes.count where bytes[i] == 0x20 {
                spaces += 1
                if spaces == 20 { fieldStart = i + 1 }
                if spaces == 21 {
                    fieldEnd = i
                    break
                }
            }
            try #require(fieldStart > 0)
            for length in 0...bytes.count {
                let stat = parseStat(Array(bytes[..<length]))
                if length <= fieldStart {
                    #expect(stat == nil, "\(file) cut at \(length)")
                } else if length >= fieldEnd {
                    #expect(stat == full, "\(file) cut at \(length)")
                } else {
                    // Cut inside the start time: a prefix of its digits.
                    #expect(stat.map { String(full.startTime).hasPrefix(String($0.startTime)) } == true)
                }
            }
        }
    }

    @Test("ProcStat: random pids, comms (with ')', '(' and spaces) and start times round-trip")
    func statRoundTrip() {
        var random = SplitMix64(seed: 11)
        let commBytes: [UInt8] = Array("ab) (c 1:/-_.".utf8)
        for i in 0..<2000 {
            let pid = Int32.random(in: 1...Int32.max, using: &random)
            let ppid = Int32.random(in: 0...Int32.max, using: &random)
            let start = UInt64.random(in: 0...UInt64.max, using: &random)
            let comm = String(
                decoding: (0..<Int.random(in: 0...15, using: &random)).map { _ in
                    commBytes.randomElement(using: &random)!
                },
                as: UTF8.self)
            let line = "\(pid) (\(comm)) S \(ppid) 1 1 0 -1 4194304 94 0 0 0 0 0 0 0 20 0 1 0 \(start) 2322432 332\n"
            let expected = ProcStat(
                pid: pid, comm: comm, state: UInt8(ascii: "S"), ppid: ppid, threads: 1, startTime: start)
            #expect(parseStat(line) == expected, "#\(i): \(line)")
        }
    }

    // MARK: ProcStatus

    @Test("ProcStatus: a parse needs Uid and CapEff lines; it is slice-independent")
    func statusArbitrary() throws {
        try Self.inputs(seed: 2, files: Captured.statusFiles) { bytes, label in
            let status = parseStatus(bytes)
            #expect(withEmbedded(bytes) { ProcStatus.parse($0) } == status, "\(label)")
            guard status != nil else { return }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.contains("Uid:") && text.contains("CapEff:"), "\(label)")
        }
    }

    @Test("ProcStatus: truncations of a real status are nil until its CapEff value and equal to it after the last line")
    func statusTruncations() throws {
        let bytes = try Captured.bytes("docker-sh.status")
        let full = try #require(parseStatus(bytes))
        let text = String(decoding: bytes, as: UTF8.self)
        let capEffValue = text.utf8.distance(
            from: text.utf8.startIndex, to: text.firstRange(of: "CapEff:\t")!.upperBound)
        let lastNeeded = text.utf8.distance(
            from: text.utf8.startIndex, to: text.firstRange(of: "\nSpeculation")!.lowerBound)
        for length in 0...bytes.count {
            let status = parseStatus(Array(bytes[..<length]))
            if length <= capEffValue {
                #expect(status == nil, "cut at \(length)")
            } else if length >= lastNeeded {
                #expect(status == full, "cut at \(length)")
            }
        }
    }

    // MARK: ProcCmdline and ExecutablePath

    @Test("ProcCmdline: arguments joined with NUL give back the input less one trailing NUL")
    func cmdlineArbitrary() throws {
        try Self.inputs(seed: 3, files: Captured.cmdlineFiles) { bytes, label in
            let arguments = parseCmdline(bytes)
            #expect(withEmbedded(bytes) { ProcCmdline.parse($0) } == arguments, "\(label)")
            let nuls = bytes.count(where: { $0 == 0 })
            #expect(arguments.count == nuls + (bytes.last.map { $0 != 0 ? 1 : 0 } ?? 0), "\(label)")
            guard String(validating: bytes, as: UTF8.self) != nil else { return }
            let expected = bytes.last == 0 ? Array(bytes.dropLast()) : bytes
            #expect(Array(arguments.joined(separator: "\0").utf8) == expected, "\(label)")
        }
    }

    @Test("ProcCmdline: random valid UTF-8 argument lists round-trip")
    func cmdlineRoundTrip() {
        var random = SplitMix64(seed: 13)
        let scalars: [Unicode.Scalar] = ["a", " ", "-", "=", "é", "€", "😀", "\u{FFFD}", "\u{7F}", "\t"]
        for i in 0..<2000 {
            let arguments = (0..<Int.random(in: 0...8, using: &random)).map { _ in
                String(
                    String.UnicodeScalarView(
                        (0..<Int.random(in: 0...10, using: &random)).map { _ in
                            scalars.randomElement(using: &random)!
                        }))
            }
            let bytes: [UInt8] = arguments.flatMap { Array($0.utf8) + [UInt8(0)] }
            #expect(parseCmdline(bytes) == arguments, "#\(i)")
        }
    }

    @Test("ExecutablePath: display gives back valid UTF-8 input; deleted exactly when the suffix is there")
    func exeArbitrary() throws {
        try Self.inputs(seed: 4, files: Captured.exeFiles + ["deleted-exe.exe.txt"]) { bytes, label in
            let exe = parseExe(bytes)
            #expect(withEmbedded(bytes) { ExecutablePath.parse($0) } == exe, "\(label)")
            #expect(exe.deleted == bytes.ends(with: Array(" (deleted)".utf8)), "\(label)")
            if String(validating: bytes, as: UTF8.self) != nil {
                #expect(Array(exe.display.utf8) == bytes, "\(label)")
            }
        }
    }

    // MARK: CgroupMembership and NamespaceLink

    @Test("CgroupMembership: no more entries than lines, each path a line's remainder")
    func cgroupArbitrary() throws {
        try Self.inputs(seed: 5, files: Captured.cgroupFiles) { bytes, label in
            let memberships = parseCgroups(bytes)
            #expect(withEmbedded(bytes) { CgroupMembership.parse($0) } == memberships, "\(label)")
            var lineCount = 0
            bytes.withParserInput { Bytes.forEachLine($0) { _ in lineCount += 1 } }
            #expect(memberships.count <= lineCount, "\(label)")
            #expect(memberships.allSatisfy { $0.hierarchy >= 0 && $0.hierarchy < 1 << 20 && !$0.path.contains("\n") })
            _ = CgroupMembership.primaryPath(memberships)
        }
    }

    @Test("NamespaceLink: a parsed link is type:[digits]; random links round-trip")
    func namespaceArbitrary() throws {
        try Self.inputs(seed: 6, files: Captured.nsFiles) { bytes, label in
            guard let link = parseNamespace(bytes) else { return }
            #expect(bytes.last == 0x5D, "\(label)")
            #expect(Bytes.string(bytes).hasPrefix(link.type + ":["), "\(label)")
        }
        var random = SplitMix64(seed: 16)
        for _ in 0..<2000 {
            let link = NamespaceLink(
                type: ["pid", "net", "mnt", "user", "cgroup", "ipc", "uts", "time"].randomElement(using: &random)!,
                inode: UInt64.random(in: 0...UInt64.max, using: &random))
            #expect(parseNamespace("\(link.type):[\(link.inode)]") == link)
        }
    }

    // MARK: MountEntry

    @Test("MountEntry: no more entries than lines, slice-independent")
    func mountinfoArbitrary() throws {
        // Fewer mutations than the other parsers: each mountinfo is 20-odd lines of strings to build.
        try Self.inputs(seed: 7, files: Captured.mountinfoFiles, mutations: 500) { bytes, label in
            let entries = parseMounts(bytes)
            #expect(withEmbedded(bytes) { MountEntry.parse($0) } == entries, "\(label)")
            var lineCount = 0
            bytes.withParserInput { Bytes.forEachLine($0) { _ in lineCount += 1 } }
            #expect(entries.count <= lineCount, "\(label)")
        }
    }

    @Test("MountEntry: a file cut after a whole line gives the entries of those lines, and cut anywhere no more")
    func mountinfoTruncations() throws {
        var random = SplitMix64(seed: 18)
        for file in ["docker-sh.mountinfo", "host.mountinfo"] {
            let bytes = try Captured.bytes(file)
            let full = parseMounts(bytes)
            // Every line end, the bytes either side of it, and random cuts.
            var lineEnds = [0]
            for (index, byte) in bytes.enumerated() where byte == 0x0A { lineEnds.append(index + 1) }
            var cuts = Set(lineEnds.flatMap { [$0 - 1, $0, $0 + 1] }.filter { (0...bytes.count).contains($0) })
            for _ in 0..<300 { cuts.insert(Int.random(in: 0...bytes.count, using: &random)) }
            for length in cuts.sorted() {
                let entries = parseMounts(Array(bytes[..<length]))
                let wholeLines = lineEnds.lastIndex(where: { $0 <= length })!
                #expect(entries.count <= wholeLines + 1, "\(file) cut at \(length)")
                #expect(Array(entries.prefix(wholeLines)) == Array(full.prefix(wholeLines)), "\(file) cut at \(length)")
                if lineEnds.contains(length) {
                    #expect(entries == Array(full.prefix(wholeLines)), "\(file) cut at \(length)")
                }
            }
        }
    }

    @Test("MountEntry.unescape undoes the kernel's escaping of space, tab, newline and backslash")
    func unescapeRoundTrip() {
        var random = SplitMix64(seed: 17)
        let alphabet: [UInt8] = Array("ab/ \t\n\\0147é".utf8)
        for i in 0..<3000 {
            var raw = (0..<Int.random(in: 0...40, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            if String(validating: raw, as: UTF8.self) == nil { raw = Array(String(decoding: raw, as: UTF8.self).utf8) }
            var escaped: [UInt8] = []
            for byte in raw {
                switch byte {
                case 0x20: escaped += Array(#"\040"#.utf8)
                case 0x09: escaped += Array(#"\011"#.utf8)
                case 0x0A: escaped += Array(#"\012"#.utf8)
                case 0x5C: escaped += Array(#"\134"#.utf8)
                default: escaped.append(byte)
                }
            }
            #expect(Array(escaped.withParserInput { MountEntry.unescape($0) }.utf8) == raw, "#\(i)")
        }
    }

    // MARK: PidCounters and Bytes

    @Test("PidCounters and Bytes.decimal/hex agree with the standard library on arbitrary text")
    func numbersArbitrary() {
        var random = SplitMix64(seed: 8)
        let alphabet: [UInt8] = Array("0123456789abcdefABCDEFmax \n-+x".utf8)
        for i in 0..<4000 {
            // Mostly short, as numbers are; every tenth up to 4096 bytes.
            let bytes = random.arbitraryInput(maxLength: i % 10 == 0 ? 4096 : 24, alphabet: alphabet)
            let text = String(decoding: bytes, as: UTF8.self)
            let isAllDigits = !bytes.isEmpty && bytes.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            #expect(bytes.withParserInput { Bytes.decimal($0) } == (isAllDigits ? UInt64(text) : nil), "#\(i)")
            let isAllHex =
                !bytes.isEmpty && bytes.count <= 16
                && bytes.allSatisfy {
                    UInt8(ascii: "0")...UInt8(ascii: "9") ~= $0
                        || UInt8(ascii: "a")...UInt8(ascii: "f") ~= $0 || UInt8(ascii: "A")...UInt8(ascii: "F") ~= $0
                }
            #expect(bytes.withParserInput { Bytes.hex($0) } == (isAllHex ? UInt64(text, radix: 16) : nil), "#\(i)")
            let trimmed = text.trimmingCharacters(in: [" ", "\t", "\n", "\r", "\r\n"])
            let trimmedDigits = !trimmed.isEmpty && trimmed.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            #expect(parseLimit(bytes) == (trimmedDigits ? UInt64(trimmed) : nil), "#\(i)")
            if let events = parseEventsMax(bytes) {
                #expect(text.split(separator: "\n").contains { $0.hasPrefix("max ") }, "#\(i)")
                _ = events
            }
        }
    }
}

extension [UInt8] {
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}

extension String {
    /// Removes the given characters from both ends (no Foundation).
    func trimmingCharacters(in set: Set<Character>) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
