import Testing
import VigilDetect
import VigilKernel

@testable import VigilNode

/// Deduplication: the first of a kind goes out at once, repeats within the window are counted, and one
/// summary says how many — at the window's end, when the next one opens, at shutdown, or when the table
/// is full. Nothing is dropped silently.
@Suite("Deduplicator: repeated alerts become one summary, never a silent drop")
struct DeduplicatorTests {
    static let second: UInt64 = 1_000_000_000
    static let window: UInt64 = 60 * second

    /// A shell_in_container alert for `sh -c true` whose parent is `parent`.
    static func shellAlert(
        pid: Int32 = 100, parent: String = "sh", workload image: String = "busybox:latest", second: Int64 = 0
    ) -> Alert {
        let process = Scenario.busybox(["sh", "-c", "true"])
        var copy = process
        copy.pid = pid
        var alert = Alert(
            rule: .shellInContainer, priority: .notice,
            time: Timestamp(seconds: 1_800_000_000 + second, nanoseconds: 0),
            output: "Shell started: sh -c true (pid \(pid))", container: Scenario.container(image: image),
            process: copy,
            ancestors: [parent, "containerd-shim"])
        // As the shell rule sets it: the shell's name, whatever could be read of its executable.
        alert.subject = "sh"
        return alert
    }

    @Test("500 identical alerts within a window: one alert at once, one summary with count 499 at expiry")
    func fiveHundredBecomeTwo() throws {
        var deduplicator = Deduplicator()
        var out: [Alert] = []
        let start: UInt64 = 1000 * Self.second
        for index in 0..<500 {
            let now = start + UInt64(index) * 20_000_000  // 10 s for all 500
            out += deduplicator.admit(
                Self.shellAlert(pid: Int32(1000 + index), second: Int64(index / 50)), now: now, window: Self.window)
            out += deduplicator.expire(now: now, window: Self.window)
        }
        #expect(out.count == 1)
        #expect(out.first?.count == 1)
        #expect(out.first?.isSummary == false)
        #expect(out.first?.process?.pid == 1000)
        #expect(deduplicator.expire(now: start + Self.window - 1, window: Self.window).isEmpty)
        let summaries = deduplicator.expire(now: start + Self.window, window: Self.window)
        let summary = try #require(summaries.first)
        #expect(summaries.count == 1)
        #expect(summary.isSummary)
        #expect(summary.count == 499)
        #expect(summary.rule == .shellInContainer)
        #expect(summary.output.contains("repeated 499 more times (500 in all) within 60 s"))
        #expect(deduplicator.pendingCount == 0)
        #expect(deduplicator.flush(window: Self.window).isEmpty, "summarised twice")
    }

    @Test("one alert alone in its window has no summary")
    func aloneHasNoSummary() {
        var deduplicator = Deduplicator()
        #expect(deduplicator.admit(Self.shellAlert(), now: 0, window: Self.window).count == 1)
        #expect(deduplicator.expire(now: Self.window, window: Self.window).isEmpty)
        #expect(deduplicator.flush(window: Self.window).isEmpty)
    }

    @Test("different parents, workloads, executables or rules are different kinds")
    func differentKinds() {
        var deduplicator = Deduplicator()
        let base = Self.shellAlert()
        var otherRule = base
        otherRule.rule = .execFromVolatilePath
        // Another shell (the rule's subject): bash, not sh.
        var otherExe = base
        otherExe.process?.exe = ExecutablePath(path: "/bin/bash", deleted: false)
        otherExe.subject = "bash"
        let kinds = [
            base, Self.shellAlert(parent: "crond"), Self.shellAlert(workload: "nginx:1.25"), otherRule, otherExe,
        ]
        var out: [Alert] = []
        for alert in kinds { out += deduplicator.admit(alert, now: 1, window: Self.window) }
        #expect(out.count == kinds.count)
        #expect(Set(kinds.map(\.dedupKey)).count == kinds.count)
        // The same pid or output text does not matter: only (rule, workload, exe, parent).
        #expect(deduplicator.admit(Self.shellAlert(pid: 999), now: 2, window: Self.window).isEmpty)
    }

