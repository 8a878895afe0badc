#!/usr/bin/env python3
"""Builds Vigil's synthetic node fixtures, and each one's expected `vigil ps --json` output, from a model.

Every fixture is a directory laid out like a host root (`proc/`, `sys/fs/cgroup/`, runtime state under
`run/`, `var/`, `home/`), so `vigil ps --json --host-root Fixtures/NAME` replays it. The model below says,
for each node, which processes run where, what each container runtime wrote to disk and what the
inventory must therefore report. The expected files are written from that model -- from Vigil's contract
in DESIGN.md ("Inventory JSON", "Workload key") and from how the kernel, Docker, containerd, CRI-O,
Podman, LXC, systemd-nspawn and the kubelet really lay things out -- never by running Vigil.

Run it again at any time: it deletes and rewrites only the fixture directories named in FIXTURES, and
never touches anything else in Fixtures/ (in particular not the live recording docker-hybrid-live/).
Python 3 standard library only; the output is byte-for-byte deterministic.

    python3 Fixtures/build-fixtures.py            # rebuild every generated fixture
    python3 Fixtures/build-fixtures.py crio-v2    # rebuild one
"""

import hashlib
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# A fixed time for the expected files' "time" member (the replay test ignores "time").
EXPECTED_TIME = "2024-05-14T09:30:00.000000000Z"

# ---------------------------------------------------------------------------------------------------------
# Capabilities

CAP_NAMES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
]


def caps(*names):
    """The bit set of capabilities named without their CAP_ prefix."""
    value = 0
    for name in names:
        value |= 1 << CAP_NAMES.index(name)
    return value


def all_caps(last):
    return (1 << (last + 1)) - 1


def cap_names(value):
    return ["CAP_" + CAP_NAMES[bit] for bit in range(64) if value >> bit & 1]


# Docker's, containerd's default set (also Podman 3): 00000000a80425fb.
DOCKER_DEFAULT = caps("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
                      "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP")
# CRI-O's default_capabilities since 1.18: 00000000000005fb.
CRIO_DEFAULT = caps("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "SETGID", "SETUID", "SETPCAP",
                    "NET_BIND_SERVICE", "KILL")
# Podman 4's default (containers.conf default_capabilities): 00000000800405fb.
PODMAN_DEFAULT = caps("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETFCAP",
                      "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT")
# systemd-nspawn's retained set (nspawn.c arg_caps_retain), plus NET_ADMIN for --network-veth.
NSPAWN_DEFAULT = caps("AUDIT_CONTROL", "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER",
                      "FSETID", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MKNOD", "NET_BIND_SERVICE",
                      "NET_BROADCAST", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN",
                      "SYS_BOOT", "SYS_CHROOT", "SYS_NICE", "SYS_PTRACE", "SYS_RESOURCE", "SYS_TTY_CONFIG",
                      "NET_ADMIN")


def security(bounding, uid=0, ambient=0, nnp=False, seccomp=2, inheritable=None):
    """A process's five capability sets as the kernel computes them after execve in a container whose
    bounding set is `bounding`: root keeps the whole set permitted and effective; any other user keeps only
    its ambient capabilities (which are also inheritable)."""
    if uid == 0:
        permitted = effective = bounding
    else:
        permitted = effective = ambient
    return {
        "inh": ambient if inheritable is None else inheritable, "prm": permitted, "eff": effective,
        "bnd": bounding, "amb": ambient, "nnp": nnp, "seccomp": seccomp,
    }


# ---------------------------------------------------------------------------------------------------------
# Identifiers: deterministic, realistic in form.

SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


def digest(seed):
    return hashlib.sha256(seed.encode()).hexdigest()


def container_id(seed):
    """A 64-hex container id."""
    return digest("container:" + seed)


def pod_uid(seed):
    """A random (version 4) UUID, as the API server assigns pod uids."""
    x = digest("pod:" + seed)
    return "%s-%s-4%s-%s%s-%s" % (x[0:8], x[8:12], x[13:16], "89ab"[int(x[16], 16) % 4], x[17:20], x[20:32])


def rand_suffix(seed, length=5):
    """A suffix from Kubernetes' random-name alphabet (no vowels, no 0, 1, 3)."""
    x = int(digest("suffix:" + seed), 16)
    out = ""
    for _ in range(length):
        out += SUFFIX_ALPHABET[x % len(SUFFIX_ALPHABET)]
        x //= len(SUFFIX_ALPHABET)
    return out


# ---------------------------------------------------------------------------------------------------------
# Kernels: what /proc/PID/status looks like on each (lines appear as the kernel of that era writes them).

KERNELS = {
    # Ubuntu 18.04 / RHEL-era 5.4: no Seccomp_filters (5.10), no untag_mask (6.4), no Kthread (6.9).
    "5.4": {"seccomp_filters": False, "untag_mask": False, "kthread": False, "ssb_filter": "thread force mitigated"},
    "5.15": {"seccomp_filters": True, "untag_mask": False, "kthread": False, "ssb_filter": "thread vulnerable"},
    "6.1": {"seccomp_filters": True, "untag_mask": False, "kthread": False, "ssb_filter": "thread vulnerable"},
    "6.8": {"seccomp_filters": True, "untag_mask": True, "kthread": False, "ssb_filter": "thread vulnerable"},
    "6.12": {"seccomp_filters": True, "untag_mask": True, "kthread": True, "ssb_filter": "thread vulnerable"},
}

STATE_NAMES = {"R": "R (running)", "S": "S (sleeping)", "D": "D (disk sleep)", "I": "I (idle)",
               "T": "T (stopped)"}


