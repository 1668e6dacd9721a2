#!/usr/bin/env python3
"""load_pair.py: the shared muc-load generator, with the server's CPU counted whole.

Usage: load_pair.py MUC_LOAD_DIR [muc_load.py options...]
       load_pair.py --table LABEL=RUN.json...

Server CPU is read from /proc/PID/task/*/schedstat, summed over every thread of the
process (muc_load reads the main thread's only, which is all of single-threaded
Prosody but next to nothing of ejabberd's Erlang VM, whose schedulers are threads).
With COMPONENT_PID set, every phase's "server CPU" is the XMPP server's CPU plus
the external component's (read the same way), and the component's share is kept as
"component_cpu". --table prints the runs side by side, labelled A (Prosody's MUC),
B (mucsim serve behind Prosody), C (ejabberd's MUC), D (mucsim serve behind ejabberd).
"""
import asyncio
import json
import os
import statistics
import sys

NAMES = {
    "A": "A: Prosody's MUC",
    "B": "B: mucsim serve behind Prosody",
    "C": "C: ejabberd's MUC",
    "D": "D: mucsim serve behind ejabberd",
}


def process_cpu(pid):
    """(seconds on CPU summed over every thread, utime+stime in seconds) of PID."""
    ns = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns += int(f.read().split()[0])
        except FileNotFoundError:  # a thread that ended meanwhile
            pass
    with open(f"/proc/{pid}/stat") as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime of the whole process
    return ns / 1e9, ticks / os.sysconf("SC_CLK_TCK")


def table(args):
    runs = []
    for a in args:
        label, path = a.split("=", 1)
        runs.append((label, json.load(open(path))))
    head = "| phase | N | stanzas out |"
    rule = "|---|---|---|"
    for label, r in runs:
        name = NAMES.get(label, label)
        head += f" {name}: stanzas/s (wall) | {label}: server CPU ms |"
        rule += "---|---|"
        if any("component_cpu" in x[p] for xs in r["runs"].values() for x in xs for p in ("join",)):
            head += f" {label}: of which mucsim ms |"
            rule += "---|"
    print(head)
    print(rule)
    med = statistics.median
    first = runs[0][1]
    for phase in ("join", "fanout", "churn"):
        for n in first["runs"]:
            out = first["runs"][n][0][phase]["deliveries" if phase == "fanout" else "stanzas_out"]
            row = f"| {phase} | {n} | {out} |"
            for _, r in runs:
                rs = r["runs"].get(n)
                comp = any("component_cpu" in x["join"] for xs in r["runs"].values() for x in xs)
                if not rs:
                    row += " – | – |" + (" – |" if comp else "")
                    continue
                wall = "iq_wall" if phase == "churn" else "wall"
                key = "deliveries" if phase == "fanout" else "stanzas_out"
                rate = med([x[phase][key] / x[phase][wall] for x in rs])
                cpu = med([x[phase]["prosody_cpu"] for x in rs]) * 1e3
                row += f" {rate / 1e3:.1f}k | {cpu:.0f} |"
                if comp:
                    row += f" {med([x[phase].get('component_cpu', 0.0) for x in rs]) * 1e3:.0f} |"
            print(row)


def main():
    if sys.argv[1] == "--table":
        table(sys.argv[2:])
        return
    sys.path.insert(0, sys.argv[1])
    sys.argv = [sys.argv[0]] + sys.argv[2:]
    import muc_load
    muc_load.prosody_cpu = process_cpu
    component = int(os.environ.get("COMPONENT_PID") or "0")
    if component:
        class Meter(muc_load.Meter):
            def start(self):
                super().start()
                self.k0 = process_cpu(component)

            def stop(self):
                r = super().stop()
                k1 = process_cpu(component)
                r["component_cpu"] = k1[0] - self.k0[0]
                r["prosody_cpu"] += r["component_cpu"]
                r["prosody_cpu_ticks"] += k1[1] - self.k0[1]
                return r

        muc_load.Meter = Meter
    asyncio.run(muc_load.main())


if __name__ == "__main__":
    main()
