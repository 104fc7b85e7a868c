#!/usr/bin/env python3
"""Write an audit log of N lines made from real ones (TEMPLATE: a log leash wrote), with
names, outcomes and figures varied: what bench/audit summarises.
Usage: bench/audit-log.py TEMPLATE N > LOG"""
import json
import random
import sys

template, count = sys.argv[1], int(sys.argv[2])
with open(template) as lines:
    records = [json.loads(line) for line in lines if line.strip()]
rng = random.Random(42)
names = ["build", "test", "agent", "lint", None]
out = sys.stdout
for i in range(count):
    record = dict(records[i % len(records)])
    usage = dict(record["usage"])
    record["name"] = names[i % len(names)]
    record["wall_seconds"] = rng.lognormvariate(0, 1)
    usage["cpu_user_seconds"] = rng.lognormvariate(-2, 1)
    usage["peak_memory_bytes"] = int(rng.lognormvariate(17, 1))
    usage["peak_tasks"] = rng.randint(1, 64)
    usage["written_bytes"] = int(rng.lognormvariate(12, 2))
    record["usage"] = usage
    if i % 50 == 0:
        record["outcome"] = "limit"
        record["breach"] = {"limit": "mem", "value": "1 GiB", "observed": None,
                            "at_seconds": 1.0, "message": "memory limit reached"}
    out.write(json.dumps(record, separators=(",", ":")) + "\n")
