import Glibc
import VigilKernel

/// What the agent denies itself once it is set up: system calls a process monitor never makes, refused
/// with EPERM in every thread (seccomp, synchronised across threads). A compromised or confused agent
/// cannot start programs, trace or write into other processes, change mounts or namespaces, load kernel
/// code, or change its credentials.
enum Confinement {
    static let deniedSystemCalls = [
        // Running other programs.
        "execve", "execveat",
        // Other processes' memory.
        "ptrace", "process_vm_readv", "process_vm_writev",
        // Mounts, roots and namespaces.
        "mount", "umount2", "pivot_root", "chroot", "setns", "unshare", "open_by_handle_at",
        // Kernel code, the kernel's own state.
        "bpf", "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
        "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "adjtimex", "sethostname", "setdomainname",
        "iopl", "ioperm", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "mknod", "mknodat",
        // Credentials.
        "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups",
    ]

    /// Loads the filter for the whole process; says why when it could not.
    static func apply() -> Result<Int, Errno> {
        guard var filter = SeccompFilter(allowingByDefault: true) else { return .failure(Errno(rawValue: ENOMEM)) }
        var denied = 0
        do throws(Errno) {
            try filter.synchronizeThreads()
            for name in deniedSystemCalls where SeccompLibrary.syscallNumber(name) != nil {
                try filter.deny(name, errno: EPERM)
                denied += 1
            }
            try filter.load()
        } catch {
            return .failure(error)
        }
        return .success(denied)
    }
}
