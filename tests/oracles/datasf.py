"""Independent computation of the DataSF figures `tests/incident_logs.rs` checks.

Made with pandas 3.1.1 on CPython 3.11 (pip install pandas), from the raw CSV files in
../shared/data/cad-datasf-sample/, without any code of ems:

    python3 tests/oracles/datasf.py ../shared/data/cad-datasf-sample/sffd_lone_mountain_2009.csv

Rules (those of the datasf preset, written here again from the issue's text):
- rows of one call share `Incident Number`; ambulances are rows whose `Unit Type` is MEDIC or
  PRIVATE; every call type is kept (the test passes --filter 'Call Type=*');
- call received = the earliest `Received DtTm` of the incident's rows;
- the first ambulance on scene is the ambulance row with the earliest `On Scene DtTm` (the
  first such row in file order on a tie); with none, the ambulance row dispatched first; its
  `Dispatch DtTm` and `Response DtTm` give call handling and turnout;
- the transporting ambulance is the ambulance row with the earliest `Hospital DtTm` (else
  `Transport DtTm`); its `Transport DtTm` is "left scene", its `Available DtTm` "available";
- percentiles are numpy's default (linear, type 7).
"""

import json
import sys

import pandas as pd

FMT = "%m/%d/%Y %I:%M:%S %p"
TIMES = {
    "Received DtTm": "received",
    "Dispatch DtTm": "dispatched",
    "Response DtTm": "departed",
    "On Scene DtTm": "on_scene",
    "Transport DtTm": "left_scene",
    "Hospital DtTm": "at_hospital",
    "Available DtTm": "available",
}


def summary(s):
    s = pd.Series(s, dtype="float64").dropna()
    s = s[s >= 0]
    if s.empty:
        return None
    return {
        "count": int(s.size),
        "mean": float(s.mean()),
        "median": float(s.quantile(0.5)),
        "p90": float(s.quantile(0.9)),
    }


def minutes(a, b):
    return (b - a).dt.total_seconds() / 60.0


def main(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = len(df)
    for col, name in TIMES.items():
        # DataSF writes local time (America/Los_Angeles); localise so that DST is honoured.
        t = pd.to_datetime(df[col].replace("", None), format=FMT)
        df[name] = t.dt.tz_localize("America/Los_Angeles", ambiguous=True, nonexistent="NaT")
    df["order"] = range(rows)
    df["amb"] = df["Unit Type"].str.strip().str.upper().isin(["MEDIC", "PRIVATE"])
    out = []
    for _, g in df.groupby("Incident Number", sort=False):
        rec = {"received": g["received"].min(), "units": len(g)}
        amb = g[g["amb"]]
        rec["ambulances"] = len(amb)
        on = amb[amb["on_scene"].notna()]
        if not on.empty:
            first = on.sort_values(["on_scene", "order"], kind="stable").iloc[0]
        elif amb["dispatched"].notna().any():
            d = amb[amb["dispatched"].notna()]
            first = d.sort_values(["dispatched", "order"], kind="stable").iloc[0]
        elif not amb.empty:
            first = amb.iloc[0]
        else:
            first = None
        for k in ["dispatched", "departed", "on_scene"]:
            rec[k] = first[k] if first is not None else pd.NaT
        tr = amb[amb["at_hospital"].notna() | amb["left_scene"].notna()].copy()
        if not tr.empty:
            tr["key"] = tr["at_hospital"].fillna(tr["left_scene"])
            t = tr.sort_values(["key", "order"], kind="stable").iloc[0]
            for k in ["left_scene", "at_hospital", "available"]:
                rec[k] = t[k]
        else:
            for k in ["left_scene", "at_hospital", "available"]:
                rec[k] = pd.NaT
        others = g[~g["amb"] & g["on_scene"].notna()]
        if pd.notna(rec["on_scene"]):
            others = others[others["on_scene"] < rec["on_scene"]]
        rec["other_first"] = others["on_scene"].min() if not others.empty else pd.NaT
        out.append(rec)
    inc = pd.DataFrame(out)
    first_unit = inc[["on_scene", "other_first"]].min(axis=1)
    res = {
        "rows": rows,
        "ambulance_rows": int(df["amb"].sum()),
        "incidents": len(inc),
        "without_ambulance": int((inc["ambulances"] == 0).sum()),
        "other_unit_first": int(inc["other_first"].notna().sum()),
        "response": summary(minutes(inc["received"], inc["on_scene"])),
        "call_handling": summary(minutes(inc["received"], inc["dispatched"])),
        "turnout": summary(minutes(inc["dispatched"], inc["departed"])),
        "travel": summary(minutes(inc["departed"], inc["on_scene"])),
        "scene": summary(minutes(inc["on_scene"], inc["left_scene"])),
        "transport": summary(minutes(inc["left_scene"], inc["at_hospital"])),
        "wall_time": summary(minutes(inc["at_hospital"], inc["available"])),
        "first_unit": summary(minutes(inc["received"], first_unit)),
        "transported": int(inc["at_hospital"].notna().sum()),
    }
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
