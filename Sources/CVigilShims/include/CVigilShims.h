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

#endif
