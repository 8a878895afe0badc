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

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/cn_proc.h>

int vigil_connector_open(int receive_buffer, int *forced) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (fd < 0) {
        return -1;
    }
    *forced = 0;
    if (receive_buffer > 0) {
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof(receive_buffer)) == 0) {
            *forced = 1;
        } else {
            (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
        }
    }
    struct sockaddr_nl address;
    memset(&address, 0, sizeof(address));
    address.nl_family = AF_NETLINK;
    address.nl_groups = CN_IDX_PROC;
    address.nl_pid = 0;
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int vigil_connector_subscribe(int fd, int listen, int with_filter, uint32_t event_mask) {
    unsigned char request[NLMSG_LENGTH(sizeof(struct cn_msg) + 8)];
    memset(request, 0, sizeof(request));
    size_t payload = with_filter ? 8 : 4;
    struct nlmsghdr *header = (struct nlmsghdr *)request;
    header->nlmsg_len = (uint32_t)NLMSG_LENGTH(sizeof(struct cn_msg) + payload);
    header->nlmsg_type = NLMSG_DONE;
    header->nlmsg_pid = 0;
    struct cn_msg *message = (struct cn_msg *)NLMSG_DATA(header);
    message->id.idx = CN_IDX_PROC;
    message->id.val = CN_VAL_PROC;
    message->len = (uint16_t)payload;
    uint32_t words[2] = {listen ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE, event_mask};
    memcpy(message->data, words, payload);

    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof(kernel));
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do {
        sent = sendto(fd, request, header->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
    } while (sent < 0 && errno == EINTR);
    return sent < 0 ? -1 : 0;
}

size_t vigil_nlmsghdr_size(void) { return sizeof(struct nlmsghdr); }
size_t vigil_cn_msg_size(void) { return sizeof(struct cn_msg); }

int vigil_set_thread_name(const char *name) { return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0); }
int vigil_get_thread_name(char *buffer) { return prctl(PR_GET_NAME, (unsigned long)buffer, 0, 0, 0); }
int vigil_gettid(void) { return (int)syscall(SYS_gettid); }

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

int vigil_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

void vigil_name_thread(const char *name) { (void)pthread_setname_np(pthread_self(), name); }

int vigil_signalfd_for_termination_and_reload(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
        return -1;
    }
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int vigil_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof(info));
    if (n == (ssize_t)sizeof(info)) {
        return (int)info.ssi_signo;
    }
    return n < 0 && errno != EAGAIN ? -1 : 0;
}

#include <sys/inotify.h>

int vigil_inotify_open(void) { return inotify_init1(IN_CLOEXEC | IN_NONBLOCK); }

int vigil_inotify_watch_directory(int fd, const char *path) {
    return inotify_add_watch(fd, path, IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR);
}

size_t vigil_inotify_event(const void *buffer, size_t length, size_t offset, int *wd, uint32_t *mask, const char **name) {
    if (offset + sizeof(struct inotify_event) > length) {
        return 0;
    }
    const struct inotify_event *event = (const struct inotify_event *)((const char *)buffer + offset);
    size_t next = offset + sizeof(struct inotify_event) + event->len;
    if (next > length) {
        return 0;
    }
    *wd = event->wd;
    *mask = event->mask;
    *name = event->len > 0 ? event->name : "";
    return next;
}