class Proc:
    """One process as /proc shows it."""

    def __init__(self, pid, ppid, comm, argv, exe, sec, *, uid=0, gid=None, euid=None, groups=None,
                 threads=1, ns=None, start=0, state="S", cgroup="/", tty=0, pgrp=None, session=None,
                 kthread=False, cmdline=None, present=True, race=False):
        self.pid = pid
        self.ppid = ppid
        self.comm = comm if isinstance(comm, bytes) else comm.encode()
        # The raw bytes of /proc/PID/cmdline: arguments, each followed by NUL.
        if cmdline is None:
            cmdline = b"".join((a if isinstance(a, bytes) else a.encode()) + b"\0" for a in argv)
        self.cmdline = cmdline
        self.exe = exe  # the link target, or None: no link (kernel thread, exiting process)
        self.sec = sec
        self.uid = uid
        self.euid = uid if euid is None else euid
        self.gid = uid if gid is None else gid
        self.groups = [self.gid] if groups is None else groups
        self.threads = threads
        # NSpid: the pid in every PID namespace, the host's first; `ns` holds the inner ones.
        self.nspid = [pid] + list(ns or [])
        self.start = start
        self.state = state
        self.cgroup = cgroup
        self.tty = tty
        self.pgrp = pid if pgrp is None else pgrp
        self.session = self.pgrp if session is None else session
        self.kthread = kthread
        # False: listed in cgroup.procs but gone from /proc (exited between the two reads).
        self.present = present
        # True: in /proc, in a container's cgroup, but not yet in its cgroup.procs when the node was read
        # (it entered the container between the cgroup walk and the /proc scan).
        self.race = race

    # -- the kernel's files --------------------------------------------------------------------------------

    def stat(self):
        """/proc/PID/stat, 52 fields, as fs/proc/array.c do_task_stat writes them."""
        h = int(digest("stat:%d" % self.pid), 16)
        if self.kthread:
            flags = 0x4208040  # PF_NO_SETAFFINITY | PF_KTHREAD | PF_NOFREEZE | PF_FORKNOEXEC
            vsize = rss = startcode = endcode = startstack = 0
            data_start = [0] * 7
        else:
            flags = 0x400100  # PF_RANDOMIZE | PF_SUPERPRIV, as after an exec
            vsize = 2_000_000 + (h % 400) * 1_048_576
            rss = 300 + h % 20000
            startcode = 94_000_000_000_000 + (h % 1000) * 4096
            endcode = startcode + 1_500_000
            startstack = 140_720_000_000_000 + (h % 100000) * 16
            arg_start = startstack + 4000
            arg_end = arg_start + len(self.cmdline)
            data_start = [endcode + 20000, endcode + 60000, endcode + 900000, arg_start, arg_end, arg_end,
                          arg_end + 900]
        tpgid = self.pgrp if self.tty else -1
        sigignore = 0 if self.kthread else 4096 if self.comm.startswith(b"postgres") else 4
        sigcatch = 0 if self.kthread else 65538
        fields = [
            self.state, self.ppid, self.pgrp, self.session, self.tty, tpgid, flags,
            h % 5000, h % 97, h % 13, 0, h % 900, h % 300, 0, 0, 20, 0, self.threads, 0, self.start,
            vsize, rss, 18446744073709551615, startcode, endcode, startstack, 0, 0, 0, 0, sigignore, sigcatch,
            1, 0, 0, 17, h % 4, 0, 0, 0, 0, 0,
        ] + data_start + [0]
        assert len(fields) == 50
        return b"%d (" % self.pid + self.comm + b") " + " ".join(str(f) for f in fields).encode() + b"\n"

    def status(self, kernel):
        """/proc/PID/status with every line the kernel of `kernel`'s era writes, in its order."""
        k = KERNELS[kernel]
        h = int(digest("status:%d" % self.pid), 16)
        s = self.sec
        lines = []
        add = lines.append
        # task_name(): the comm, with \n and \\ escaped; spaces and parentheses stay as they are.
        name = self.comm.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").decode("utf-8", "replace")
        add("Name:\t%s" % name)
        add("Umask:\t%s" % ("0000" if self.kthread else "0022"))
        add("State:\t%s" % STATE_NAMES[self.state])
        add("Tgid:\t%d" % self.pid)
        add("Ngid:\t0")
        add("Pid:\t%d" % self.pid)
        add("PPid:\t%d" % self.ppid)
        add("TracerPid:\t0")
        add("Uid:\t%d\t%d\t%d\t%d" % (self.uid, self.euid, self.euid, self.euid))
        add("Gid:\t%d\t%d\t%d\t%d" % (self.gid, self.gid, self.gid, self.gid))
        add("FDSize:\t%d" % (64 if self.kthread else 64 << (h % 3)))
        add("Groups:\t" + "".join("%d " % g for g in self.groups) + ("" if self.groups else " "))
        nstgid = "\t".join(str(p) for p in self.nspid)
        add("NStgid:\t" + nstgid)
        add("NSpid:\t" + nstgid)
        pgrp_ns = [self.pgrp] + self.nspid[1:2] if len(self.nspid) > 1 else [self.pgrp]
        add("NSpgid:\t" + "\t".join(str(p) for p in pgrp_ns))
        add("NSsid:\t" + "\t".join(str(p) for p in pgrp_ns))
        if k["kthread"]:
            add("Kthread:\t%d" % (1 if self.kthread else 0))
        if not self.kthread:
            peak = 2000 + h % 900000
            rss = 500 + h % 300000
            for key, value in [("VmPeak", peak), ("VmSize", peak - h % 100), ("VmLck", 0), ("VmPin", 0),
                               ("VmHWM", rss + 40), ("VmRSS", rss), ("RssAnon", rss // 3),
                               ("RssFile", rss - rss // 3), ("RssShmem", 0), ("VmData", 176 + h % 50000),
                               ("VmStk", 132), ("VmExe", 1552), ("VmLib", 8 + h % 9000), ("VmPTE", 36 + h % 400),
                               ("VmSwap", 0)]:
                add("%s:\t%8d kB" % (key, value))
            add("HugetlbPages:\t       0 kB")
        add("CoreDumping:\t0")
        add("THP_enabled:\t%d" % (0 if self.kthread else 1))
        if k["untag_mask"]:
            add("untag_mask:\t0xffffffffffffffff")
        add("Threads:\t%d" % self.threads)
        add("SigQ:\t0/63541")
        add("SigPnd:\t0000000000000000")
        add("ShdPnd:\t0000000000000000")
        add("SigBlk:\t%016x" % (0 if self.kthread else 0))
        add("SigIgn:\t%016x" % (0xFFFFFFFFFFFFFFFF if self.kthread else 4))
        add("SigCgt:\t%016x" % (0 if self.kthread else 0x10002))
        add("CapInh:\t%016x" % s["inh"])
        add("CapPrm:\t%016x" % s["prm"])
        add("CapEff:\t%016x" % s["eff"])
        add("CapBnd:\t%016x" % s["bnd"])
        add("CapAmb:\t%016x" % s["amb"])
        add("NoNewPrivs:\t%d" % (1 if s["nnp"] else 0))
        add("Seccomp:\t%d" % s["seccomp"])
        if k["seccomp_filters"]:
            add("Seccomp_filters:\t%d" % (1 if s["seccomp"] == 2 else 0))
        add("Speculation_Store_Bypass:\t%s" % (k["ssb_filter"] if s["seccomp"] == 2 else "thread vulnerable"))
        add("SpeculationIndirectBranch:\tconditional enabled")
        add("Cpus_allowed:\tf")
        add("Cpus_allowed_list:\t0-3")
        add("Mems_allowed:\t" + ",".join(["00000000"] * 31 + ["00000001"]))
        add("Mems_allowed_list:\t0")
        add("voluntary_ctxt_switches:\t%d" % (h % 100000))
        add("nonvoluntary_ctxt_switches:\t%d" % (h % 777))
        return ("\n".join(lines) + "\n").encode()

    # -- what the inventory must say about it ---------------------------------------------------------------

    def expected(self):
        """The process object of DESIGN.md's inventory contract, from the model."""
        return {
            "pid": self.pid,
            "ppid": self.ppid,
            "start_time": self.start,
            "name": self.comm.decode("utf-8", "replace"),
            "exe": self.exe,
            "cmdline": expected_cmdline(self.cmdline),
            "uid": self.uid,
            "euid": self.euid,
            "gid": self.gid,
            "caps": {
                "effective": cap_names(self.sec["eff"]),
                "permitted": cap_names(self.sec["prm"]),
                "bounding": cap_names(self.sec["bnd"]),
                "inheritable": cap_names(self.sec["inh"]),
                "ambient": cap_names(self.sec["amb"]),
            },
            "no_new_privs": self.sec["nnp"],
            "seccomp": ["disabled", "strict", "filter"][self.sec["seccomp"]],
            "threads": self.threads,
            "ns_pid": self.nspid[-1],
        }


# Vigil reads at most this much of a command line (ProcReader.cmdlineLimit): one process with a huge argv
# cannot make the agent allocate without bound. The rest is cut, mid-argument if need be.
CMDLINE_LIMIT = 64 * 1024


def expected_cmdline(raw):
    """Arguments as the contract gives them: the first 64 KiB, split at NULs (the terminating NUL makes no
    empty last argument), each decoded as UTF-8 with U+FFFD for invalid bytes."""
    data = raw[:CMDLINE_LIMIT]
    parts = data.split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    return [p.decode("utf-8", "replace") for p in parts]


# ---------------------------------------------------------------------------------------------------------
# Workload keys (DESIGN.md "Workload key")


def normalized_image(reference):
    """`busybox` == `docker.io/library/busybox:latest` -> `busybox:latest`; digests are dropped; a registry
    port (`localhost:5000/app`) is not a tag."""
    image = reference.split("@", 1)[0]
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/",
                   "library/"):
        if image.startswith(prefix):
            image = image[len(prefix):]
            break
    if ":" not in image.rsplit("/", 1)[-1]:
        image += ":latest"
    return image


def workload(runtime, cid, *, k8s=None, owner=None, sandbox=False, compose=None, image=None, name=None):
    """The baseline key, from what the model knows of the container."""
    if k8s is not None and k8s.get("namespace") and k8s.get("pod"):
        container = "POD" if sandbox else (k8s.get("container") or cid[:12])
        return "k8s:%s/%s/%s" % (k8s["namespace"], owner, container)
    if compose:
        return "compose:%s/%s" % compose
    if runtime == "lxc":
        return "lxc:" + name
    if runtime == "systemd-nspawn":
        return "nspawn:" + name
    if image:
        return "image:" + normalized_image(image)
    return "container:%s/%s" % (runtime, cid[:12])


# ---------------------------------------------------------------------------------------------------------
# The node model


V1_HIERARCHIES = [(12, "pids", "pids"), (8, "memory", "memory"), (4, "cpu,cpuacct", "cpu,cpuacct"),
                  (1, "name=systemd", "systemd")]


class Container:
    """One container: where it lives, what the runtime recorded, and what the inventory must report."""

    def __init__(self, node, *, cid, runtime, cgroup, name, image, k8s=None, sandbox=False, owner=None,
                 compose=None, workload_key=None, pids_max=None, events_max=0, warnings=()):
        self.node = node
        self.id = cid
        self.runtime = runtime
        self.cgroup = cgroup
        self.name = name
        self.image = image
        self.k8s = k8s
        self.sandbox = sandbox
        self.procs = []
        self.warnings = list(warnings)
        self.workload = workload_key or workload(runtime, cid, k8s=k8s, owner=owner, sandbox=sandbox,
                                                 compose=compose, image=image, name=name)
        node.ensure_dir(cgroup)
        if pids_max is not None:
            node.pids_max[cgroup] = pids_max
        if events_max:
            node.pids_events[cgroup] = events_max

    def proc(self, pid, ppid, comm, argv, exe, sec, *, cgroup=None, **kw):
        p = self.node.proc(pid, ppid, comm, argv, exe, sec, cgroup=cgroup or self.cgroup, **kw)
        self.procs.append(p)
        return p

    def live_procs(self):
        seen = {}
        for p in self.procs:
            if p.present and not p.race:
                seen[p.pid] = p
        return [seen[pid] for pid in sorted(seen)]

    @property
    def listed(self):
        """A cgroup with no live process is a stopped container's leftover: not reported."""
        return bool(self.live_procs())

    def expected(self):
        node = self.node
        live = self.live_procs()
        if node.has_pids(self.cgroup):
            pids = {"current": node.tasks_under(self.cgroup), "max": node.pids_max.get(self.cgroup),
                    "events_max": node.pids_events.get(self.cgroup, 0)}
        else:
            # No pids controller: the tasks of the listed processes, and no limit known.
            pids = {"current": sum(p.threads for p in live), "max": None, "events_max": None}
        k8s = None
        if self.k8s is not None:
            k8s = {"namespace": self.k8s.get("namespace"), "pod": self.k8s.get("pod"),
                   "pod_uid": self.k8s.get("pod_uid"), "container": self.k8s.get("container"),
                   "sandbox": self.sandbox}
        return {
            "id": self.id,
            "short_id": self.id[:12],
            "runtime": self.runtime,
            "name": self.name,
            "image": self.image,
            "cgroup": self.cgroup,
            "k8s": k8s,
            "workload": self.workload,
            "pids": pids,
            "processes": [p.expected() for p in live],
        }


class Node:
    def __init__(self, name, *, hostname, mode, kernel, cap_last=40):
        self.name = name
        self.hostname = hostname
        self.mode = mode  # unified | hybrid | legacy
        self.kernel = kernel
        self.cap_last = cap_last
        self.procs = {}
        self.dirs = {"/"}
        self.procs_extra = {}  # cgroup -> pids appended to cgroup.procs (duplicates, vanished)
        self.procs_order = {}  # cgroup -> "reverse" | "interleave": cgroup.procs is unordered
        self.pids_max = {}
        self.pids_events = {}
        self.no_pids = set()  # subtrees the pids controller is not enabled in
        self.files = {}
        self.links = {}
        self.containers = []
        self.next_start = 1000  # clock ticks since boot: after the boot-time services (explicit start times)

    # -- building ------------------------------------------------------------------------------------------

    def ensure_dir(self, path):
        while path not in self.dirs:
            self.dirs.add(path)
            path = path.rsplit("/", 1)[0] or "/"

    def start_time(self, step=7):
        self.next_start += step
        return self.next_start

    def proc(self, pid, ppid, comm, argv, exe, sec, *, cgroup="/", start=None, **kw):
        assert pid not in self.procs, (self.name, pid)
        if start is None:
            start = self.start_time()
        p = Proc(pid, ppid, comm, argv, exe, sec, cgroup=cgroup, start=start, **kw)
        self.procs[pid] = p
        self.ensure_dir(cgroup)
        return p

    def kthread(self, pid, comm, start=0):
        sec = security(all_caps(self.cap_last), seccomp=0)
        return self.proc(pid, 0 if pid == 2 else 2, comm, [], None, sec, cgroup="/", kthread=True,
                         state="I" if comm.startswith("kworker") or comm.startswith("rcu") else "S",
                         start=start, pgrp=0, session=0)

    def container(self, **kw):
        c = Container(self, **kw)
        self.containers.append(c)
        return c

    def file(self, path, content):
        if isinstance(content, str):
            content = content.encode()
        self.files[path] = content

    def json_file(self, path, value, indent=None):
        if indent is None:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            text = json.dumps(value, indent=indent, ensure_ascii=False)
        self.file(path, text)

    def link(self, path, target):
        self.links[path] = target

    # -- the kernel's view ---------------------------------------------------------------------------------

    def has_pids(self, path):
        if path == "/":
            return False  # the pids controller has no files in the root cgroup
        return not any(path == d or path.startswith(d + "/") for d in self.no_pids)

    def tasks_under(self, path):
        """pids.current: every task (thread) in the cgroup and its descendants."""
        prefix = path.rstrip("/") + "/"
        return sum(p.threads for p in self.procs.values()
                   if p.present and (p.cgroup == path or p.cgroup.startswith(prefix)))

    def cgroup_procs(self, path):
        # A vanished process (present=False) is still listed: it exited after cgroup.procs was read.
        members = [p.pid for p in self.procs.values() if p.cgroup == path and not p.race]
        members.sort()
        order = self.procs_order.get(path)
        if order == "reverse":
            members.reverse()
        elif order == "interleave":
            members = members[1::2] + members[0::2]
        members += self.procs_extra.get(path, [])
        return "".join("%d\n" % pid for pid in members)

    def proc_cgroup_file(self, p):
        if self.mode == "unified":
            return "0::%s\n" % p.cgroup
        lines = ["%d:%s:%s\n" % (hid, controllers, p.cgroup) for hid, controllers, _ in V1_HIERARCHIES]
        if self.mode == "hybrid":
            lines.append("0::%s\n" % p.cgroup)
        return "".join(lines)

    def write_cgroups(self):
        def populated(d):
            return any(q.present and (q.cgroup == d or q.cgroup.startswith(d.rstrip("/") + "/"))
                       for q in self.procs.values())
        children = {}
        for d in self.dirs:
            if d != "/":
                children.setdefault(d.rsplit("/", 1)[0] or "/", []).append(d)

        def rel(root, d):
            return root + ("" if d == "/" else d)

        if self.mode == "unified":
            root = "sys/fs/cgroup"
            all_controllers = "cpuset cpu io memory hugetlb pids rdma misc"
            for d in sorted(self.dirs):
                base = rel(root, d)
                self.file(base + "/cgroup.procs", self.cgroup_procs(d))
                if d == "/":
                    self.file(base + "/cgroup.controllers", all_controllers + "\n")
                else:
                    controllers = "cpuset cpu io memory hugetlb pids rdma misc" if self.has_pids(d) \
                        else "cpuset cpu io memory hugetlb rdma misc"
                    self.file(base + "/cgroup.controllers", controllers + "\n")
                    self.file(base + "/cgroup.events", "populated %d\nfrozen 0\n" % populated(d))
                    self.file(base + "/cgroup.type", "domain\n")
                if children.get(d):
                    enabled = "cpuset cpu io memory pids" if all(self.has_pids(c) for c in children[d]) \
                        else "cpuset cpu io memory"
                    self.file(base + "/cgroup.subtree_control", enabled + "\n")
                if self.has_pids(d):
                    self.write_pids(base, d)
        else:
            if self.mode == "hybrid":
                # systemd's own cgroup2 tree, with no controllers attached.
                for d in sorted(self.dirs):
                    base = rel("sys/fs/cgroup/unified", d)
                    self.file(base + "/cgroup.procs", self.cgroup_procs(d))
                    self.file(base + "/cgroup.controllers", "")
                    if d != "/":
                        self.file(base + "/cgroup.events", "populated %d\nfrozen 0\n" % populated(d))
                        self.file(base + "/cgroup.type", "domain\n")
            for _, controllers, directory in V1_HIERARCHIES:
                for d in sorted(self.dirs):
                    base = rel("sys/fs/cgroup/" + directory, d)
                    self.file(base + "/cgroup.procs", self.cgroup_procs(d))
                    if d == "/":
                        self.file(base + "/cgroup.clone_children", "0\n")
                        self.file(base + "/release_agent", "")
                    if controllers == "pids" and self.has_pids(d):
                        self.write_pids(base, d)
            self.link("sys/fs/cgroup/cpu", "cpu,cpuacct")
            self.link("sys/fs/cgroup/cpuacct", "cpu,cpuacct")

    def write_pids(self, base, d):
        limit = self.pids_max.get(d)
        self.file(base + "/pids.current", "%d\n" % self.tasks_under(d))
        self.file(base + "/pids.max", ("max" if limit is None else str(limit)) + "\n")
        self.file(base + "/pids.events", "max %d\n" % self.pids_events.get(d, 0))

    def write_procs(self):
        self.file("proc/sys/kernel/cap_last_cap", "%d\n" % self.cap_last)
        self.file("proc/sys/kernel/pid_max", "4194304\n")
        for p in self.procs.values():
            if not p.present:
                continue
            base = "proc/%d" % p.pid
            self.file(base + "/stat", p.stat())
            self.file(base + "/status", p.status(self.kernel))
            self.file(base + "/cmdline", p.cmdline)
            self.file(base + "/cgroup", self.proc_cgroup_file(p))
            if p.exe is not None:
                self.link(base + "/exe", p.exe)

    # -- what the inventory must say -----------------------------------------------------------------------

    def expected(self, include_host=False):
        listed = [c for c in self.containers if c.listed]
        containers = sorted(listed, key=lambda c: (c.name if c.name is not None else c.id, c.id))
        warnings = []
        for c in sorted(listed, key=lambda c: c.cgroup):
            warnings += c.warnings
        doc = {
            "hostname": self.hostname,
            "time": EXPECTED_TIME,
            "cgroup_mode": self.mode,
            "containers": [c.expected() for c in containers],
        }
        if include_host:
            in_containers = {p.pid for c in listed for p in c.live_procs()}
            groups = {}
            for pid in sorted(self.procs):
                p = self.procs[pid]
                if not p.present or p.race or pid in in_containers:
                    continue
                groups.setdefault(p.cgroup, []).append(p)
            host = []
            for cgroup in sorted(groups):
                leaf = cgroup.rsplit("/", 1)[-1]
                # Every kind of systemd unit that can hold processes (a .mount's FUSE daemon stays in it).
                unit = leaf if leaf.endswith((".service", ".scope", ".slice", ".socket", ".mount")) else None
                host.append({
                    "cgroup": cgroup,
                    "unit": unit,
                    "workload": ("systemd:" + unit) if unit else ("host:" + cgroup),
                    "processes": [p.expected() for p in groups[cgroup]],
                })
            doc["host"] = host
        doc["warnings"] = warnings
        return doc

    # -- writing -------------------------------------------------------------------------------------------

    def write(self, directory, with_host_expected=False):
        self.write_procs()
        self.write_cgroups()
        self.file("etc/hostname", self.hostname + "\n")
        if os.path.lexists(directory):
            shutil.rmtree(directory)
        os.makedirs(directory)
        # A placeholder keeps a pod's log directory in git only when nothing else does.
        for path in [p for p in self.files if p.endswith("/.keep")]:
            parent = path[: -len(".keep")]
            if any(q != path and q.startswith(parent) for q in list(self.files) + list(self.links)):
                del self.files[path]
        for path in sorted(self.files):
            full = os.path.join(directory, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(self.files[path])
        for path in sorted(self.links):
            full = os.path.join(directory, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            os.symlink(self.links[path], full)
        write_expected(os.path.join(directory, "expected-ps.json"), self.expected())
        if with_host_expected:
            write_expected(os.path.join(directory, "expected-ps-all.json"), self.expected(include_host=True))


def write_expected(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------------------------------------
# What the runtimes write to disk

DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

SECCOMP_PROFILE = {
    # Abbreviated: the real RuntimeDefault/Docker profile lists some 370 syscalls.
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [
        {"names": ["accept", "accept4", "access", "arch_prctl", "bind", "brk", "capget", "capset", "chdir",
                   "clone", "clone3", "close", "connect", "dup", "dup2", "epoll_create1", "epoll_ctl",
                   "epoll_wait", "execve", "exit", "exit_group", "fcntl", "fstat", "futex", "getdents64",
                   "getpid", "ioctl", "listen", "mmap", "mprotect", "munmap", "nanosleep", "openat",
                   "pipe2", "poll", "read", "recvfrom", "rt_sigaction", "rt_sigprocmask", "sendto",
                   "set_tid_address", "setgid", "setuid", "socket", "wait4", "write"],
         "action": "SCMP_ACT_ALLOW"},
    ],
}

MASKED_PATHS = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def oci_spec(args, sec, *, uid=0, gid=0, env=(), cwd="/", hostname=None, annotations=None, cgroups_path,
             namespaces=("pid", "ipc", "uts", "mount", "network"), readonly_root=False, terminal=False):
    """An OCI runtime spec (config.json), in the runtime-spec's member order."""
    process = {
        "terminal": terminal,
        "user": {"uid": uid, "gid": gid, "additionalGids": [gid]},
        "args": list(args),
        "env": [DEFAULT_PATH_ENV] + list(env),
        "cwd": cwd,
        "capabilities": {
            "bounding": cap_names(sec["bnd"]),
            "effective": cap_names(sec["bnd"] if uid == 0 else sec["amb"]),
            "permitted": cap_names(sec["bnd"] if uid == 0 else sec["amb"]),
        },
        "noNewPrivileges": sec["nnp"],
        "oomScoreAdj": 1000 if uid else -997 if sec["bnd"] == all_caps(40) else 1000,
    }
    if sec["amb"]:
        process["capabilities"]["inheritable"] = cap_names(sec["amb"])
        process["capabilities"]["ambient"] = cap_names(sec["amb"])
    spec = {
        "ociVersion": "1.1.0",
        "process": process,
        "root": {"path": "rootfs", "readonly": readonly_root},
    }
    if hostname:
        spec["hostname"] = hostname
    spec["mounts"] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]
    if annotations is not None:
        spec["annotations"] = annotations
    linux = {
        "resources": {"devices": [{"allow": False, "access": "rwm"}], "cpu": {"shares": 2, "period": 100000}},
        "cgroupsPath": cgroups_path,
        "namespaces": [{"type": n} for n in namespaces],
        "maskedPaths": MASKED_PATHS,
        "readonlyPaths": READONLY_PATHS,
    }
    if sec["seccomp"] == 2:
        linux["seccomp"] = SECCOMP_PROFILE
    spec["linux"] = linux
    return spec


def docker_files(node, cid, *, name, image, args, sec, pid, labels=None, user="", env=(), created,
                 privileged=False, cap_add=None, cap_drop=None, pids_limit=None, security_opt=None,
                 readonly=False, network="bridge", pid_mode="", cgroup_parent="", restart="no",
                 image_id=None, hostname=None):
    """var/lib/docker/containers/<id>/config.v2.json and hostconfig.json, as dockerd writes them (Go's
    encoding/json: one line, fields in struct order, & < > escaped)."""
    path = "var/lib/docker/containers/" + cid
    config = {
        "StreamConfig": {},
        "State": {"Running": True, "Paused": False, "Restarting": False, "OOMKilled": False,
                  "RemovalInProgress": False, "Dead": False, "Pid": pid, "ExitCode": 0, "Error": "",
                  "StartedAt": created.replace("00.1", "00.4"), "FinishedAt": "0001-01-01T00:00:00Z",
                  "Health": None},
        "ID": cid,
        "Created": created,
        "Managed": False,
        "Path": args[0],
        "Args": list(args[1:]),
        "Config": {"Hostname": hostname or cid[:12], "Domainname": "", "User": user, "AttachStdin": False,
                   "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
                   "StdinOnce": False, "Env": [DEFAULT_PATH_ENV] + list(env), "Cmd": list(args),
                   "Image": image, "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None,
                   "Labels": labels or {}},
        "Image": "sha256:" + (image_id or digest("image:" + image)),
        "NetworkSettings": {"Bridge": "", "SandboxID": digest("sandbox:" + cid), "HairpinMode": False,
                            "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Networks": {},
                            "Service": None, "Ports": None,
                            "SandboxKey": "/var/run/docker/netns/" + digest("sandbox:" + cid)[:12],
                            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
                            "IsAnonymousEndpoint": False, "HasSwarmEndpoint": False},
        "LogPath": "/%s/%s-json.log" % (path, cid),
        "Name": "/" + name,
        "Driver": "overlay2",
        "OS": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "RestartCount": 0,
        "HasBeenStartedBefore": True,
        "HasBeenManuallyStopped": False,
        "MountPoints": {},
        "SecretReferences": None,
        "ConfigReferences": None,
        "AppArmorProfile": "" if privileged else "docker-default",
        "HostnamePath": "/%s/hostname" % path,
        "HostsPath": "/%s/hosts" % path,
        "ShmPath": "/%s/mounts/shm" % path,
        "ResolvConfPath": "/%s/resolv.conf" % path,
        "SeccompProfile": "unconfined" if sec["seccomp"] == 0 else "",
        "NoNewPrivileges": sec["nnp"],
        "LocalLogCacheMeta": {"HaveNotifyEnabled": False},
    }
    text = json.dumps(config, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    node.file(path + "/config.v2.json", text)
    hostconfig = {
        "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": network, "PortBindings": {}, "RestartPolicy": {"Name": restart, "MaximumRetryCount": 0},
        "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "ConsoleSize": [0, 0],
        "CapAdd": cap_add, "CapDrop": cap_drop, "CgroupnsMode": "private", "Dns": [], "DnsOptions": [],
        "DnsSearch": [], "ExtraHosts": None, "GroupAdd": None, "IpcMode": "private", "Cgroup": "",
        "Links": None, "OomScoreAdj": 0, "PidMode": pid_mode, "Privileged": privileged,
        "PublishAllPorts": False, "ReadonlyRootfs": readonly, "SecurityOpt": security_opt, "UTSMode": "",
        "UsernsMode": "", "ShmSize": 67108864, "Runtime": "runc", "Isolation": "", "CpuShares": 0,
        "Memory": 0, "NanoCpus": 0, "CgroupParent": cgroup_parent, "BlkioWeight": 0, "PidsLimit": pids_limit,
        "MaskedPaths": None if privileged else MASKED_PATHS, "ReadonlyPaths": None if privileged else READONLY_PATHS,
    }
    node.file(path + "/hostconfig.json", json.dumps(hostconfig, separators=(",", ":")))
    node.file(path + "/hostname", (hostname or cid[:12]) + "\n")


def containerd_task(node, namespace, cid, spec, pid):
    """run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/: the bundle the shim runs."""
    base = "run/containerd/io.containerd.runtime.v2.task/%s/%s" % (namespace, cid)
    node.file(base + "/config.json", json.dumps(spec, separators=(",", ":"), ensure_ascii=False))
    node.file(base + "/init.pid", str(pid))
    node.file(base + "/address", "unix:///run/containerd/s/" + digest("shim:" + cid))
    node.file(base + "/runtime", "io.containerd.runc.v2")
    node.file(base + "/options.json", '{"type":"io.containerd.runc.v2.options"}')


def cri_log_lines(container, seed):
    """A few lines of a CRI-format container log (kubelet's /var/log/pods/.../N.log)."""
    h = int(digest("log:" + seed), 16)
    lines = []
    for i in range(3):
        lines.append("2024-05-14T09:%02d:%02d.%09dZ stdout F %s: ready (%d)\n"
                     % (10 + i, h % 60, (h >> 8) % 10**9, container, i))
    return "".join(lines)


# ---------------------------------------------------------------------------------------------------------
# Kubernetes


class Pod:
    """A pod: its names, its cgroup, and kubelet's log directory."""

    def __init__(self, node, *, namespace, name, owner, qos, driver, runtime, seed=None, has_logs=True):
        self.node = node
        self.has_logs = has_logs
        self.namespace = namespace
        self.name = name
        self.owner = owner  # the owning workload's name, as the model knows it (not parsed from the pod)
        self.qos = qos  # "burstable" | "besteffort" | "guaranteed"
        self.driver = driver  # "systemd" | "cgroupfs" | "containerd-service"
        self.runtime = runtime  # "containerd" | "cri-o" | "docker"
        self.uid = pod_uid(seed or "%s/%s/%s" % (node.name, namespace, name))
        self.uid_ = self.uid.replace("-", "_")
        self.log_dir = "var/log/pods/%s_%s_%s" % (namespace, name, self.uid)
        self.sandbox_id = None
        if driver == "systemd":
            if qos == "guaranteed":
                self.cgroup = "/kubepods.slice/kubepods-pod%s.slice" % self.uid_
            else:
                self.cgroup = "/kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice" % (qos, qos, self.uid_)
        elif driver == "cgroupfs":
            self.cgroup = "/kubepods/pod%s" % self.uid if qos == "guaranteed" else \
                "/kubepods/%s/pod%s" % (qos, self.uid)
        else:
            # kubelet on the systemd driver made the pod slice; runc, without SystemdCgroup, took the
            # "slice:prefix:id" cgroupsPath as a plain directory name under its own cgroup.
            slice_cg = "/kubepods.slice/kubepods-pod%s.slice" % self.uid_ if qos == "guaranteed" else \
                "/kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice" % (qos, qos, self.uid_)
            node.ensure_dir(slice_cg)
            self.cgroup = "/system.slice/containerd.service"
        node.ensure_dir(self.cgroup)

    def slice_name(self):
        return "kubepods-pod%s.slice" % self.uid_ if self.qos == "guaranteed" else \
            "kubepods-%s-pod%s.slice" % (self.qos, self.uid_)

    def container_cgroup(self, cid):
        if self.runtime == "cri-o":
            return "%s/crio-%s%s" % (self.cgroup, cid, ".scope" if self.driver == "systemd" else "")
        if self.driver == "systemd":
            prefix = "docker" if self.runtime == "docker" else "cri-containerd"
            return "%s/%s-%s.scope" % (self.cgroup, prefix, cid)
        if self.driver == "cgroupfs":
            return "%s/%s" % (self.cgroup, cid)
        return "%s/%s:cri-containerd:%s" % (self.cgroup, self.slice_name(), cid)

    def cgroups_path(self, cid):
        """The cgroupsPath the runtime put in the OCI spec."""
        if self.driver in ("systemd", "containerd-service"):
            prefix = {"cri-o": "crio", "docker": "docker"}.get(self.runtime, "cri-containerd")
            return "%s:%s:%s" % (self.slice_name(), prefix, cid)
        return self.container_cgroup(cid)

    def k8s(self, container):
        return {"namespace": self.namespace, "pod": self.name, "pod_uid": self.uid, "container": container}

    def write_log_dir(self):
        # kubelet makes the pod's log directory for every pod, whatever the runtime.
        if not self.has_logs:
            return
        self.node.file(self.log_dir + "/.keep", "")  # placeholder: git keeps no empty directories


def k8s_container(node, pod, container, image, *, sandbox=False, metadata="runtime", logs=True, restart=0,
                  args=None, sec=None, uid=0, gid=None, env=(), main_pid=None, image_id=None, pod_labels=None,
                  warnings=()):
    """A Kubernetes container: runtime state as containerd, CRI-O or dockershim write it, kubelet's logs,
    and the inventory entry the model expects.

    metadata: "runtime" -- the runtime's own state is on disk (containerd/CRI-O config.json annotations,
    or dockershim's config.v2.json labels); "none" -- it is not (names then come only from the kubelet's
    log tree)."""
    cid = container_id("%s/%s/%s/%s/%d" % (node.name, pod.namespace, pod.name, container, restart))
    if sandbox:
        pod.sandbox_id = cid
        container = "POD"
    cgroup = pod.container_cgroup(cid)
    gid = uid if gid is None else gid
    name = image_name = None
    k8s = pod.k8s(container)
    is_sandbox = False
    runtime = pod.runtime
    created = "2024-05-13T%02d:%02d:00.123456789Z" % (8 + int(cid[:2], 16) % 10, int(cid[2:4], 16) % 60)

    if metadata == "runtime" and pod.runtime == "containerd":
        if sandbox:
            annotations = {
                "io.kubernetes.cri.container-type": "sandbox",
                "io.kubernetes.cri.sandbox-id": cid,
                "io.kubernetes.cri.sandbox-namespace": pod.namespace,
                "io.kubernetes.cri.sandbox-uid": pod.uid,
                "io.kubernetes.cri.sandbox-name": pod.name,
                "io.kubernetes.cri.sandbox-log-directory": "/" + pod.log_dir,
                "io.kubernetes.cri.podsandbox.image-name": image,
                "io.kubernetes.cri.sandbox-cpu-period": "100000",
                "io.kubernetes.cri.sandbox-cpu-quota": "0",
                "io.kubernetes.cri.sandbox-cpu-shares": "2",
                "io.kubernetes.cri.sandbox-memory": "0",
            }
        else:
            annotations = {
                "io.kubernetes.cri.container-type": "container",
                "io.kubernetes.cri.sandbox-id": pod.sandbox_id,
                "io.kubernetes.cri.sandbox-namespace": pod.namespace,
                "io.kubernetes.cri.sandbox-uid": pod.uid,
                "io.kubernetes.cri.sandbox-name": pod.name,
                "io.kubernetes.cri.container-name": container,
                "io.kubernetes.cri.image-name": image,
            }
        spec = oci_spec(args, sec, uid=uid, gid=gid, env=env, annotations=annotations,
                        cgroups_path=pod.cgroups_path(cid), hostname=pod.name if sandbox else None)
        containerd_task(node, "k8s.io", cid, spec, main_pid)
        # containerd names a CRI container by its Kubernetes name ("POD" for the sandbox); the sandbox's
        # image is the pause image (io.kubernetes.cri.podsandbox.image-name, containerd >= 1.7).
        name, image_name, is_sandbox = container, image, sandbox
    elif metadata == "runtime" and pod.runtime == "cri-o":
        kind = "sandbox" if sandbox else "container"
        crio_name = "k8s_%s_%s_%s_%s_%d" % (container, pod.name, pod.namespace, pod.uid, restart)
        labels = {"io.kubernetes.container.name": container, "io.kubernetes.pod.name": pod.name,
                  "io.kubernetes.pod.namespace": pod.namespace, "io.kubernetes.pod.uid": pod.uid}
        annotations = {
            "io.container.manager": "cri-o",
            "io.kubernetes.container.name": container,
            "io.kubernetes.cri-o.Annotations": json.dumps({"io.kubernetes.container.hash": cid[:8],
                                                          "io.kubernetes.container.restartCount": str(restart)},
                                                         separators=(",", ":")),
            "io.kubernetes.cri-o.ContainerID": cid,
            "io.kubernetes.cri-o.ContainerType": kind,
            "io.kubernetes.cri-o.Created": created,
            "io.kubernetes.cri-o.Labels": json.dumps(labels, separators=(",", ":"), sort_keys=True),
            "io.kubernetes.cri-o.LogPath": "/%s/%s/%d.log" % (pod.log_dir, container, restart),
            "io.kubernetes.cri-o.Metadata": json.dumps({"name": container, "attempt": restart} if not sandbox
                                                       else {"name": pod.name, "uid": pod.uid,
                                                             "namespace": pod.namespace},
                                                       separators=(",", ":")),
            "io.kubernetes.cri-o.Name": crio_name,
            "io.kubernetes.cri-o.SandboxID": pod.sandbox_id or cid,
            "io.kubernetes.cri-o.SandboxName": "k8s_%s_%s_%s_0" % (pod.name, pod.namespace, pod.uid),
            "io.kubernetes.pod.name": pod.name,
            "io.kubernetes.pod.namespace": pod.namespace,
            "io.kubernetes.pod.uid": pod.uid,
        }
        if sandbox:
            # The infra container: the pause image is CRI-O's configuration, not an image reference it records.
            annotations["io.kubernetes.cri-o.HostName"] = pod.name
            annotations["io.kubernetes.cri-o.CgroupParent"] = pod.cgroup.rsplit("/", 1)[-1]
        else:
            annotations["io.kubernetes.cri-o.Image"] = "sha256:" + (image_id or digest("image:" + image))
            annotations["io.kubernetes.cri-o.ImageName"] = image
            annotations["io.kubernetes.cri-o.ImageRef"] = "sha256:" + (image_id or digest("image:" + image))
            annotations["io.kubernetes.cri-o.SeccompProfilePath"] = "RuntimeDefault" if sec["seccomp"] == 2 else ""
        spec = oci_spec(args, sec, uid=uid, gid=gid, env=env, annotations=dict(sorted(annotations.items())),
                        cgroups_path=pod.cgroups_path(cid), hostname=pod.name)
        # CRI-O saves the spec with tabs (generate.Generator.SaveToFile).
        base = "run/containers/storage/overlay-containers/%s/userdata" % cid
        node.file(base + "/config.json", json.dumps(spec, indent="\t", ensure_ascii=False))
        node.file(base + "/pidfile", str(main_pid))
        # CRI-O names a container by its Kubernetes name (POD for the infra container).
        name, is_sandbox = container, sandbox
        image_name = None if sandbox else image
    elif metadata == "runtime" and pod.runtime == "docker":
        # dockershim: a Docker container named k8s_<container>_<pod>_<namespace>_<uid>_<attempt>.
        docker_name = "k8s_%s_%s_%s_%s_%d" % (container, pod.name, pod.namespace, pod.uid, restart)
        labels = {
            "io.kubernetes.container.name": container,
            "io.kubernetes.docker.type": "podsandbox" if sandbox else "container",
            "io.kubernetes.pod.name": pod.name,
            "io.kubernetes.pod.namespace": pod.namespace,
            "io.kubernetes.pod.uid": pod.uid,
        }
        if sandbox:
            labels["annotation.kubernetes.io/config.seen"] = "2024-05-13T08:00:00.000000000Z"
            labels["annotation.kubernetes.io/config.source"] = "api"
            labels.update(pod_labels or {})
        else:
            labels["io.kubernetes.sandbox.id"] = pod.sandbox_id
            labels["annotation.io.kubernetes.container.hash"] = cid[:8]
            labels["annotation.io.kubernetes.container.restartCount"] = str(restart)
            labels["annotation.io.kubernetes.container.terminationMessagePath"] = "/dev/termination-log"
            labels["annotation.io.kubernetes.container.terminationMessagePolicy"] = "File"
        docker_files(node, cid, name=docker_name, image=image, args=args, sec=sec, pid=main_pid,
                     labels=dict(sorted(labels.items())), user="" if uid == 0 else "%d:%d" % (uid, gid),
                     env=env, created=created, cgroup_parent=pod.cgroup,
                     network="none" if sandbox else "container:" + pod.sandbox_id,
                     security_opt=["seccomp=unconfined"] if sec["seccomp"] == 0 else None,
                     privileged=sec["bnd"] == all_caps(node.cap_last))
        # Docker >= 20.10 runs every container as a containerd task in the "moby" namespace; that task's
        # spec carries no names (they are Docker's, in config.v2.json).
        spec = oci_spec(args, sec, uid=uid, gid=gid, env=env, cgroups_path=cgroup)
        containerd_task(node, "moby", cid, spec, main_pid)
        name, image_name, is_sandbox = docker_name, image, sandbox
        runtime = "docker"
    elif not pod.has_logs:
        # Nothing on disk names it: only the pod uid in its cgroup path is known, and Vigil says so.
        k8s = {"namespace": None, "pod": None, "pod_uid": pod.uid, "container": None}
        warnings = list(warnings) + ["container %s in pod %s: no pod names found in var/log/pods or runtime state"
                                     % (cid[:12], pod.uid)]
    else:
        # No runtime state: names only from the kubelet's log tree. A sandbox writes no log, so all that is
        # known of it is its pod (from var/log/pods/<namespace>_<pod>_<uid>/).
        if sandbox:
            k8s = pod.k8s(None)
        else:
            name = container
    if logs and not sandbox and pod.has_logs:
        log = "%s/%s/%d.log" % (pod.log_dir, container, restart)
        node.file(log, cri_log_lines(container, cid))
        node.link("var/log/containers/%s_%s_%s-%s.log" % (pod.name, pod.namespace, container, cid), "/" + log)
    pod.write_log_dir()
    return node.container(cid=cid, runtime=runtime, cgroup=cgroup, name=name, image=image_name, k8s=k8s,
                          sandbox=is_sandbox, owner=pod.owner, warnings=warnings)


def pause(node, pod, pid, *, shim, start=None, metadata="runtime", uid=65535, sec=None,
          image="registry.k8s.io/pause:3.9", ns_pid=True):
    """The pod's sandbox: pause, PID 1 of the pod's namespaces."""
    sec = sec or security(DOCKER_DEFAULT, uid=uid, nnp=True, seccomp=2)
    c = k8s_container(node, pod, "POD", image, sandbox=True, metadata=metadata, args=["/pause"], sec=sec,
                      uid=uid, main_pid=pid)
    c.proc(pid, shim, "pause", ["/pause"], "/pause", sec, uid=uid, ns=[1] if ns_pid else None, start=start)
    return c


# ---------------------------------------------------------------------------------------------------------
# Host processes every systemd node has

JOURNALD_CAPS = caps("CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "SETGID", "SETUID", "SYS_ADMIN",
                     "SYS_PTRACE", "SYSLOG", "AUDIT_CONTROL", "AUDIT_READ", "MAC_OVERRIDE", "SYS_RESOURCE")


def host_base(node, *, ssh_unit="ssh.service"):
    """PID 1, a few kernel threads, journald and sshd."""
    root = security(all_caps(node.cap_last), seccomp=0)
    node.proc(1, 0, "systemd", ["/sbin/init"], "/usr/lib/systemd/systemd", root, cgroup="/init.scope", start=4,
              session=1)
    node.kthread(2, "kthreadd", start=4)
    node.kthread(3, "rcu_gp", start=4)
    node.kthread(47, "kworker/0:1-events", start=96)  # a workqueue worker's comm names its queue (> 15 bytes)
    node.proc(312, 1, "systemd-journal", ["/lib/systemd/systemd-journald"], "/usr/lib/systemd/systemd-journald",
              security(JOURNALD_CAPS, seccomp=2), cgroup="/system.slice/systemd-journald.service", start=310)
    node.proc(498, 1, "sshd", ["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"], "/usr/sbin/sshd",
              root, cgroup="/system.slice/" + ssh_unit, start=402)
    return root


def shim(node, pid, sandbox_seed, namespace="k8s.io", cgroup="/system.slice/containerd.service"):
    root = security(all_caps(node.cap_last), seccomp=0)
    return node.proc(pid, 1, "containerd-shim", ["/usr/bin/containerd-shim-runc-v2", "-namespace", namespace,
                                                 "-id", sandbox_seed, "-address", "/run/containerd/containerd.sock"],
                     "/usr/bin/containerd-shim-runc-v2", root, cgroup=cgroup, threads=11)


def login_session(node, *, base_pid, user="alice", uid=1000, session=3):
    """An ssh login: sshd's privileged and user halves in the session scope, a shell, and the user manager."""
    root = security(all_caps(node.cap_last), seccomp=0)
    user_sec = security(all_caps(node.cap_last), uid=uid, seccomp=0)
    scope = "/user.slice/user-%d.slice/session-%d.scope" % (uid, session)
    manager = "/user.slice/user-%d.slice/user@%d.service/init.scope" % (uid, uid)
    p = base_pid
    node.proc(p, 498, "sshd", ["sshd: %s [priv]" % user], "/usr/sbin/sshd", root, cgroup=scope)
    node.proc(p + 5, 1, "systemd", ["/lib/systemd/systemd", "--user"], "/usr/lib/systemd/systemd", user_sec,
              uid=uid, cgroup=manager, groups=[uid])
    node.proc(p + 6, p + 5, "(sd-pam)", ["(sd-pam)"], "/usr/lib/systemd/systemd", user_sec, uid=uid,
              cgroup=manager, groups=[uid])
    node.proc(p + 12, p, "sshd", ["sshd: %s@pts/0" % user], "/usr/sbin/sshd", user_sec, uid=uid, cgroup=scope,
              groups=[uid])
    node.proc(p + 13, p + 12, "bash", ["-bash"], "/usr/bin/bash", user_sec, uid=uid, cgroup=scope, tty=34816,
              groups=[uid, 27], pgrp=p + 13, session=p + 13)
    return p + 13


# ---------------------------------------------------------------------------------------------------------
# The fixtures


def k8s_containerd_systemd_v2():
    """Kubernetes on containerd with the systemd cgroup driver, pure cgroup v2 (Debian 12, kernel 6.1)."""
    node = Node("k8s-containerd-systemd-v2", hostname="worker-1", mode="unified", kernel="6.1")
    root = host_base(node)
    node.proc(612, 1, "containerd", ["/usr/bin/containerd"], "/usr/bin/containerd", root,
              cgroup="/system.slice/containerd.service", threads=16, start=520)
    node.proc(640, 1, "kubelet", ["/usr/bin/kubelet", "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
                                  "--kubeconfig=/etc/kubernetes/kubelet.conf", "--config=/var/lib/kubelet/config.yaml",
                                  "--container-runtime-endpoint=unix:///run/containerd/containerd.sock",
                                  "--pod-infra-container-image=registry.k8s.io/pause:3.9"],
              "/usr/bin/kubelet", root, cgroup="/system.slice/kubelet.service", threads=22, start=544)
    # FUSE daemons started by systemd mount units stay in the unit's cgroup: host processes, not containers.
    node.proc(702, 1, "sshfs", ["sshfs", "backup@nas.lan:/srv/backup", "/mnt/backup", "-o",
                                "allow_other,reconnect,IdentityFile=/root/.ssh/backup"],
              "/usr/bin/sshfs", root, cgroup="/system.slice/mnt-backup.mount", threads=3, start=590)
    node.proc(705, 702, "ssh", ["ssh", "-x", "-a", "-oClearAllForwardings=yes", "-oIdentityFile=/root/.ssh/backup",
                                "-2", "backup@nas.lan", "-s", "sftp"],
              "/usr/bin/ssh", root, cgroup="/system.slice/mnt-backup.mount", start=591)
    node.proc(731, 1, "s3fs", ["s3fs", "models-bucket", "/media/models", "-o", "iam_role=auto,allow_other,ro"],
              "/usr/bin/s3fs", root, cgroup="/system.slice/media-models.mount", threads=7, start=600)
    bash = login_session(node, base_pid=3100)
    node.proc(3187, bash, "kubectl", ["kubectl", "-n", "shop", "exec", "-it", "deploy/web", "--", "sh"],
              "/usr/local/bin/kubectl", security(all_caps(40), uid=1000, seccomp=0), uid=1000,
              cgroup="/user.slice/user-1000.slice/session-3.scope", tty=34816, threads=9, pgrp=3187, session=bash)

    # shop/web: a Deployment (pod name <deployment>-<pod-template-hash>-<5>), Burstable; names from
    # containerd's annotations. nginx may only chown, switch users and bind :80.
    web = Pod(node, namespace="shop", name="web-%s-%s" % (rand_suffix("web-rs", 10), rand_suffix("web-pod")),
              owner="web", qos="burstable", driver="systemd", runtime="containerd")
    shim(node, 1201, "web")
    pause(node, web, 1220, shim=1201)
    nginx_sec = security(caps("CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"), seccomp=2)
    c = k8s_container(node, web, "nginx", "docker.io/library/nginx:1.25.3", args=["nginx", "-g", "daemon off;"],
                      sec=nginx_sec, main_pid=1245)
    c.proc(1245, 1201, "nginx", ["nginx: master process nginx -g daemon off;"], "/usr/sbin/nginx", nginx_sec, ns=[1])
    worker = security(nginx_sec["bnd"], uid=101)
    c.proc(1290, 1245, "nginx", ["nginx: worker process"], "/usr/sbin/nginx", worker, uid=101, ns=[29])
    c.proc(1291, 1245, "nginx", ["nginx: worker process"], "/usr/sbin/nginx", worker, uid=101, ns=[30])
    # `kubectl exec -it ... -- sh`: runc exec makes the shell a child of the shim; it starts a tail.
    c.proc(2210, 1201, "sh", ["sh"], "/usr/bin/dash", nginx_sec, ns=[47], tty=34816, pgrp=2210, session=2210)
    c.proc(2231, 2210, "tail", ["tail", "-f", "/var/log/nginx/access.log"], "/usr/bin/tail", nginx_sec, ns=[53],
           tty=34816, pgrp=2231, session=2210)
    exporter = security(0, uid=65534, nnp=True, seccomp=2)
    c = k8s_container(node, web, "exporter", "docker.io/nginx/nginx-prometheus-exporter:1.1.0",
                      args=["/usr/bin/nginx-prometheus-exporter", "--nginx.scrape-uri=http://127.0.0.1:8080/stub_status"],
                      sec=exporter, uid=65534, main_pid=1262)
    # comm is the executable's name cut to 15 bytes.
    c.proc(1262, 1201, "nginx-prometheu", ["/usr/bin/nginx-prometheus-exporter",
                                           "--nginx.scrape-uri=http://127.0.0.1:8080/stub_status"],
           "/usr/bin/nginx-prometheus-exporter", exporter, uid=65534, threads=6, ns=[1])

    # shop/db-0: a StatefulSet, Guaranteed (the pod slice sits directly in kubepods.slice).
    db = Pod(node, namespace="shop", name="db-0", owner="db", qos="guaranteed", driver="systemd",
             runtime="containerd")
    shim(node, 1301, "db")
    pause(node, db, 1320, shim=1301)
    pg = security(DOCKER_DEFAULT, uid=999, seccomp=2)
    c = k8s_container(node, db, "postgres", "docker.io/library/postgres:16.2", args=["docker-entrypoint.sh", "postgres"],
                      sec=pg, uid=999, main_pid=1350)
    c.proc(1350, 1301, "postgres", ["postgres"], "/usr/lib/postgresql/16/bin/postgres", pg, uid=999, ns=[1])
    for offset, title in [(21, "checkpointer "), (22, "background writer "), (24, "walwriter "),
                          (25, "autovacuum launcher "), (26, "logical replication launcher ")]:
        # postgres retitles its children (setproctitle): one argument, with a trailing space.
        c.proc(1350 + offset, 1350, "postgres", ["postgres: " + title], "/usr/lib/postgresql/16/bin/postgres", pg,
               uid=999, ns=[offset + 1])

    # monitoring/node-exporter-<5>: a DaemonSet with hostPID (one PID namespace: NSpid has one entry), no
    # seccomp. No containerd state on disk for this pod: names only from /var/log/containers and /var/log/pods.
    nx = Pod(node, namespace="monitoring", name="node-exporter-" + rand_suffix("node-exporter-pod"),
             owner="node-exporter", qos="besteffort", driver="systemd", runtime="containerd")
    shim(node, 1401, "node-exporter")
    pause(node, nx, 1420, shim=1401, metadata="none", ns_pid=False)
    ne = security(DOCKER_DEFAULT, uid=65534, nnp=True, seccomp=0)
    c = k8s_container(node, nx, "node-exporter", "quay.io/prometheus/node-exporter:v1.7.0", metadata="none")
    c.proc(1433, 1401, "node_exporter", ["/bin/node_exporter", "--path.rootfs=/host", "--path.procfs=/host/proc",
                                         "--path.sysfs=/host/sys"], "/bin/node_exporter", ne, uid=65534, threads=8)

    # shop/backup-<scheduled minute>-<5>: a CronJob's Job's pod; names only from the kubelet's logs. A shell
    # with a pipeline of two children.
    bk = Pod(node, namespace="shop", name="backup-28561020-" + rand_suffix("backup-pod"), owner="backup",
             qos="besteffort", driver="systemd", runtime="containerd")
    shim(node, 1501, "backup")
    pause(node, bk, 1520, shim=1501, metadata="none")
    c = k8s_container(node, bk, "pg-dump", "docker.io/library/postgres:16.2", metadata="none")
    c.proc(1533, 1501, "sh", ["/bin/sh", "-c",
                              "pg_dump -h db-0.db.shop.svc -U app shop | gzip -9 > /backup/shop-$(date +%F).sql.gz"],
           "/usr/bin/dash", pg, uid=999, ns=[1])
    c.proc(1540, 1533, "pg_dump", ["pg_dump", "-h", "db-0.db.shop.svc", "-U", "app", "shop"],
           "/usr/lib/postgresql/16/bin/pg_dump", pg, uid=999, ns=[7])
    c.proc(1541, 1533, "gzip", ["gzip", "-9"], "/usr/bin/gzip", pg, uid=999, ns=[8])

    # kube-system/kube-proxy-<5>: a privileged DaemonSet pod (every capability, no seccomp), restarted once:
    # the first attempt's log and link are still there, its container is gone.
    kp = Pod(node, namespace="kube-system", name="kube-proxy-" + rand_suffix("kube-proxy-pod"), owner="kube-proxy",
             qos="burstable", driver="systemd", runtime="containerd")
    shim(node, 1601, "kube-proxy")
    pause(node, kp, 1620, shim=1601)
    priv = security(all_caps(40), seccomp=0)
    c = k8s_container(node, kp, "kube-proxy", "registry.k8s.io/kube-proxy:v1.29.3", restart=1, sec=priv,
                      args=["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                            "--hostname-override=worker-1"], main_pid=1633)
    c.proc(1633, 1601, "kube-proxy", ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                                      "--hostname-override=worker-1"], "/usr/local/bin/kube-proxy", priv, threads=9,
           ns=[1])
    old = container_id("%s/%s/%s/%s/%d" % (node.name, kp.namespace, kp.name, "kube-proxy", 0))
    node.file("%s/kube-proxy/0.log" % kp.log_dir, cri_log_lines("kube-proxy", old))
    node.link("var/log/containers/%s_%s_kube-proxy-%s.log" % (kp.name, kp.namespace, old),
              "/%s/kube-proxy/0.log" % kp.log_dir)
    return node, True



def k8s_cgroupfs_legacy():
    """Kubernetes with the cgroupfs driver on cgroup v1 only (Ubuntu 18.04, kernel 5.4: cap_last_cap is 37,
    no CAP_PERFMON, CAP_BPF, CAP_CHECKPOINT_RESTORE). Most pods run on Docker through dockershim (names in
    Docker's config.v2.json labels, and each Docker container is also a containerd task in namespace
    "moby"); a StatefulSet pod runs on containerd's CRI (annotations); a Job's pod has only the kubelet's logs.
    A plain `docker run` container shares the node. The pods' cgroup paths do not name the runtime."""
    node = Node("k8s-cgroupfs-legacy", hostname="legacy-node-3", mode="legacy", kernel="5.4", cap_last=37)
    root = host_base(node)
    node.proc(590, 1, "containerd", ["/usr/bin/containerd"], "/usr/bin/containerd", root,
              cgroup="/system.slice/containerd.service", threads=14, start=480)
    node.proc(611, 1, "dockerd", ["/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"],
              "/usr/bin/dockerd", root, cgroup="/system.slice/docker.service", threads=21, start=500)
    node.proc(650, 1, "kubelet", ["/usr/bin/kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf",
                                  "--config=/var/lib/kubelet/config.yaml", "--cgroup-driver=cgroupfs",
                                  "--network-plugin=cni", "--pod-infra-container-image=k8s.gcr.io/pause:3.5"],
              "/usr/bin/kubelet", root, cgroup="/system.slice/kubelet.service", threads=19, start=530)
    docker_pause = "k8s.gcr.io/pause:3.5"

    # default/debug-shell: a bare pod (no owner): dockershim, no seccomp (dockershim's default), a shell
    # and its child.
    dbg = Pod(node, namespace="default", name="debug-shell", owner="debug-shell", qos="besteffort",
              driver="cgroupfs", runtime="docker")
    shim(node, 1101, "debug-shell", namespace="moby")
    pause(node, dbg, 1120, shim=1101, image=docker_pause, sec=security(DOCKER_DEFAULT, uid=65535, seccomp=0))
    sh_sec = security(DOCKER_DEFAULT, seccomp=0)
    busybox_id = digest("image:busybox:1.36")
    c = k8s_container(node, dbg, "shell", "sha256:" + busybox_id, args=["sh", "-c", "sleep 3600"], sec=sh_sec,
                      main_pid=1135, image_id=busybox_id)
    c.proc(1135, 1101, "sh", ["sh", "-c", "sleep 3600; echo done"], "/bin/busybox", sh_sec, ns=[1])
    c.proc(1141, 1135, "sleep", ["sleep", "3600"], "/bin/busybox", sh_sec, ns=[7])

    # kube-system/coredns-<hash>-<5>: a Deployment, Burstable, dockershim (kubelet handed Docker the image id).
    dns = Pod(node, namespace="kube-system", name="coredns-%s-%s" % (rand_suffix("coredns-rs", 9),
                                                                   rand_suffix("coredns-pod")),
              owner="coredns", qos="burstable", driver="cgroupfs", runtime="docker")
    shim(node, 1201, "coredns", namespace="moby")
    pause(node, dns, 1220, shim=1201, image=docker_pause)
    dns_sec = security(caps("NET_BIND_SERVICE"), nnp=True, seccomp=2)
    coredns_id = digest("image:registry.k8s.io/coredns/coredns:v1.8.6")
    c = k8s_container(node, dns, "coredns", "sha256:" + coredns_id, args=["/coredns", "-conf", "/etc/coredns/Corefile"],
                      sec=dns_sec, main_pid=1240, image_id=coredns_id)
    c.proc(1240, 1201, "coredns", ["/coredns", "-conf", "/etc/coredns/Corefile"], "/coredns", dns_sec, threads=12,
           ns=[1])

    # kube-system/kube-proxy-<5>: a privileged DaemonSet pod on dockershim: every capability this kernel has.
    kp = Pod(node, namespace="kube-system", name="kube-proxy-" + rand_suffix("legacy-kube-proxy"),
             owner="kube-proxy", qos="burstable", driver="cgroupfs", runtime="docker")
    shim(node, 1301, "kube-proxy", namespace="moby")
    pause(node, kp, 1320, shim=1301, image=docker_pause)
    priv = security(all_caps(37), seccomp=0)
    c = k8s_container(node, kp, "kube-proxy", "k8s.gcr.io/kube-proxy:v1.22.17", sec=priv, main_pid=1333,
                      args=["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf"])
    c.proc(1333, 1301, "kube-proxy", ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                                      "--hostname-override=legacy-node-3"], "/usr/local/bin/kube-proxy", priv,
           threads=8, ns=[1])

    # monitoring/prometheus-0: a StatefulSet, Guaranteed (/kubepods/pod<uid>/...), on containerd's CRI.
    prom = Pod(node, namespace="monitoring", name="prometheus-0", owner="prometheus", qos="guaranteed",
               driver="cgroupfs", runtime="containerd")
    shim(node, 1401, "prometheus")
    pause(node, prom, 1420, shim=1401, image="registry.k8s.io/pause:3.6")
    prom_sec = security(DOCKER_DEFAULT, uid=65534, seccomp=2)
    c = k8s_container(node, prom, "prometheus", "quay.io/prometheus/prometheus:v2.37.0", sec=prom_sec, uid=65534,
                      args=["/bin/prometheus", "--config.file=/etc/prometheus/prometheus.yml",
                            "--storage.tsdb.path=/prometheus"], main_pid=1436)
    c.proc(1436, 1401, "prometheus", ["/bin/prometheus", "--config.file=/etc/prometheus/prometheus.yml",
                                      "--storage.tsdb.path=/prometheus"], "/bin/prometheus", prom_sec, uid=65534,
           threads=14, ns=[1])

    # batch/migrate-<5>: a Job's pod (<job>-<5>), BestEffort; only the kubelet's logs name it.
    mig = Pod(node, namespace="batch", name="migrate-" + rand_suffix("migrate-pod"), owner="migrate",
              qos="besteffort", driver="cgroupfs", runtime="containerd")
    shim(node, 1501, "migrate")
    pause(node, mig, 1520, shim=1501, metadata="none", image="registry.k8s.io/pause:3.6")
    mig_sec = security(DOCKER_DEFAULT, uid=1000, seccomp=2)
    c = k8s_container(node, mig, "migrate", "ghcr.io/acme/app:2.4.0", metadata="none")
    c.proc(1533, 1501, "python", ["python", "manage.py", "migrate", "--noinput"], "/usr/local/bin/python3.11",
           mig_sec, uid=1000, ns=[1])

    # A container started by hand with `docker run -d --name local-registry registry:2` (cgroupfs: /docker/<id>).
    reg_id = container_id("legacy/local-registry")
    shim(node, 1601, reg_id, namespace="moby")
    reg_sec = security(DOCKER_DEFAULT, seccomp=2)
    reg = node.container(cid=reg_id, runtime="docker", cgroup="/docker/" + reg_id, name="local-registry",
                         image="registry:2")
    reg.proc(1620, 1601, "registry", ["registry", "serve", "/etc/docker/registry/config.yml"], "/bin/registry",
             reg_sec, threads=7, ns=[1])
    docker_files(node, reg_id, name="local-registry", image="registry:2", pid=1620, sec=reg_sec,
                 args=["/entrypoint.sh", "/etc/docker/registry/config.yml"], created="2024-05-10T07:00:00.123456789Z",
                 restart="always")
    containerd_task(node, "moby", reg_id, oci_spec(["/entrypoint.sh", "/etc/docker/registry/config.yml"], reg_sec,
                                                   cgroups_path="/docker/" + reg_id), 1620)
    return node, False



def containerd_cgroupfs_v2():
    """containerd without SystemdCgroup under a kubelet on the systemd driver: runc takes the cgroupsPath
    "kubepods-<qos>-pod<uid_>.slice:cri-containerd:<id>" as a plain directory name below its own cgroup,
    /system.slice/containerd.service (the kubelet's pod slices stay empty). Also containers started with
    `ctr run` (containerd standalone: /default/<id>). Pure cgroup v2, kernel 6.1."""
    node = Node("containerd-cgroupfs-v2", hostname="edge-gw-2", mode="unified", kernel="6.1")
    root = host_base(node)
    service = "/system.slice/containerd.service"
    node.proc(600, 1, "containerd", ["/usr/local/bin/containerd"], "/usr/local/bin/containerd", root, cgroup=service,
              threads=15, start=470)
    node.proc(630, 1, "kubelet", ["/usr/local/bin/kubelet", "--config=/var/lib/kubelet/config.yaml",
                                  "--kubeconfig=/etc/kubernetes/kubelet.conf",
                                  "--container-runtime-endpoint=unix:///run/containerd/containerd.sock"],
              "/usr/local/bin/kubelet", root, cgroup="/system.slice/kubelet.service", threads=18, start=490)

    # ingress/haproxy-<hash>-<5>: a Deployment, BestEffort; haproxy's master runs as root with a few
    # capabilities, its worker as uid 99.
    hp = Pod(node, namespace="ingress", name="haproxy-%s-%s" % (rand_suffix("haproxy-rs", 10), rand_suffix("haproxy-pod")),
             owner="haproxy", qos="besteffort", driver="containerd-service", runtime="containerd")
    shim(node, 1101, "haproxy")
    pause(node, hp, 1120, shim=1101)
    hp_sec = security(caps("CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE", "KILL"), nnp=False, seccomp=2)
    c = k8s_container(node, hp, "haproxy", "docker.io/library/haproxy:2.9.7",
                      args=["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"], sec=hp_sec,
                      main_pid=1140)
    c.proc(1140, 1101, "haproxy", ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
           "/usr/local/sbin/haproxy", hp_sec, ns=[1])
    c.proc(1152, 1140, "haproxy", ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
           "/usr/local/sbin/haproxy", security(hp_sec["bnd"], uid=99), uid=99, threads=4, ns=[8])

    # security/vault-0: a StatefulSet, Guaranteed. Vault runs as uid 100, yet holds IPC_LOCK: its binary has
    # the file capability cap_ipc_lock+ep (so permitted and effective, nothing inheritable or ambient).
    vault = Pod(node, namespace="security", name="vault-0", owner="vault", qos="guaranteed",
                driver="containerd-service", runtime="containerd")
    shim(node, 1201, "vault")
    pause(node, vault, 1220, shim=1201)
    vsec = security(DOCKER_DEFAULT | caps("IPC_LOCK"), uid=100, seccomp=2)
    vsec = dict(vsec, prm=caps("IPC_LOCK"), eff=caps("IPC_LOCK"))
    c = k8s_container(node, vault, "vault", "docker.io/hashicorp/vault:1.16", sec=vsec, uid=100, gid=1000,
                      args=["vault", "server", "-config=/vault/config"], main_pid=1236)
    c.proc(1236, 1201, "vault", ["vault", "server", "-config=/vault/config"], "/bin/vault", vsec, uid=100, gid=1000,
           threads=13, ns=[1])

    # kube-system/fluent-bit-<5>: a DaemonSet, Burstable; no containerd state on disk for it, only logs.
    fb = Pod(node, namespace="kube-system", name="fluent-bit-" + rand_suffix("fluent-bit-pod"), owner="fluent-bit",
             qos="burstable", driver="containerd-service", runtime="containerd")
    shim(node, 1301, "fluent-bit")
    pause(node, fb, 1320, shim=1301, metadata="none")
    fsec = security(DOCKER_DEFAULT, seccomp=2)
    c = k8s_container(node, fb, "fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.0.4", metadata="none")
    c.proc(1335, 1301, "fluent-bit", ["/fluent-bit/bin/fluent-bit", "-c", "/fluent-bit/etc/fluent-bit.conf"],
           "/fluent-bit/bin/fluent-bit", fsec, threads=6, ns=[1])

    # kube-system/etcd-edge-gw-2: a static pod whose logs were removed and whose containerd state is not
    # on disk: only the pod uid in the cgroup path is known, and Vigil warns about each container.
    etcd = Pod(node, namespace="kube-system", name="etcd-edge-gw-2", owner="etcd-edge-gw-2", qos="burstable",
               driver="containerd-service", runtime="containerd", has_logs=False)
    shim(node, 1401, "etcd")
    pause(node, etcd, 1420, shim=1401, metadata="none")
    esec = security(DOCKER_DEFAULT, seccomp=0)
    c = k8s_container(node, etcd, "etcd", "registry.k8s.io/etcd:3.5.12-0", metadata="none")
    c.proc(1433, 1401, "etcd", ["etcd", "--data-dir=/var/lib/etcd", "--name=edge-gw-2",
                                "--listen-client-urls=https://127.0.0.1:2379"], "/usr/local/bin/etcd", esec,
           threads=11, ns=[1])

    # `ctr run -d docker.io/library/registry:2 registry-mirror`: containerd standalone, cgroup /default/<id>;
    # the id is the only name containerd has.
    ctr_sec = security(DOCKER_DEFAULT, seccomp=2)
    shim(node, 1501, "registry-mirror", namespace="default")
    mirror = node.container(cid="registry-mirror", runtime="containerd", cgroup="/default/registry-mirror",
                            name="registry-mirror", image=None)
    mirror.proc(1515, 1501, "registry", ["registry", "serve", "/etc/docker/registry/config.yml"], "/bin/registry",
                ctr_sec, threads=8, ns=[1])
    containerd_task(node, "default", "registry-mirror",
                    oci_spec(["/entrypoint.sh", "/etc/docker/registry/config.yml"], ctr_sec,
                             cgroups_path="/default/registry-mirror", namespaces=("pid", "ipc", "uts", "mount")), 1515)
    # ... and one run under a generated 64-hex id, with a shell and its child.
    hexid = container_id("edge-gw-2/ctr-run")
    shim(node, 1601, hexid, namespace="default")
    job = node.container(cid=hexid, runtime="containerd", cgroup="/default/" + hexid, name=hexid, image=None)
    job.proc(1612, 1601, "sh", ["sh", "-c", "while true; do wget -q -O- http://127.0.0.1:5000/v2/; sleep 30; done"],
             "/bin/busybox", ctr_sec, ns=[1])
    job.proc(1650, 1612, "sleep", ["sleep", "30"], "/bin/busybox", ctr_sec, ns=[9])
    containerd_task(node, "default", hexid, oci_spec(["sh", "-c", "..."], ctr_sec, cgroups_path="/default/" + hexid),
                    1612)
    return node, False


def conmon(node, pid, cid, pod, container, cgroup, *, runtime_path="/usr/bin/crun"):
    """CRI-O's per-container monitor: a host process in its own crio-conmon-<id> cgroup."""
    root = security(all_caps(node.cap_last), seccomp=0)
    userdata = "/run/containers/storage/overlay-containers/%s/userdata" % cid
    return node.proc(pid, 1, "conmon", [
        "/usr/bin/conmon", "-b", userdata, "-c", cid, "--exit-dir", "/var/run/crio/exits",
        "-l", "/%s/%s/0.log" % (pod.log_dir, container), "--log-level", "info",
        "-n", "k8s_%s_%s_%s_%s_0" % (container, pod.name, pod.namespace, pod.uid),
        "-P", userdata + "/conmon-pidfile", "-p", userdata + "/pidfile",
        "--persist-dir", "/var/lib/containers/storage/overlay-containers/%s/userdata" % cid,
        "-r", runtime_path, "--runtime-arg", "--root=/run/crun", "--socket-dir-path", "/var/run/crio",
        "--syslog", "-u", cid, "-s"], "/usr/bin/conmon", root, cgroup=cgroup)


def crio_pod_container(node, pod, name, image, *, conmon_pid, main_pid, sec, uid=0, gid=None, args, sandbox=False):
    """A CRI-O container and its conmon sibling (conmon_cgroup = "pod"), which is a host process."""
    c = k8s_container(node, pod, name, image, sandbox=sandbox, args=args, sec=sec, uid=uid, gid=gid, main_pid=main_pid)
    suffix = ".scope" if pod.driver == "systemd" else ""
    conmon(node, conmon_pid, c.id, pod, "POD" if sandbox else name, "%s/crio-conmon-%s%s" % (pod.cgroup, c.id, suffix))
    return c


def crio_v2():
    """CRI-O with the systemd cgroup manager on cgroup v2 (RHEL 9 style, kernel 5.14: the 5.15 layout of
    /proc). Each container has a crio-<id>.scope and, beside it, its monitor's crio-conmon-<id>.scope: conmon
    is not a container and its process is not reported. Most pods have no infra container (drop_infra_ctr);
    one shares its PID namespace and so has one. A pod left from a cgroupfs-manager configuration sits at
    /kubepods/burstable/pod<uid>/crio-<id>."""
    node = Node("crio-v2", hostname="ocp-worker-0.lab", mode="unified", kernel="5.15")
    root = host_base(node, ssh_unit="sshd.service")
    node.proc(604, 1, "crio", ["/usr/bin/crio"], "/usr/bin/crio", root, cgroup="/system.slice/crio.service",
              threads=20, start=460)
    node.proc(633, 1, "kubelet", ["/usr/bin/kubelet", "--config=/etc/kubernetes/kubelet.conf",
                                  "--container-runtime-endpoint=/var/run/crio/crio.sock"],
              "/usr/bin/kubelet", root, cgroup="/system.slice/kubelet.service", threads=23, start=488)

    # shop/cart-<hash>-<5>: root with exactly CRI-O's default capabilities (0x5fb: "cri-o default").
    cart = Pod(node, namespace="shop", name="cart-%s-%s" % (rand_suffix("cart-rs", 10), rand_suffix("cart-pod")),
               owner="cart", qos="burstable", driver="systemd", runtime="cri-o")
    csec = security(CRIO_DEFAULT, seccomp=2)
    c = crio_pod_container(node, cart, "cart", "quay.io/acme/cart:2.3.1", conmon_pid=1100, main_pid=1104, sec=csec,
                           args=["sh", "/entrypoint.sh"])
    c.proc(1104, 1100, "sh", ["sh", "/entrypoint.sh"], "/usr/bin/bash", csec, ns=[1])
    c.proc(1119, 1104, "node", ["node", "server.js"], "/usr/local/bin/node", csec, threads=11, ns=[7])

    # shop/worker-<hash>-<5>: shareProcessNamespace, so CRI-O keeps the infra (pause) container, PID 1 of the
    # pod's PID namespace; the worker is PID 7 in it.
    wk = Pod(node, namespace="shop", name="worker-%s-%s" % (rand_suffix("worker-rs", 9), rand_suffix("worker-pod")),
             owner="worker", qos="burstable", driver="systemd", runtime="cri-o")
    infra_sec = security(CRIO_DEFAULT, seccomp=2)
    c = crio_pod_container(node, wk, "POD", "registry.k8s.io/pause:3.9", sandbox=True, conmon_pid=1200, main_pid=1203,
                           sec=infra_sec, args=["/pause"])
    c.proc(1203, 1200, "pause", ["/pause"], "/pause", infra_sec, ns=[1])
    wsec = security(CRIO_DEFAULT, uid=1001, nnp=True, seccomp=2)
    c = crio_pod_container(node, wk, "worker", "quay.io/acme/worker:2.3.1", conmon_pid=1230, main_pid=1236, sec=wsec,
                           uid=1001, gid=0, args=["python", "-m", "worker"])
    c.proc(1236, 1230, "python", ["python", "-m", "worker", "--queue", "orders"], "/usr/bin/python3.11", wsec,
           uid=1001, gid=0, threads=3, ns=[7])

    # kube-system/node-local-dns-<5>: a DaemonSet, BestEffort, with NET_ADMIN added to CRI-O's defaults.
    nld = Pod(node, namespace="kube-system", name="node-local-dns-" + rand_suffix("nld-pod"), owner="node-local-dns",
              qos="besteffort", driver="systemd", runtime="cri-o")
    nsec = security(CRIO_DEFAULT | caps("NET_ADMIN"), seccomp=2)
    c = crio_pod_container(node, nld, "node-cache", "registry.k8s.io/dns/k8s-dns-node-cache:1.22.28",
                           conmon_pid=1300, main_pid=1306, sec=nsec,
                           args=["/node-cache", "-localip", "169.254.20.10", "-conf", "/etc/Corefile"])
    c.proc(1306, 1300, "node-cache", ["/node-cache", "-localip", "169.254.20.10", "-conf", "/etc/Corefile"],
           "/node-cache", nsec, threads=9, ns=[1])

    # kafka/broker-1: a StatefulSet, Guaranteed; a JVM with many threads (pids.current counts threads).
    kb = Pod(node, namespace="kafka", name="broker-1", owner="broker", qos="guaranteed", driver="systemd",
             runtime="cri-o")
    ksec = security(CRIO_DEFAULT, uid=1000, nnp=True, seccomp=2)
    c = crio_pod_container(node, kb, "kafka", "quay.io/strimzi/kafka:0.40.0-kafka-3.7.0", conmon_pid=1400,
                           main_pid=1408, sec=ksec, uid=1000, gid=0, args=["/opt/kafka/kafka_run.sh"])
    c.proc(1408, 1400, "java", ["java", "-Xms2g", "-Xmx2g", "-XX:+UseG1GC", "-cp", "/opt/kafka/libs/*",
                                "kafka.Kafka", "/tmp/strimzi.properties"], "/usr/lib/jvm/java-17-openjdk/bin/java",
           ksec, uid=1000, gid=0, threads=74, ns=[1])

    # default/legacy-app-<hash>-<5>: a pod from the days of the cgroupfs manager: crio-<id> and
    # crio-conmon-<id> directly in /kubepods/burstable/pod<uid>/.
    la = Pod(node, namespace="default", name="legacy-app-%s-%s" % (rand_suffix("legacy-rs", 10),
                                                                    rand_suffix("legacy-pod")),
             owner="legacy-app", qos="burstable", driver="cgroupfs", runtime="cri-o")
    hsec = security(CRIO_DEFAULT, seccomp=2)
    c = crio_pod_container(node, la, "httpd", "registry.access.redhat.com/ubi9/httpd-24:1-301", conmon_pid=1500,
                           main_pid=1507, sec=hsec, args=["httpd", "-DFOREGROUND"])
    c.proc(1507, 1500, "httpd", ["httpd", "-DFOREGROUND"], "/usr/sbin/httpd", hsec, ns=[1])
    apache = security(CRIO_DEFAULT, uid=48)
    for i, pid in enumerate([1520, 1521, 1522]):
        c.proc(pid, 1507, "httpd", ["httpd", "-DFOREGROUND"], "/usr/sbin/httpd", apache, uid=48,
               threads=1 if i == 0 else 65, ns=[8 + i])
    return node, True



def podman_store_entry(cid, name, image, created):
    """One entry of containers/storage's overlay-containers/containers.json; its "metadata" member is itself
    a JSON document in a string (libpod's RuntimeContainerMetadata)."""
    image_id = digest("image:" + image)
    inner = {"image-name": image, "image-id": image_id, "name": name, "created-at": 1715590000 + int(cid[:4], 16) % 9999,
             "mountlabel": ""}
    return {
        "id": cid, "names": [name], "image": image_id, "layer": digest("layer:" + cid),
        "metadata": json.dumps(inner, separators=(",", ":")),
        "big-data-names": ["volatile-container.json"],
        "big-data-sizes": {"volatile-container.json": 4711 + int(cid[4:6], 16)},
        "big-data-digests": {"volatile-container.json": "sha256:" + digest("volatile:" + cid)},
        "created": created, "flags": {"MountLabel": "", "ProcessLabel": ""},
    }


def podman_conmon(node, pid, cid, name, cgroup, *, uid=0, storage="/var/lib/containers/storage",
                  run="/run/containers/storage", exits="/run/libpod/exits"):
    sec = security(all_caps(node.cap_last), uid=uid, seccomp=0)
    return node.proc(pid, 1, "conmon", [
        "/usr/bin/conmon", "--api-version", "1", "-c", cid, "-u", cid, "-r", "/usr/bin/crun",
        "-b", "%s/overlay-containers/%s/userdata" % (storage, cid),
        "-p", "%s/overlay-containers/%s/userdata/pidfile" % (run, cid), "-n", name, "--exit-dir", exits,
        "--full-attach", "-s", "-l", "journald", "--log-level", "warning", "--syslog",
        "--conmon-pidfile", "%s/overlay-containers/%s/userdata/conmon.pid" % (run, cid)],
        "/usr/bin/conmon", sec, uid=uid, cgroup=cgroup, groups=[uid])


def podman_v2():
    """Podman on cgroup v2 with the systemd cgroup manager (Fedora, kernel 6.8). Rootful containers are
    /machine.slice/libpod-<id>.scope, their processes in its `container` subgroup when crun runs them
    (directly in the scope under runc); a pod's containers sit in machine-libpod_pod_<pod id>.slice; a
    rootless user's in user@1000.service/user.slice/libpod-<id>.scope/container. conmon has its own
    libpod-conmon-<id>.scope and is not a container; nor is the rootless pause process. Names and images
    come from containers/storage's containers.json (root's, and every user's)."""
    node = Node("podman-v2", hostname="devbox", mode="unified", kernel="6.8")
    root = host_base(node, ssh_unit="sshd.service")
    bash = login_session(node, base_pid=2000)
    rootful = []
    machine = "/machine.slice"

    # web: nginx under crun; Podman's default capabilities (no NET_RAW, MKNOD, AUDIT_WRITE); pids_limit 2048.
    web_id = container_id("devbox/web")
    podman_conmon(node, 1100, web_id, "web", "%s/libpod-conmon-%s.scope" % (machine, web_id))
    psec = security(PODMAN_DEFAULT, seccomp=2)
    c = node.container(cid=web_id, runtime="podman", cgroup="%s/libpod-%s.scope" % (machine, web_id), name="web",
                       image="docker.io/library/nginx:1.25", pids_max=2048)
    inner = c.cgroup + "/container"
    c.proc(1104, 1100, "nginx", ["nginx: master process nginx -g daemon off;"], "/usr/sbin/nginx", psec,
           cgroup=inner, ns=[1])
    for i, pid in enumerate([1131, 1132]):
        c.proc(pid, 1104, "nginx", ["nginx: worker process"], "/usr/sbin/nginx", security(PODMAN_DEFAULT, uid=101),
               uid=101, cgroup=inner, ns=[24 + i])
    rootful.append(podman_store_entry(web_id, "web", "docker.io/library/nginx:1.25", "2024-05-13T10:00:00.1Z"))

    # registry: run by runc, which puts the process in the scope itself (no `container` subgroup).
    reg_id = container_id("devbox/registry")
    podman_conmon(node, 1200, reg_id, "registry", "%s/libpod-conmon-%s.scope" % (machine, reg_id))
    c = node.container(cid=reg_id, runtime="podman", cgroup="%s/libpod-%s.scope" % (machine, reg_id), name="registry",
                       image="docker.io/library/registry:2", pids_max=2048)
    c.proc(1205, 1200, "registry", ["registry", "serve", "/etc/docker/registry/config.yml"], "/bin/registry", psec,
           threads=7, ns=[1])
    rootful.append(podman_store_entry(reg_id, "registry", "docker.io/library/registry:2", "2024-05-13T10:01:00.1Z"))

    # A pod "blog": its infra container (catatonit) and an API container running as uid 1000 that was given
    # NET_BIND_SERVICE (Podman makes added capabilities ambient for a non-root user).
    pod_id = digest("devbox/pod/blog")
    pod_slice = "%s/machine-libpod_pod_%s.slice" % (machine, pod_id)
    infra_id = container_id("devbox/blog/infra")
    infra_name = pod_id[:12] + "-infra"
    podman_conmon(node, 1300, infra_id, infra_name, "%s/libpod-conmon-%s.scope" % (pod_slice, infra_id))
    c = node.container(cid=infra_id, runtime="podman", cgroup="%s/libpod-%s.scope" % (pod_slice, infra_id),
                       name=infra_name, image="localhost/podman-pause:4.9.4-1711445992", pids_max=2048)
    c.proc(1303, 1300, "catatonit", ["/catatonit", "-P"], "/catatonit", psec, cgroup=c.cgroup + "/container", ns=[1])
    rootful.append(podman_store_entry(infra_id, infra_name, "localhost/podman-pause:4.9.4-1711445992",
                                      "2024-05-13T10:02:00.1Z"))
    api_id = container_id("devbox/blog/api")
    podman_conmon(node, 1310, api_id, "blog-api", "%s/libpod-conmon-%s.scope" % (pod_slice, api_id))
    asec = security(PODMAN_DEFAULT | caps("NET_BIND_SERVICE"), uid=1000, ambient=caps("NET_BIND_SERVICE"), seccomp=2)
    c = node.container(cid=api_id, runtime="podman", cgroup="%s/libpod-%s.scope" % (pod_slice, api_id),
                       name="blog-api", image="ghcr.io/acme/blog-api:v3.2.0", pids_max=2048)
    c.proc(1316, 1310, "uvicorn", ["/usr/local/bin/python3", "/usr/local/bin/uvicorn", "app:app", "--host",
                                   "0.0.0.0", "--port", "80"], "/usr/local/bin/python3.12", asec, uid=1000,
           cgroup=c.cgroup + "/container", threads=4, ns=[1])
    rootful.append(podman_store_entry(api_id, "blog-api", "ghcr.io/acme/blog-api:v3.2.0", "2024-05-13T10:02:30.1Z"))

    # builder: `podman run --privileged`: every capability, no seccomp.
    b_id = container_id("devbox/builder")
    podman_conmon(node, 1400, b_id, "builder", "%s/libpod-conmon-%s.scope" % (machine, b_id))
    bsec = security(all_caps(40), seccomp=0)
    c = node.container(cid=b_id, runtime="podman", cgroup="%s/libpod-%s.scope" % (machine, b_id), name="builder",
                       image="quay.io/buildah/stable:v1.35", pids_max=2048)
    c.proc(1404, 1400, "buildah", ["buildah", "build", "-t", "localhost/app:dev", "."], "/usr/bin/buildah", bsec,
           cgroup=c.cgroup + "/container", threads=12, ns=[1])
    c.proc(1466, 1404, "crun", ["crun", "run", "buildah-buildah1234"], "/usr/bin/crun", bsec,
           cgroup=c.cgroup + "/container", ns=[31])
    rootful.append(podman_store_entry(b_id, "builder", "quay.io/buildah/stable:v1.35", "2024-05-13T10:03:00.1Z"))

    # A stopped container: still in containers.json, no cgroup.
    rootful.append(podman_store_entry(container_id("devbox/old-db"), "old-db", "docker.io/library/postgres:15",
                                      "2024-04-01T09:00:00.1Z"))
    node.json_file("var/lib/containers/storage/overlay-containers/containers.json", rootful)

    # Rootless, user alice (1000): the container's root is uid 1000 on the host; its capabilities are those of
    # root in alice's user namespace.
    user_slice = "/user.slice/user-1000.slice/user@1000.service/user.slice"
    n_id = container_id("devbox/alice/notes")
    store = "/home/alice/.local/share/containers/storage"
    podman_conmon(node, 2110, n_id, "notes", "%s/libpod-conmon-%s.scope" % (user_slice, n_id), uid=1000,
                  storage=store, run="/run/user/1000/containers", exits="/run/user/1000/libpod/tmp/exits")
    rsec = security(PODMAN_DEFAULT, seccomp=2)
    c = node.container(cid=n_id, runtime="podman", cgroup="%s/libpod-%s.scope" % (user_slice, n_id), name="notes",
                       image="docker.io/library/python:3.12-slim", pids_max=2048)
    c.proc(2114, 2110, "python3", ["python3", "-m", "http.server", "8000"], "/usr/local/bin/python3.12", rsec,
           uid=1000, cgroup=c.cgroup + "/container", ns=[1])
    # The rootless pause process holds the user namespace open: not a container.
    node.proc(2050, 1, "catatonit", ["catatonit", "-P"], "/usr/libexec/podman/catatonit",
              security(PODMAN_DEFAULT, seccomp=0), uid=1000, cgroup=user_slice + "/podman-pause-7c3e1a90.scope",
              groups=[1000])
    node.proc(2210, bash, "podman", ["podman", "logs", "-f", "notes"], "/usr/bin/podman",
              security(all_caps(40), uid=1000, seccomp=0), uid=1000,
              cgroup="/user.slice/user-1000.slice/session-3.scope", threads=10, tty=34816, groups=[1000])
    rootless = [podman_store_entry(n_id, "notes", "docker.io/library/python:3.12-slim", "2024-05-13T11:00:00.1Z"),
                podman_store_entry(container_id("devbox/alice/scratch"), "scratch", "registry.fedoraproject.org/fedora:40",
                                   "2024-05-01T11:00:00.1Z")]
    node.json_file("home/alice/.local/share/containers/storage/overlay-containers/containers.json", rootless)
    return node, True



def compose_labels(project, service, number, image, workdir="/srv/shop"):
    """The labels docker compose v2 puts on a service's container."""
    return {
        "com.docker.compose.config-hash": digest("compose:%s/%s" % (project, service)),
        "com.docker.compose.container-number": str(number),
        "com.docker.compose.depends_on": "",
        "com.docker.compose.image": "sha256:" + digest("image:" + image),
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.project": project,
        "com.docker.compose.project.config_files": workdir + "/compose.yaml",
        "com.docker.compose.project.working_dir": workdir,
        "com.docker.compose.service": service,
        "com.docker.compose.version": "2.27.0",
    }


def docker_container(node, seed, name, image, *, cgroup=None, main_pid, shim_pid, sec, args, labels=None,
                     compose=None, pids_max=None, events_max=0, user="", warnings=(), write_metadata=True, **docker_kw):
    """A Docker container (systemd driver unless `cgroup` says otherwise) with its shim and its records."""
    cid = container_id(seed)
    cgroup = cgroup or "/system.slice/docker-%s.scope" % cid
    shim(node, shim_pid, cid, namespace="moby")
    if write_metadata:
        docker_files(node, cid, name=name, image=image, args=args, sec=sec, pid=main_pid, labels=labels, user=user,
                     created="2024-05-12T%02d:%02d:00.123456789Z" % (6 + int(cid[:2], 16) % 12, int(cid[2:4], 16) % 60),
                     pids_limit=pids_max, **docker_kw)
        containerd_task(node, "moby", cid, oci_spec(args, sec, cgroups_path=("system.slice:docker:" + cid)
                                                    if cgroup.startswith("/system.slice/docker-") else cgroup), main_pid)
    return node.container(cid=cid, runtime="docker", cgroup=cgroup, name=name if write_metadata else None,
                          image=image if write_metadata else None, compose=compose, pids_max=pids_max,
                          events_max=events_max, warnings=warnings)


def docker_systemd_v2():
    """Docker 24 with the systemd cgroup driver on cgroup v2 (Debian 12, kernel 6.1): containers are
    /system.slice/docker-<id>.scope. A Compose project (workload compose:<project>/<service>, one service
    scaled to two containers), a near-privileged container (--cap-add ALL --cap-drop SYS_RESOURCE, seccomp
    unconfined: Docker 24 knows capabilities 38-40), a build container at its PID limit (pids.events
    "max N" > 0), and Docker-in-Docker: a CI runner started under the cgroupfs driver before the daemon was
    switched to systemd (kept running by live-restore: /docker/<id>), whose own dockerd (cgroupfs driver,
    private cgroup namespace) runs a container at /docker/<outer>/docker/<inner>. The inner container's
    records live inside the outer container, so Vigil can only give its id, and warns."""
    node = Node("docker-systemd-v2", hostname="docker-host-01", mode="unified", kernel="6.1")
    root = host_base(node)
    node.proc(580, 1, "containerd", ["/usr/bin/containerd"], "/usr/bin/containerd", root,
              cgroup="/system.slice/containerd.service", threads=14, start=470)
    node.proc(601, 1, "dockerd", ["/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"],
              "/usr/sbin/dockerd", root, cgroup="/system.slice/docker.service", threads=19, start=480)
    dsec = security(DOCKER_DEFAULT, seccomp=2)

    # Compose project "shop".
    img = "nginx:1.25-alpine"
    c = docker_container(node, "shop-web-1", "shop-web-1", img, main_pid=1105, shim_pid=1101, sec=dsec,
                         args=["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"],
                         labels=compose_labels("shop", "web", 1, img), compose=("shop", "web"), restart="unless-stopped")
    c.proc(1105, 1101, "nginx", ["nginx: master process nginx -g daemon off;"], "/usr/sbin/nginx", dsec, ns=[1])
    for i, pid in enumerate([1160, 1161]):
        c.proc(pid, 1105, "nginx", ["nginx: worker process"], "/usr/sbin/nginx", security(DOCKER_DEFAULT, uid=101),
               uid=101, gid=101, ns=[30 + i])
    img = "shop-api"
    asec = security(DOCKER_DEFAULT, uid=1000, nnp=True, seccomp=2)
    c = docker_container(node, "shop-api-1", "shop-api-1", img, main_pid=1205, shim_pid=1201, sec=asec, user="1000",
                         args=["gunicorn", "-w", "2", "-b", "0.0.0.0:8000", "shop.wsgi"],
                         labels=compose_labels("shop", "api", 1, img), compose=("shop", "api"),
                         security_opt=["no-new-privileges:true"])
    c.proc(1205, 1201, "gunicorn", ["/usr/local/bin/python", "/usr/local/bin/gunicorn", "-w", "2", "-b", "0.0.0.0:8000",
                                    "shop.wsgi"], "/usr/local/bin/python3.12", asec, uid=1000, ns=[1])
    for i, pid in enumerate([1230, 1231]):
        c.proc(pid, 1205, "gunicorn", ["/usr/local/bin/python", "/usr/local/bin/gunicorn", "-w", "2", "-b",
                                       "0.0.0.0:8000", "shop.wsgi"], "/usr/local/bin/python3.12", asec, uid=1000,
               threads=2, ns=[7 + i])
    # The worker service, scaled to two: read-only, every capability dropped, non-root.
    wsec = security(0, uid=1000, nnp=True, seccomp=2)
    for n, (main, shim_pid) in enumerate([(1305, 1301), (1405, 1401)], start=1):
        c = docker_container(node, "shop-worker-%d" % n, "shop-worker-%d" % n, "shop-api", main_pid=main,
                             shim_pid=shim_pid, sec=wsec, user="1000", args=["celery", "-A", "shop", "worker"],
                             labels=compose_labels("shop", "worker", n, "shop-api"), compose=("shop", "worker"),
                             cap_drop=["ALL"], readonly=True, security_opt=["no-new-privileges:true"])
        c.proc(main, shim_pid, "celery", ["/usr/local/bin/python", "/usr/local/bin/celery", "-A", "shop", "worker",
                                          "--loglevel=INFO"], "/usr/local/bin/python3.12", wsec, uid=1000, threads=3,
               ns=[1])

    # netdebug: near-privileged (all but SYS_RESOURCE, no seccomp) -- a shell running tcpdump.
    nsec = security(all_caps(40) & ~caps("SYS_RESOURCE"), seccomp=0)
    c = docker_container(node, "netdebug", "netdebug", "nicolaka/netshoot:latest", main_pid=1505, shim_pid=1501,
                         sec=nsec, args=["bash"], cap_add=["ALL"], cap_drop=["SYS_RESOURCE"],
                         security_opt=["seccomp=unconfined"], network="host")
    c.proc(1505, 1501, "bash", ["bash"], "/bin/bash", nsec, ns=[1], tty=34816, pgrp=1505, session=1505)
    c.proc(1533, 1505, "tcpdump", ["tcpdump", "-i", "any", "-nn", "port", "53"], "/usr/bin/tcpdump", nsec, ns=[9],
           tty=34816, pgrp=1533, session=1505)

    # builder: --pids-limit 64, at its limit: 12 forks have failed (pids.events "max 12").
    bsec = security(DOCKER_DEFAULT, seccomp=2)
    c = docker_container(node, "builder", "builder", "golang:1.22", main_pid=1605, shim_pid=1601, sec=bsec,
                         args=["sh", "-c", "go build -o /out/ ./..."], pids_max=64, events_max=12)
    c.proc(1605, 1601, "sh", ["sh", "-c", "go build -o /out/ ./..."], "/usr/bin/dash", bsec, ns=[1])
    c.proc(1611, 1605, "go", ["go", "build", "-o", "/out/", "./..."], "/usr/local/go/bin/go", bsec, threads=16, ns=[7])
    for i, pid in enumerate([1690, 1691, 1693, 1694]):
        c.proc(pid, 1611, "compile", ["/usr/local/go/pkg/tool/linux_amd64/compile", "-o", "$WORK/b%03d/_pkg_.a" % (i + 12),
                                      "-p", "shop/internal/pkg%d" % i, "-c=4"],
               "/usr/local/go/pkg/tool/linux_amd64/compile", bsec, threads=11, ns=[40 + i])

    # Docker-in-Docker. The outer runner: privileged, from the cgroupfs era; the dind entrypoint moved its
    # processes into an `init` subgroup (cgroup v2 allows no processes in a cgroup with children).
    psec = security(all_caps(40), seccomp=0)
    outer = docker_container(node, "ci-runner", "ci-runner", "docker:24-dind",
                             cgroup="/docker/" + container_id("ci-runner"), main_pid=1705, shim_pid=1701, sec=psec,
                             args=["dockerd-entrypoint.sh"], privileged=True, restart="always")
    init = outer.cgroup + "/init"
    outer.proc(1705, 1701, "dockerd", ["dockerd", "--host=unix:///var/run/docker.sock", "--host=tcp://0.0.0.0:2376"],
               "/usr/local/bin/dockerd", psec, cgroup=init, threads=24, ns=[1])
    outer.proc(1730, 1705, "containerd", ["containerd", "--config", "/var/run/docker/containerd/containerd.toml"],
               "/usr/local/bin/containerd", psec, cgroup=init, threads=12, ns=[30])
    inner_id = container_id("ci-runner/inner/job-4711")
    outer.proc(1790, 1, "containerd-shim", ["/usr/local/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id",
                                            inner_id, "-address", "/var/run/docker/containerd/containerd.sock"],
               "/usr/local/bin/containerd-shim-runc-v2", psec, cgroup=init, threads=10, ns=[88])
    # The inner container: Docker's default set (inside the privileged outer one), a shell and its child.
    inner = node.container(
        cid=inner_id, runtime="docker", cgroup="%s/docker/%s" % (outer.cgroup, inner_id), name=None, image=None,
        warnings=["docker container %s: no metadata at var/lib/docker/containers/%s/config.v2.json; showing its id only"
                  % (inner_id[:12], inner_id)])
    inner.proc(1805, 1790, "sh", ["sh", "-c", "while true; do make test; sleep 5; done"], "/bin/busybox", dsec,
               ns=[95, 1])
    inner.proc(1877, 1805, "sleep", ["sleep", "5"], "/bin/busybox", dsec, ns=[160, 23])
    return node, False



# LXC's default lxc.cap.drop (Debian's common.conf): mac_admin mac_override sys_time sys_module sys_rawio.
LXC_DROP = caps("MAC_ADMIN", "MAC_OVERRIDE", "SYS_TIME", "SYS_MODULE", "SYS_RAWIO")


def malformed_docker_config(cid, name, image):
    """A config.v2.json someone pretty-printed and edited by hand (a classic way to change a port mapping
    while the daemon is stopped), leaving a trailing comma: returns (text, line of the first character that
    cannot follow the comma)."""
    good = {"ID": cid, "Name": "/" + name, "Config": {"Image": image, "Labels": {"maintainer": "ops"}},
            "State": {"Running": True, "Pid": 0}, "Driver": "overlay2"}
    text = json.dumps(good, indent=4)
    text = text.replace('"maintainer": "ops"', '"maintainer": "ops",')
    comma = text.index('"ops",') + len('"ops"')
    nxt = comma + 1
    while text[nxt] in " \t\r\n":
        nxt += 1
    return text + "\n", text.count("\n", 0, nxt) + 1


def lxc_nspawn_edge_v2():
    """LXC, systemd-nspawn and odd processes on cgroup v2 (kernel 6.12: status has a Kthread line).

    - LXC (unprivileged, ids shifted by 100000): the payload is /lxc.payload.<name> with the guest's own
      systemd tree below it; the monitor, /lxc.monitor.<name>, is not a container.
    - systemd-nspawn started by hand: /machine.slice/machine-build\x2dbox.scope (the name systemd-escaped),
      the guest in its `payload` subgroup; nspawn itself stays in the invoking session. Started by
      `machinectl start` (--keep-unit): /machine.slice/systemd-nspawn@fedora40.service, with `payload` and
      a `supervisor` subgroup holding nspawn, which is not part of the container. machine.slice has
      TasksAccounting off here: no pids.* files, so the counters fall back to the listed tasks.
    - A libvirt VM's scope (machine-qemu\x2d1\x2dwin11.scope) is not a container.
    - Docker (cgroupfs driver): a container full of odd processes -- a comm with ") (" and spaces, invalid
      UTF-8 and a 200 KB command line, deleted and memfd executables, a process mid-exit (no exe, empty
      cmdline), a setuid program, duplicate and unordered pids in cgroup.procs, a listed pid gone from /proc,
      a process that entered the cgroup after cgroup.procs was read; a container whose config.v2.json is
      malformed; stopped containers' leftover cgroups."""
    node = Node("lxc-nspawn-edge-v2", hostname="edge-lab", mode="unified", kernel="6.12")
    root = host_base(node)
    node.proc(560, 1, "containerd", ["/usr/bin/containerd"], "/usr/bin/containerd", root,
              cgroup="/system.slice/containerd.service", threads=12, start=455)
    node.proc(575, 1, "dockerd", ["/usr/sbin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock",
                                  "--exec-opt", "native.cgroupdriver=cgroupfs"], "/usr/sbin/dockerd", root,
              cgroup="/system.slice/docker.service", threads=17, start=470)
    bash = login_session(node, base_pid=2500, user="ops", uid=1001, session=7)

    # LXC "web01", unprivileged.
    lxc_sec = security(all_caps(40) & ~LXC_DROP, seccomp=2)
    node.proc(900, 1, "lxc-start", ["[lxc monitor] /var/lib/lxc web01"], "/usr/bin/lxc-start", root,
              cgroup="/lxc.monitor.web01")
    c = node.container(cid="web01", runtime="lxc", cgroup="/lxc.payload.web01", name="web01", image=None,
                       pids_max=1000)
    c.proc(910, 900, "systemd", ["/sbin/init"], "/usr/lib/systemd/systemd", lxc_sec, uid=100000,
           cgroup=c.cgroup + "/init.scope", ns=[1])
    c.proc(961, 910, "systemd-journal", ["/lib/systemd/systemd-journald"], "/usr/lib/systemd/systemd-journald",
           security(JOURNALD_CAPS & ~LXC_DROP, seccomp=2), uid=100000,
           cgroup=c.cgroup + "/system.slice/systemd-journald.service", ns=[42])
    c.proc(1010, 910, "nginx", ["nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"],
           "/usr/sbin/nginx", lxc_sec, uid=100000, cgroup=c.cgroup + "/system.slice/nginx.service", ns=[97])
    c.proc(1011, 1010, "nginx", ["nginx: worker process"], "/usr/sbin/nginx", security(lxc_sec["bnd"], uid=33),
           uid=100033, cgroup=c.cgroup + "/system.slice/nginx.service", ns=[98])

    node.no_pids.add("/machine.slice")
    nspawn_sec = security(NSPAWN_DEFAULT, seccomp=2)
    # systemd-nspawn -b -D /var/lib/machines/build-box --network-veth, from ops's shell.
    node.proc(2600, bash, "systemd-nspawn", ["systemd-nspawn", "-b", "-D", "/var/lib/machines/build-box",
                                             "--network-veth"], "/usr/bin/systemd-nspawn", root,
              cgroup="/user.slice/user-1001.slice/session-7.scope", tty=34816)
    scope = "/machine.slice/machine-build\\x2dbox.scope"
    c = node.container(cid="build-box", runtime="systemd-nspawn", cgroup=scope, name="build-box", image=None)
    c.proc(2611, 2600, "systemd", ["/usr/lib/systemd/systemd"], "/usr/lib/systemd/systemd", nspawn_sec,
           cgroup=scope + "/payload/init.scope", ns=[1])
    c.proc(2680, 2611, "sshd", ["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"], "/usr/sbin/sshd",
           nspawn_sec, cgroup=scope + "/payload/system.slice/ssh.service", ns=[61])
    # machinectl start fedora40: systemd-nspawn@fedora40.service with --keep-unit and -U (private users).
    unit = "/machine.slice/systemd-nspawn@fedora40.service"
    node.proc(2700, 1, "systemd-nspawn", ["/usr/bin/systemd-nspawn", "--quiet", "--keep-unit", "--boot",
                                          "--link-journal=try-guest", "--network-veth", "-U", "--settings=override",
                                          "--machine=fedora40"], "/usr/bin/systemd-nspawn", root,
              cgroup=unit + "/supervisor")
    shift = 1854537728
    c = node.container(cid="fedora40", runtime="systemd-nspawn", cgroup=unit, name="fedora40", image=None)
    c.proc(2711, 2700, "systemd", ["/usr/lib/systemd/systemd"], "/usr/lib/systemd/systemd", nspawn_sec, uid=shift,
           cgroup=unit + "/payload/init.scope", ns=[1])
    c.proc(2790, 2711, "postgres", ["/usr/bin/postgres", "-D", "/var/lib/pgsql/data"], "/usr/bin/postgres",
           security(NSPAWN_DEFAULT, uid=26), uid=shift + 26, cgroup=unit + "/payload/system.slice/postgresql.service",
           ns=[120])
    # A libvirt VM: its scope looks like a machine's, but qemu runs a VM, not a container.
    node.proc(2900, 1, "qemu-system-x86", ["/usr/bin/qemu-system-x86_64", "-name", "guest=win11,debug-threads=on",
                                           "-machine", "pc-q35-8.2,usb=off", "-m", "8192", "-smp", "4"],
              "/usr/bin/qemu-system-x86_64", security(0, uid=64055, seccomp=2), uid=64055, threads=9,
              cgroup="/machine.slice/machine-qemu\\x2d1\\x2dwin11.scope/libvirt/emulator")

    # Docker, cgroupfs driver: the container of odd processes.
    dsec = security(DOCKER_DEFAULT, seccomp=2)
    odd = docker_container(node, "edge-odd", "edge-odd", "alpine:3.19", cgroup="/docker/" + container_id("edge-odd"),
                           main_pid=3005, shim_pid=3001, sec=dsec, args=["sh", "/opt/start.sh"])
    odd.proc(3005, 3001, "sh", ["sh", "/opt/start.sh"], "/bin/busybox", dsec, ns=[1])
    # comm may hold ")", "(" and spaces: stat's comm runs to the *last* ")".
    odd.proc(3020, 3005, "evil) (S 1 2 3", ["./evil) (S 1 2 3", "--fake", ") R 0 0"], "/tmp/evil) (S 1 2 3", dsec,
             ns=[7])
    # Arguments are bytes: a Latin-1 file name, stray bytes, a sequence cut short.
    odd.proc(3021, 3005, "tail", [b"tail", b"-F", b"/data/caf\xe9-r\xe9sum\xe9.log", b"\xff\xfe", b"trunc\xe2\x82"],
             "/bin/busybox", dsec, ns=[8])
    classpath = ":".join("/app/lib/dependency-%04d-1.0.%d.jar" % (i, i % 10) for i in range(6000))
    odd.proc(3022, 3005, "java", ["java", "-Xmx512m", "-cp", classpath, "com.example.Main", "--port", "8080"],
             "/usr/lib/jvm/java-17-openjdk/bin/java", dsec, threads=31, ns=[9])
    # Deleted and memory-only executables (fexecve of a memfd: comm is the fd's number).
    odd.proc(3023, 3005, ".x", ["/tmp/.x", "-o", "pool.example.net:3333"], "/tmp/.x (deleted)", dsec, threads=4,
             ns=[10])
    odd.proc(3024, 3023, "3", ["[kworker/u8:3]"], "/memfd:x (deleted)", dsec, ns=[11])
    # Exiting: its memory is gone (empty cmdline) and so is its exe link.
    odd.proc(3025, 3005, "wget", [], None, dsec, cmdline=b"", state="R", ns=[12])
    # A setuid-root program run by uid 1000: effective uid 0, and root's capabilities.
    odd.proc(3030, 3005, "passwd", ["passwd"], "/bin/busybox", dsec, uid=1000, euid=0, ns=[13])
    odd.proc(3040, 3005, "sleep", ["sleep", "1"], "/bin/busybox", dsec, ns=[14], present=False)
    odd.proc(3050, 3005, "cat", ["cat", "/etc/os-release"], "/bin/busybox", dsec, ns=[15], race=True)
    node.procs_order[odd.cgroup] = "interleave"
    node.procs_extra[odd.cgroup] = [3021, 3005, 3022]

    # A container whose config.v2.json was edited by hand into invalid JSON.
    broken_id = container_id("edge-broken")
    text, line = malformed_docker_config(broken_id, "cache", "redis:7.2")
    rsec = security(DOCKER_DEFAULT, uid=999, seccomp=2)
    shim(node, 3101, broken_id, namespace="moby")
    broken = node.container(cid=broken_id, runtime="docker", cgroup="/docker/" + broken_id, name=None, image=None,
                            warnings=["/var/lib/docker/containers/%s/config.v2.json:%d: malformed JSON "
                                      "(expected a key string); ignoring it" % (broken_id, line)])
    node.file("var/lib/docker/containers/%s/config.v2.json" % broken_id, text)
    broken.proc(3105, 3101, "redis-server", ["redis-server *:6379"], "/usr/local/bin/redis-server", rsec, uid=999,
                threads=5, ns=[1])

    # Stopped containers' leftovers: one cgroup lists only a pid that has exited, one lists nothing.
    gone = docker_container(node, "edge-gone", "old-job", "alpine:3.19", cgroup="/docker/" + container_id("edge-gone"),
                            main_pid=3205, shim_pid=3201, sec=dsec, args=["sh", "-c", "exit 0"])
    del node.procs[3201]  # no shim for a stopped container
    gone.proc(3205, 3201, "sh", ["sh", "-c", "exit 0"], "/bin/busybox", dsec, ns=[1], present=False)
    node.ensure_dir("/docker/" + container_id("edge-empty"))
    return node, True



def k8s_containerd_hybrid():
    """Kubernetes on containerd (SystemdCgroup) on a hybrid node (Ubuntu 20.04, kernel 5.15): cgroup v1
    controllers under /sys/fs/cgroup/<controller>, systemd's cgroup2 tree (no controllers) under
    /sys/fs/cgroup/unified. Every container's scope exists in each hierarchy; PID counters come from the
    v1 pids hierarchy."""
    node = Node("k8s-containerd-hybrid", hostname="ubuntu-2004-node", mode="hybrid", kernel="5.15")
    root = host_base(node)
    node.proc(605, 1, "containerd", ["/usr/bin/containerd"], "/usr/bin/containerd", root,
              cgroup="/system.slice/containerd.service", threads=15, start=470)
    node.proc(640, 1, "kubelet", ["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml",
                                  "--kubeconfig=/etc/kubernetes/kubelet.conf",
                                  "--container-runtime-endpoint=unix:///run/containerd/containerd.sock"],
              "/usr/bin/kubelet", root, cgroup="/system.slice/kubelet.service", threads=21, start=500)

    # default/api-<hash>-<5>: an app container (non-root, no capabilities at all) and an envoy sidecar.
    api = Pod(node, namespace="default", name="api-%s-%s" % (rand_suffix("api-rs", 10), rand_suffix("api-pod")),
              owner="api", qos="burstable", driver="systemd", runtime="containerd")
    shim(node, 1101, "api")
    pause(node, api, 1120, shim=1101)
    app = security(0, uid=10001, nnp=True, seccomp=2)
    c = k8s_container(node, api, "app", "registry.example.com:5000/team/api:1.8.2", sec=app, uid=10001,
                      args=["/app/api", "--listen=:8080"], main_pid=1134)
    c.proc(1134, 1101, "api", ["/app/api", "--listen=:8080"], "/app/api", app, uid=10001, threads=9, ns=[1])
    envoy = security(DOCKER_DEFAULT, uid=101, seccomp=2)
    c = k8s_container(node, api, "envoy", "docker.io/envoyproxy/envoy:v1.30.1", sec=envoy, uid=101,
                      args=["envoy", "-c", "/etc/envoy/envoy.yaml"], main_pid=1150)
    c.proc(1150, 1101, "envoy", ["envoy", "-c", "/etc/envoy/envoy.yaml", "--service-cluster", "api"],
           "/usr/local/bin/envoy", envoy, uid=101, threads=18, ns=[1])
    node.procs_order[c.cgroup] = "reverse"

    # kube-system/calico-node-<5>: a privileged DaemonSet pod; runsvdir supervises felix and bird.
    cal = Pod(node, namespace="kube-system", name="calico-node-" + rand_suffix("calico-pod"), owner="calico-node",
              qos="burstable", driver="systemd", runtime="containerd")
    shim(node, 1201, "calico")
    pause(node, cal, 1220, shim=1201)
    priv = security(all_caps(40), seccomp=0)
    c = k8s_container(node, cal, "calico-node", "docker.io/calico/node:v3.27.3", sec=priv,
                      args=["start_runit"], main_pid=1233)
    c.proc(1233, 1201, "runsvdir", ["/usr/bin/runsvdir", "-P", "/etc/service/enabled"], "/usr/bin/runsvdir", priv,
           ns=[1])
    c.proc(1240, 1233, "runsv", ["runsv", "felix"], "/usr/bin/runsv", priv, ns=[8])
    c.proc(1241, 1233, "runsv", ["runsv", "bird"], "/usr/bin/runsv", priv, ns=[9])
    c.proc(1250, 1240, "calico-node", ["calico-node", "-felix"], "/bin/calico-node", priv, threads=14, ns=[15])
    c.proc(1252, 1241, "bird", ["bird", "-R", "-s", "/var/run/calico/bird.ctl", "-d", "-c",
                                "/etc/calico/confd/config/bird.cfg"], "/usr/bin/bird", priv, ns=[17])
    return node, False


FIXTURES = {
    "k8s-containerd-systemd-v2": k8s_containerd_systemd_v2,
    "k8s-cgroupfs-legacy": k8s_cgroupfs_legacy,
    "containerd-cgroupfs-v2": containerd_cgroupfs_v2,
    "crio-v2": crio_v2,
    "podman-v2": podman_v2,
    "docker-systemd-v2": docker_systemd_v2,
    "lxc-nspawn-edge-v2": lxc_nspawn_edge_v2,
    "k8s-containerd-hybrid": k8s_containerd_hybrid,
}


def main(argv):
    names = argv[1:] or list(FIXTURES)
    for name in names:
        if name not in FIXTURES:
            sys.exit("build-fixtures: no fixture named %r (known: %s)" % (name, ", ".join(FIXTURES)))
    for name in names:
        node, with_host = FIXTURES[name]()
        assert node.name == name
        node.write(os.path.join(HERE, name), with_host_expected=with_host)
        print("wrote Fixtures/%s: %d containers listed, %d processes" % (
            name, sum(1 for c in node.containers if c.listed), sum(1 for p in node.procs.values() if p.present)))


if __name__ == "__main__":
    main(sys.argv)
