import Testing
import VigilBaseline
import VigilKernel
import VigilNode

/// Values in a baseline file are single fields: `escape` hides what would split a field or a line, and
/// `unescape` gives back exactly what was escaped.
@Suite("Baseline file: escaping")
struct BaselineEscapingTests {
    @Test(
        "escape writes whitespace and control characters as \\xNN and a backslash as \\\\, and leaves the rest",
        arguments: [
            (" ", "\\x20"), ("\t", "\\x09"), ("\n", "\\x0a"), ("\r", "\\x0d"), ("\u{0}", "\\x00"), ("\u{7F}", "\\x7f"),
            ("\\", "\\\\"), ("a b\\c", "a\\x20b\\\\c"), ("]", "]"), ("[", "["), ("=", "="), ("é", "é"), ("😀", "😀"),
            ("\u{FFFD}", "\u{FFFD}"), ("image:web:1.4", "image:web:1.4"),
        ])
    func escapeForms(input: String, escaped: String) {
        #expect(BaselineFile.escape(input) == escaped)
        #expect(BaselineFile.unescape(Substring(escaped)) == input)
    }

    @Test("unescape takes upper-case hex digits too")
    func upperCaseHex() {
        #expect(BaselineFile.unescape("a\\x0Ab\\x7F") == "a\nb\u{7F}")
    }

    @Test(
        "unescape refuses a backslash that starts neither \\\\ nor \\xNN",
        arguments: ["\\", "abc\\", "\\q", "\\n", "\\x", "\\x4", "a\\x4", "\\xzz", "\\xg0", "\\u0041"])
    func badEscapes(text: String) {
        #expect(BaselineFile.unescape(Substring(text)) == nil)
    }

    @Test("unescape refuses a sign where a hex digit belongs", arguments: ["\\x+f", "\\x-0"])
    func signedHexIsRefused(text: String) {
        // UInt8(_:radix:) would take a leading + or -: `\x+f` must not read as U+000F, nor `\x-0` as NUL.
        #expect(BaselineFile.unescape(Substring(text)) == nil)
    }

    @Test("escape then unescape gives back any string, scalar for scalar; escaped text holds no separator")
    func escapeRoundTripProperty() {
        var random = SplitMix64(seed: 0xBA5E)
        for iteration in 0..<500 {
            let text = random.string(from: trickyScalars, maxLength: 24)
            let escaped = BaselineFile.escape(text)
            #expect(
                !escaped.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7F },
                "iteration \(iteration): \(escaped.debugDescription) holds whitespace or a control character")
            let back = BaselineFile.unescape(Substring(escaped))
            #expect(
                back.map { Array($0.unicodeScalars) } == Array(text.unicodeScalars),
                "iteration \(iteration): \(text.debugDescription) came back as \(back.debugDescription)")
        }
    }

    @Test("escape then unescape survives scalars that join Swift Characters (combining marks, U+0600)")
    func escapeRoundTripWithJoiningScalars() {
        // U+0600 (a prepended concatenation mark) makes "\u{600}\\" one Character: the backslash
        // must still be found, so "\u{600}\\x20" reads as "\u{600} ".
        let text = "\u{600} "
        let escaped = "\u{600}\\x20"  // (a literal with `\\x` inside #expect trips the macro)
        #expect(BaselineFile.escape(text) == escaped)
        #expect(BaselineFile.unescape(Substring(BaselineFile.escape(text))) == text)
        var random = SplitMix64(seed: 0x10_1ED)
        var failures: [String] = []
        for _ in 0..<300 {
            let text = random.string(from: trickyScalars + graphemeJoiningScalars, maxLength: 16)
            let back = BaselineFile.unescape(Substring(BaselineFile.escape(text)))
            if back.map({ Array($0.unicodeScalars) }) != Array(text.unicodeScalars) { failures.append(text) }
        }
        #expect(failures.isEmpty, "do not round-trip: \(failures.map(\.debugDescription))")
    }

    @Test(
        "kinds, parents, nodes and workloads with spaces, tabs, newlines, backslashes, brackets, =, non-ASCII and U+FFFD survive the file",
        arguments: [
            "/opt/my app/run server", "/opt/tab\there", "/opt/new\nline", "/opt/back\\slash", "/opt/x]", "/opt/[x]y",
            "/opt/a=b", "/opt/café", "/opt/🚀launch", "/opt/\u{FFFD}bad", "/opt/\r\n", "/opt/#hash", "/opt/%2F",
        ])
    func trickyValuesSurviveTheFile(executable: String) throws {
        let base = String(executable.split(separator: "/").last!)
        var baseline = Baseline(workload: WorkloadKey(rawValue: "image:tricky"), created: referenceTime, node: base)
        let ownName = ProcessKind(executable: executable, name: base)
        let otherName = ProcessKind(executable: executable, name: "x y\t\\]=é😀\u{FFFD}")
        baseline.processes[key(ownName, parent: .process(otherName))] = ProcessEntry(
            users: [1], capabilities: nil, seen: 1)
        baseline.processes[key(otherName, parent: .process(ownName))] = ProcessEntry(
            users: nil, capabilities: .empty, seen: 2)
        let text = BaselineFile.encode(baseline)
        // One line per fact: the values added no line of their own.
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count == 16)
        let decoded = try BaselineFile.decode(text, file: "tricky.baseline")
        #expect(decoded == baseline)
        #expect(decoded.processes.keys.contains(key(ownName, parent: .process(otherName))))
    }

    @Test("a workload key with spaces, tabs, backslashes, brackets, =, non-ASCII and U+FFFD survives the file")
    func trickyWorkloadSurvivesTheFile() throws {
        let baseline = Baseline(
            workload: WorkloadKey(rawValue: "compose:my proj\\x/web\t[1]=é😀\u{FFFD}"), created: referenceTime)
        #expect(try roundTrip(baseline) == baseline)
    }

    @Test("a workload key with a newline survives the file")
    func workloadWithNewline() throws {
        // Compose labels are free text: a newline in the key must not end a line of the file (the
        // first comment names the workload too).
        let baseline = Baseline(
            workload: WorkloadKey(rawValue: "compose:evil\nproject/web"), created: referenceTime)
        let text = BaselineFile.encode(baseline)
        #expect(!text.unicodeScalars.split(separator: "\n").contains { $0.starts(with: "project/web".unicodeScalars) })
        let decoded = try roundTrip(baseline)
        #expect(decoded == baseline)
    }

    @Test("a value that starts with a combining mark survives the file")
    func combiningMarkAtTheStartOfAValue() throws {
        // A space followed by U+0301 is one Character: `workload \u{301}x` must still split into two fields.
        let baseline = Baseline(workload: WorkloadKey(rawValue: "\u{301}x"), created: referenceTime)
        let decoded = try roundTrip(baseline)
        #expect(decoded == baseline)
        #expect(Array(decoded.workload.rawValue.unicodeScalars) == Array("\u{301}x".unicodeScalars))
    }
}