    @Test("the same kind after the window has closed opens a new window: its summary, then the new alert")
    func nextWindow() throws {
        var deduplicator = Deduplicator()
        _ = deduplicator.admit(Self.shellAlert(pid: 1), now: 0, window: Self.window)
        _ = deduplicator.admit(Self.shellAlert(pid: 2), now: 1, window: Self.window)
        _ = deduplicator.admit(Self.shellAlert(pid: 3), now: 2, window: Self.window)
        let out = deduplicator.admit(Self.shellAlert(pid: 4), now: Self.window + 5, window: Self.window)
        try #require(out.count == 2)
        #expect(out[0].isSummary && out[0].count == 2)
        #expect(!out[1].isSummary && out[1].process?.pid == 4)
    }

    @Test("flush at shutdown returns every pending summary, oldest first, and empties the table")
    func flushAtShutdown() {
        var deduplicator = Deduplicator()
        for (parent, count, second) in [("crond", 3, 5), ("sh", 10, 1), ("runc", 1, 2)] {
            for index in 0..<count {
                _ = deduplicator.admit(
                    Self.shellAlert(pid: Int32(index), parent: parent, second: Int64(second)), now: 10,
                    window: Self.window)
            }
        }
        let summaries = deduplicator.flush(window: Self.window)
        #expect(summaries.map(\.count) == [9, 2], "runc had one alert, no repeats")
        #expect(summaries.map { $0.ancestors.first } == ["sh", "crond"])
        #expect(summaries.allSatisfy { $0.isSummary })
        #expect(deduplicator.pendingCount == 0)
    }

    @Test("a full table summarises its oldest kind early rather than dropping anything")
    func capacityOverflow() throws {
        var deduplicator = Deduplicator(capacity: 2)
        _ = deduplicator.admit(Self.shellAlert(parent: "a"), now: 1, window: Self.window)
        _ = deduplicator.admit(Self.shellAlert(parent: "a"), now: 2, window: Self.window)
        _ = deduplicator.admit(Self.shellAlert(parent: "b"), now: 3, window: Self.window)
        _ = deduplicator.admit(Self.shellAlert(parent: "b"), now: 4, window: Self.window)
        let out = deduplicator.admit(Self.shellAlert(parent: "c"), now: 5, window: Self.window)
        try #require(out.count == 2)
        #expect(out[0].isSummary && out[0].count == 1 && out[0].ancestors.first == "a")
        #expect(!out[1].isSummary && out[1].ancestors.first == "c")
        #expect(deduplicator.pendingCount == 2)
        let rest = deduplicator.flush(window: Self.window)
        #expect(rest.map { $0.ancestors.first } == ["b"])
    }

