#!/usr/bin/env python3
"""Solves one instance written by benches/peer_spopt.rs with PySAL spopt (PuLP + CBC).

Usage: run_spopt.py DIR MODEL   (MODEL: mclp or pmedian)
DIR holds meta.json (n, m, p, radius), cost.f64 (n x m, demand-major, little-endian float64;
inf = unreachable) and weights.f64. Prints one JSON line: objective, seconds (model build and
solve), status.
"""
import json
import sys
import time

import numpy as np
import pulp
from spopt.locate import MCLP, PMedian

d, model = sys.argv[1], sys.argv[2]
meta = json.load(open(f"{d}/meta.json"))
n, m, p = meta["n"], meta["m"], meta["p"]
cost = np.fromfile(f"{d}/cost.f64", dtype="<f8").reshape(n, m)
weights = np.fromfile(f"{d}/weights.f64", dtype="<f8")
# spopt needs finite costs: unreachable pairs get a cost no solution would use.
big = np.nanmax(cost[np.isfinite(cost)]) * 1000.0 + 1.0
cost = np.where(np.isfinite(cost), cost, big)
solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=meta.get("time_limit", 3600))
t0 = time.perf_counter()
if model == "mclp":
    mod = MCLP.from_cost_matrix(cost, weights, service_radius=meta["radius"], p_facilities=p)
    mod = mod.solve(solver)
    covered = float(sum(weights[i] for i in range(n) if any(cost[i, j] <= meta["radius"] for j in np.where(
        np.array([v.value() > 0.5 for v in mod.fac_vars]))[0])))
    objective = covered
else:
    mod = PMedian.from_cost_matrix(cost, weights, p_facilities=p)
    mod = mod.solve(solver)
    objective = float(pulp.value(mod.problem.objective))
seconds = time.perf_counter() - t0
print(json.dumps({"objective": objective, "seconds": seconds, "status": pulp.LpStatus[mod.problem.status]}))
