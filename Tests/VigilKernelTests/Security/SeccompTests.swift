import Glibc
import Testing
import VigilKernel

@Suite("SeccompLibrary and SeccompFilter")
struct SeccompTests {
    @Test("the linked libseccomp reports a 2.x version")
    func version() {
        let version = SeccompLibrary.version
        #expect(version.hasPrefix("2."))
        #expect(version.split(separator: ".").count == 3)
        #expect(version.split(separator: ".").allSatisfy { Int($0) != nil })
    }

    @Test("system call names resolve to this architecture's numbers")
    func syscallNumbers() {
        #if arch(x86_64)
            #expect(SeccompLibrary.syscallNumber("openat") == 257)
            #expect(SeccompLibrary.syscallNumber("read") == 0)
            #expect(SeccompLibrary.syscallNumber("ptrace") == 101)
        #elseif arch(arm64)
            #expect(SeccompLibrary.syscallNumber("openat") == 56)
        #endif
        #expect(SeccompLibrary.syscallNumber("openat") != SeccompLibrary.syscallNumber("ptrace"))
    }

    @Test("an unknown system call name resolves to nil", arguments: ["no_such_syscall", "", "OPENAT", "openat "])
    func unknownSyscall(name: String) {
        #expect(SeccompLibrary.syscallNumber(name) == nil)
    }

    @Test("a filter that denies ptrace with EPERM shows the rule in its exported text")
    func denyPtrace() throws {
        guard var filter = SeccompFilter(allowingByDefault: true) else {
            Issue.record("seccomp_init failed")
            return
        }
        try filter.deny("ptrace", errno: EPERM)
        let text = try filter.exportText()
        let ptrace = try #require(SeccompLibrary.syscallNumber("ptrace"))
        #expect(text.contains("ptrace"))
        #expect(text.contains("== \(ptrace)"))
        #expect(text.contains("ERRNO(\(EPERM))"))
        #expect(text.contains("ALLOW"), "the default action")
    }

    @Test("a filter with no rules exports only its default action")
    func emptyFilter() throws {
        guard let allowing = SeccompFilter(allowingByDefault: true) else {
            Issue.record("seccomp_init failed")
            return
        }
        let allowText = try allowing.exportText()
        #expect(allowText.contains("ALLOW"))
        #expect(!allowText.contains("ptrace"))
        guard let killing = SeccompFilter(allowingByDefault: false) else {
            Issue.record("seccomp_init failed")
            return
        }
        let killText = try killing.exportText()
        #expect(killText.contains("KILL_PROCESS"))
    }

    @Test("denying an unknown system call throws EINVAL and leaves the filter usable")
    func denyUnknown() throws {
        guard var filter = SeccompFilter(allowingByDefault: true) else {
            Issue.record("seccomp_init failed")
            return
        }
        do {
            try filter.deny("no_such_syscall", errno: EPERM)
            Issue.record("denying an unknown system call did not throw")
        } catch {
            #expect(error == .invalidArgument)
        }
        try filter.deny("ptrace", errno: EACCES)
        let text = try filter.exportText()
        #expect(text.contains("ERRNO(\(EACCES))"))
        #expect(!text.contains("no_such_syscall"))
    }
}
