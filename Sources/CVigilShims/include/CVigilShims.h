#ifndef C_VIGIL_SHIMS_H
#define C_VIGIL_SHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Filesystem magic numbers (linux/magic.h), exposed as functions so Swift sees them.
uint64_t vigil_cgroup2_super_magic(void);
uint64_t vigil_cgroup_super_magic(void);
uint64_t vigil_proc_super_magic(void);

/// `statfs(2)`'s f_type of the filesystem holding `path`, or -1 with errno set.
int64_t vigil_statfs_type(const char *path);

/// The clock tick rate used by /proc/PID/stat start times (`sysconf(_SC_CLK_TCK)`).
long vigil_clock_ticks_per_second(void);

/// `O_DIRECTORY | O_RDONLY | O_CLOEXEC` and friends: C macros, so exposed as functions.
int vigil_o_rdonly_cloexec(void);
int vigil_o_directory_cloexec(void);
int vigil_o_path_cloexec(void);
int vigil_o_nofollow(void);

/// `getdents64(2)` into `buffer`; returns bytes read, 0 at the end, -1 with errno on error.
ssize_t vigil_getdents64(int fd, void *buffer, size_t length);

/// One `linux_dirent64` record at `offset` in a getdents64 buffer: its length, type and name.
unsigned short vigil_dirent_reclen(const void *buffer, size_t offset);
unsigned char vigil_dirent_type(const void *buffer, size_t offset);
const char *vigil_dirent_name(const void *buffer, size_t offset);

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: 0 on success, -1 with errno.
int vigil_set_no_new_privs(void);

/// `memfd_create(2)` with MFD_CLOEXEC.
int vigil_memfd_create(const char *name);

/// Opens a netlink connector socket bound to the process-events group (`CN_IDX_PROC`), with a receive
/// buffer of `receive_buffer` bytes (SO_RCVBUFFORCE when permitted, else SO_RCVBUF, which the kernel
/// caps at rmem_max). Returns the descriptor, or -1 with errno. `*forced` says whether the forced size
/// was accepted.
int vigil_connector_open(int receive_buffer, int *forced);

/// Sends the process-events subscription: `PROC_CN_MCAST_LISTEN` (listen = 1) or `PROC_CN_MCAST_IGNORE`.
/// With `with_filter`, the 8-byte `struct proc_input` (kernel 6.6 and later) carrying `event_mask`;
/// without, the 4-byte form every kernel accepts. Returns 0, or -1 with errno.
int vigil_connector_subscribe(int fd, int listen, int with_filter, uint32_t event_mask);

/// Sizes of the connector headers, for parsing received datagrams.
size_t vigil_nlmsghdr_size(void);
size_t vigil_cn_msg_size(void);

/// Sets the calling thread's name (`prctl(PR_SET_NAME)`), which makes the kernel raise a
/// `PROC_EVENT_COMM` for it: Vigil uses that to check that its connector subscription delivers events.
int vigil_set_thread_name(const char *name);
/// The calling thread's name into `buffer` (at least 16 bytes).
int vigil_get_thread_name(char *buffer);
/// The calling thread's id (`gettid`).
int vigil_gettid(void);

/// A non-blocking, close-on-exec eventfd.
int vigil_eventfd(void);
/// Names a thread (`pthread_setname_np`), for ps and debuggers.
void vigil_name_thread(const char *name);
/// A close-on-exec, non-blocking signalfd for SIGINT, SIGTERM and SIGHUP, after blocking those
/// signals in the calling thread (threads started afterwards inherit the mask). -1 with errno on error.
int vigil_signalfd_for_termination_and_reload(void);
/// Reads one pending signal from a signalfd: its number, 0 when none, -1 on error.
int vigil_signalfd_read(int fd);

/// inotify: a close-on-exec, non-blocking instance; a watch for directories created, deleted or moved
/// in `path` (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR); -1 with errno on error.
int vigil_inotify_open(void);
int vigil_inotify_watch_directory(int fd, const char *path);
/// Walks an inotify read buffer: the event at `offset`; returns the offset of the next one, or 0 at
/// the end. `name` points into the buffer (may be empty).
size_t vigil_inotify_event(const void *buffer, size_t length, size_t offset, int *wd, uint32_t *mask, const char **name);

#endif
