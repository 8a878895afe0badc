import Synchronization
import VigilJSON
import VigilKernel

extension Inventory {
    /// The inventory JSON of `vigil ps --json` (see the README for every field), whole.
    public func json(indent: Int = 2) -> [UInt8] {
        var whole: [UInt8] = []
        writeJSON(indent: indent) { whole.append(contentsOf: $0) }
        return whole
    }

    /// Streams the inventory JSON to `sink` in pieces of about 64 KiB, so memory does not grow with
    /// the size of the output.
    public func writeJSON(indent: Int = 2, to sink: ([UInt8]) -> Void) {
        let chunk = 64 * 1024
        var out = JSONWriter(indent: indent, capacity: chunk * 2)
        out.beginObject()
        out.key("hostname")
        out.string(hostname)
        out.key("time")
        out.string(time.rfc3339)
        out.key("cgroup_mode")
        out.string(cgroupMode.rawValue)
        out.key("containers")
        out.beginArray()
        for container in containers {
            container.write(to: &out, flushingAt: chunk, to: sink)
        }
        out.endArray()
        if let hostGroups {
            out.key("host")
            out.beginArray()
            for group in hostGroups {
                out.beginObject()
                out.key("cgroup")
                out.string(group.cgroup)
                out.key("unit")
                out.string(group.unit)
                out.key("workload")
                out.string(group.workload.rawValue)
                out.key("processes")
                out.beginArray()
                for process in group.processes {
                    process.write(to: &out)
                    if out.bytes.count >= chunk { out.flush(sink) }
                }
                out.endArray()
                out.endObject()
            }
            out.endArray()
        }
        out.key("warnings")
        out.strings(warnings.map(\.message))
        out.endObject()
        out.flush(sink)
        sink([0x0A])
    }
}

extension Container {
    func write(to out: inout JSONWriter, flushingAt chunk: Int = .max, to sink: ([UInt8]) -> Void = { _ in }) {
        out.beginObject()
        out.key("id")
        out.string(id)
        out.key("short_id")
        out.string(shortID)
        out.key("runtime")
        out.string(runtime.rawValue)
        out.key("name")
        out.string(name)
        out.key("image")
        out.string(image)
        out.key("cgroup")
        out.string(cgroup)
        out.key("k8s")
        if let kubernetes {
            out.beginObject()
            out.key("namespace")
            out.string(kubernetes.namespace)
            out.key("pod")
            out.string(kubernetes.pod)
            out.key("pod_uid")
            out.string(kubernetes.podUID)
            out.key("container")
            out.string(kubernetes.container)
            out.key("sandbox")
            out.bool(isSandbox)
            out.endObject()
        } else {
            out.null()
        }
        out.key("workload")
        out.string(workload.rawValue)
        out.key("pids")
        out.beginObject()
        out.key("current")
        out.int(pids.current)
        out.key("max")
        out.int(pids.max)
        out.key("events_max")
        out.int(pids.eventsMax)
        out.endObject()
        out.key("processes")
        out.beginArray()
        for process in processes {
            process.write(to: &out)
            if out.bytes.count >= chunk { out.flush(sink) }
        }
        out.endArray()
        out.endObject()
    }
}

extension ProcessRecord {
    func write(to out: inout JSONWriter) {
        out.beginObject()
        out.key("pid")
        out.int(pid)
        out.key("ppid")
        out.int(ppid)
        out.key("start_time")
        out.int(startTime)
        out.key("name")
        out.string(comm)
        out.key("exe")
        out.string(exe?.display)
        out.key("cmdline")
        out.strings(cmdline)
        out.key("uid")
        out.int(status.uid.real)
        out.key("euid")
        out.int(status.uid.effective)
        out.key("gid")
        out.int(status.gid.real)
        out.key("caps")
        out.beginObject()
        for (name, set) in [
            ("effective", status.capabilities.effective), ("permitted", status.capabilities.permitted),
            ("bounding", status.capabilities.bounding), ("inheritable", status.capabilities.inheritable),
            ("ambient", status.capabilities.ambient),
        ] {
            out.key(name)
            if out.isCompact {
                out.encoded(CapabilityNamesJSON.encoded(set))
            } else {
                out.strings(set.names)
            }
        }
        out.endObject()
        out.key("no_new_privs")
        out.bool(status.noNewPrivs)
        out.key("seccomp")
        out.string(status.seccomp.rawValue)
        out.key("threads")
        out.int(status.threads)
        out.key("ns_pid")
        out.int(status.namespacePids.last)
        out.endObject()
    }
}

/// Capability sets repeat across thousands of processes (most containers share a handful), so their
/// JSON arrays are encoded once per distinct set and reused.
enum CapabilityNamesJSON {
    private static let cache = Mutex<[UInt64: [UInt8]]>([:])

    static func encoded(_ set: CapabilitySet) -> [UInt8] {
        if let hit = cache.withLock({ $0[set.rawValue] }) { return hit }
        var writer = JSONWriter(indent: 0, capacity: 64 + set.count * 24)
        writer.strings(set.names)
        let bytes = writer.bytes
        cache.withLock { cache in
            if cache.count > 4096 { cache.removeAll() }
            cache[set.rawValue] = bytes
        }
        return bytes
    }
}
