#!/usr/bin/env python3
"""load_pair.py: the shared muc-load generator, with the server's CPU counted whole.

Usage: load_pair.py MUC_LOAD_DIR [muc_load.py options...]
       load_pair.py --table A.json B.json

With COMPONENT_PID set, every phase's "server CPU" is the XMPP server's CPU plus
the external component's (both read from /proc/PID/schedstat, as muc_load does),
and the component's share is kept as "component_cpu". --table prints the two runs
side by side.
"""
import asyncio
import json
import os
import statistics
import sys


def table(a_path, b_path):
    a, b = json.load(open(a_path)), json.load(open(b_path))
    print("| phase | N | stanzas out | A: Prosody's MUC — stanzas/s (wall) | A: server CPU ms | "
          "B: mucsim serve — stanzas/s (wall) | B: server CPU ms (Prosody + mucsim) | B: mucsim CPU ms |")
    print("|---|---|---|---|---|---|---|---|")
    med = statistics.median
    for phase in ("join", "fanout", "churn"):
        for n in a["runs"]:
            ra, rb = a["runs"][n], b["runs"].get(n)
            if not rb:
                continue
            out = ra[0][phase]["stanzas_out"] if phase != "fanout" else ra[0][phase]["deliveries"]
            wall = "iq_wall" if phase == "churn" else "wall"
            def rate(rs):
                key = "deliveries" if phase == "fanout" else "stanzas_out"
                return med([r[phase][key] / r[phase][wall] for r in rs])
            def cpu(rs, key="prosody_cpu"):
                return med([r[phase].get(key, 0.0) for r in rs]) * 1e3
            print(f"| {phase} | {n} | {out} | {rate(ra)/1e3:.1f}k | {cpu(ra):.0f} | "
                  f"{rate(rb)/1e3:.1f}k | {cpu(rb):.0f} | {cpu(rb, 'component_cpu'):.0f} |")


def main():
    if sys.argv[1] == "--table":
        table(sys.argv[2], sys.argv[3])
        return
    sys.path.insert(0, sys.argv[1])
    sys.argv = [sys.argv[0]] + sys.argv[2:]
    import muc_load
    component = int(os.environ.get("COMPONENT_PID", "0"))
    if component:
        read = muc_load.prosody_cpu

        class Meter(muc_load.Meter):
            def start(self):
                super().start()
                self.k0 = read(component)

            def stop(self):
                r = super().stop()
                k1 = read(component)
                r["component_cpu"] = k1[0] - self.k0[0]
                r["prosody_cpu"] += r["component_cpu"]
                r["prosody_cpu_ticks"] += k1[1] - self.k0[1]
                return r

        muc_load.Meter = Meter
    asyncio.run(muc_load.main())


if __name__ == "__main__":
    main()