    @Test("fork storms and summaries pass straight through; a zero window turns deduplication off")
    func passThrough() {
        var deduplicator = Deduplicator()
        let storm = Alert(
            rule: .forkStorm, priority: .critical, time: Scenario.time, output: "storm", container: Scenario.container()
        )
        for _ in 0..<3 { #expect(deduplicator.admit(storm, now: 1, window: Self.window).count == 1) }
        var summary = Self.shellAlert()
        summary.isSummary = true
        summary.count = 7
        #expect(deduplicator.admit(Self.shellAlert(), now: 1, window: Self.window).count == 1)
        #expect(deduplicator.admit(summary, now: 1, window: Self.window).count == 1)
        for _ in 0..<3 { #expect(deduplicator.admit(Self.shellAlert(parent: "x"), now: 1, window: 0).count == 1) }
    }

    @Test(
        "an interactive shell (Warning) is not folded into the window of scripted ones (Notice), e.g. a HEALTHCHECK's sh -c",
        .bug(
            id: "dedup-2",
            "dedupKey ignores priority: docker exec -it hides behind docker exec sh -c of the same workload"))
    func interactiveNotFoldedIntoScripted() {
        var deduplicator = Deduplicator()
        let healthcheck = Self.shellAlert(pid: 1, parent: "runc")
        var interactive = Self.shellAlert(pid: 2, parent: "runc")
        interactive.priority = .warning
        interactive.output = "Interactive shell started: sh (pid 2)"
        _ = deduplicator.admit(healthcheck, now: 0, window: Self.window)
        let out = deduplicator.admit(interactive, now: Self.second, window: Self.window)
        #expect(out.count == 1 && out.first?.priority == .warning)
    }

    @Test(
        "the same shell is the same kind whether or not its executable could be read before it exited",
        .bug(id: "dedup-3", "dedupKey falls back to comm when exe is unknown, so one kind splits in two or three"))
    func unreadExecutableSameKind() {
        var deduplicator = Deduplicator()
        let read = Self.shellAlert(pid: 1)
        var withoutExe = Self.shellAlert(pid: 2)
        withoutExe.process?.exe = nil
        withoutExe.process?.missing = ["exe"]
        // Debian's busybox sh runs applets through /proc/self/exe: their comm is "exe".
        var commExe = withoutExe
        commExe.process?.comm = "exe"
        _ = deduplicator.admit(read, now: 0, window: Self.window)
        let second = deduplicator.admit(withoutExe, now: 1, window: Self.window)
        let third = deduplicator.admit(commExe, now: 2, window: Self.window)
        #expect(second.isEmpty && third.isEmpty)
    }

    @Test(
        "a summary's sentence and its fields describe the same occurrence",
        .bug(id: "dedup-1", "summary takes output from the first alert and fields from the last"))
    func summaryIsConsistent() throws {
        var deduplicator = Deduplicator()
        _ = deduplicator.admit(Self.shellAlert(pid: 1), now: 0, window: Self.window)
        _ = deduplicator.admit(Self.shellAlert(pid: 2), now: 1, window: Self.window)
        let summary = try #require(deduplicator.flush(window: Self.window).first)
        #expect(summary.output.contains("pid \(summary.process?.pid ?? -1)"))
    }
}

/// Every alert carries MITRE ATT&CK ids among its tags.
@Suite("Rule ids and tags")
struct RuleTagTests {
    @Test("the rule ids DESIGN.md requires exist with their stable spelling")
    func requiredIDs() {
        let required = [
            "shell_in_container", "reverse_shell", "fork_storm", "unexpected_process", "privilege_escalation",
            "exec_from_volatile_path", "container_drift", "insecure_container",
        ]
        for id in required { #expect(RuleID(rawValue: id) != nil, "\(id)") }
    }

    static func isTechnique(_ tag: String) -> Bool {
        let parts = tag.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        return tag.hasPrefix("T") && (1...2).contains(parts.count) && parts[0].count == 4
            && parts[0].allSatisfy(\.isNumber)
            && (parts.count == 1 || (parts[1].count == 3 && parts[1].allSatisfy(\.isNumber)))
    }

    @Test(
        "every runtime rule's tags include a MITRE ATT&CK technique id and a mitre_ tactic",
        arguments: RuleID.allCases.filter { $0 != .insecureContainer })
    func mitreTags(rule: RuleID) {
        #expect(rule.tags.contains(where: Self.isTechnique), "\(rule.rawValue): \(rule.tags)")
        #expect(rule.tags.contains { $0.hasPrefix("mitre_") }, "\(rule.rawValue): \(rule.tags)")
        #expect(rule.tags.contains("container"))
    }

    @Test(
        "insecure_container carries a MITRE id too (DESIGN.md: every alert's tags include them)",
        .bug(id: "tags-1", "insecure_container tags are container, posture, cis only"))
    func insecureContainerTags() {
        #expect(RuleID.insecureContainer.tags.contains(where: Self.isTechnique))
    }

    @Test("the alerts the rules raise carry their rule's tags and the examples' technique ids")
    func alertTechniques() {
        #expect(RuleID.shellInContainer.tags.contains("T1059.004"))
        #expect(RuleID.reverseShell.tags.contains("T1059.004"))
        #expect(RuleID.privilegeEscalation.tags.contains("T1548.001"))
        #expect(RuleID.forkStorm.tags.contains("T1499"))
    }

    @Test("priorities spell Falco's names and map to syslog severities 0-7, most urgent first")
    func priorities() {
        #expect(
            Priority.allCases.map(\.rawValue) == [
                "Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug",
            ])
        #expect(Priority.allCases.map(\.syslogSeverity) == Array(0...7))
        #expect(Priority.critical < Priority.warning)
        #expect(Priority(name: "WARNING") == .warning)
        #expect(Priority(name: "warn") == nil)
    }
}
