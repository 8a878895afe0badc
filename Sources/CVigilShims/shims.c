#define _GNU_SOURCE
#include "CVigilShims.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

uint64_t vigil_cgroup2_super_magic(void) { return CGROUP2_SUPER_MAGIC; }
uint64_t vigil_cgroup_super_magic(void) { return CGROUP_SUPER_MAGIC; }
uint64_t vigil_proc_super_magic(void) { return PROC_SUPER_MAGIC; }

int64_t vigil_statfs_type(const char *path) {
    struct statfs buffer;
    if (statfs(path, &buffer) != 0) {
        return -1;
    }
    return (int64_t)buffer.f_type;
}

long vigil_clock_ticks_per_second(void) { return sysconf(_SC_CLK_TCK); }

int vigil_o_rdonly_cloexec(void) { return O_RDONLY | O_CLOEXEC; }
int vigil_o_directory_cloexec(void) { return O_RDONLY | O_DIRECTORY | O_CLOEXEC; }
int vigil_o_path_cloexec(void) { return O_PATH | O_CLOEXEC; }
int vigil_o_nofollow(void) { return O_NOFOLLOW; }

struct vigil_linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

ssize_t vigil_getdents64(int fd, void *buffer, size_t length) {
    return syscall(SYS_getdents64, fd, buffer, length);
}

unsigned short vigil_dirent_reclen(const void *buffer, size_t offset) {
    return ((const struct vigil_linux_dirent64 *)((const char *)buffer + offset))->d_reclen;
}

unsigned char vigil_dirent_type(const void *buffer, size_t offset) {
    return ((const struct vigil_linux_dirent64 *)((const char *)buffer + offset))->d_type;
}

const char *vigil_dirent_name(const void *buffer, size_t offset) {
    return ((const struct vigil_linux_dirent64 *)((const char *)buffer + offset))->d_name;
}

int vigil_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

#include <sys/mman.h>
int vigil_memfd_create(const char *name) { return memfd_create(name, MFD_CLOEXEC); }
