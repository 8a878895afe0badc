import Glibc
import Testing
import VigilAgent
import VigilKernel

@Suite("Guarded command-line reads")
struct GuardedCommandLineReaderTests {
    /// pid 42 stands for a process whose mmap lock is held: its read blocks for two seconds.
    static func reader(maxWorkers: Int = 4) -> GuardedCommandLineReader {
        GuardedCommandLineReader(procRoot: "/proc", maxWorkers: maxWorkers) { pid in
            if pid == 42 { usleep(2_000_000) }
            return (["program", "\(pid)"], false)
        }
    }

    @Test("a read that blocks returns nil after the timeout, and the next read is answered at once")
    func stuckReadTimesOut() {
        let reader = Self.reader()
        let start = monotonicNanoseconds()
        #expect(reader.read(pid: 42, timeout: 20_000_000) == nil)
        let waited = monotonicNanoseconds() - start
        #expect(waited < 1_000_000_000, "waited \(waited) ns for a 20 ms timeout")
        #expect(reader.timedOut == 1)
        let answer = reader.read(pid: 7, timeout: 1_000_000_000)
        #expect(answer?.arguments == ["program", "7"])
    }

    @Test("when every worker is stuck, reads are skipped at once instead of waiting")
    func allWorkersStuck() {
        let reader = Self.reader(maxWorkers: 2)
        #expect(reader.read(pid: 42, timeout: 10_000_000) == nil)
        #expect(reader.read(pid: 42, timeout: 10_000_000) == nil)
        let start = monotonicNanoseconds()
        #expect(reader.read(pid: 7, timeout: 1_000_000_000) == nil)
        #expect(monotonicNanoseconds() - start < 100_000_000, "a skipped read must not wait")
        #expect(reader.timedOut == 3)
    }

    @Test("a real process's command line is read through the workers")
    func realProcess() {
        let reader = GuardedCommandLineReader(procRoot: "/proc")
        let answer = reader.read(pid: getpid(), timeout: 1_000_000_000)
        #expect(answer?.arguments.isEmpty == false)
        #expect(reader.read(pid: 999_999_999, timeout: 1_000_000_000) == nil)
    }
}
