//! The standards check as a terminal report (Chinese and English labels) and as JSON.

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::standards::{
    self, CheckReport, Exclusions, NotComputed, OverThreshold, Summary, TargetResult, Unit,
    WeightedSummary,
};

/// Pads to a display width (CJK characters are two columns wide).
fn pad(s: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w).max(1)))
}

/// A target's figure in its unit, never rounded onto the other side of its threshold
/// ([`standards::shown`]).
pub(crate) fn fmt_target(t: &TargetResult, share_decimals: usize) -> String {
    let show = |v: f64, threshold: Option<f64>, d: usize| {
        standards::shown(v, threshold, t.pass, t.comparison, d)
    };
    match (t.value, t.unit) {
        (None, _) => "no data".into(),
        (Some(v), Unit::Share) => format!(
            "{} %",
            show(v * 100.0, t.threshold.map(|x| x * 100.0), share_decimals)
        ),
        (Some(v), Unit::Km | Unit::Min) => format!("{} {}", show(v, t.threshold, 2), t.unit),
        (Some(v), Unit::Vehicles) => show(v, t.threshold, 2),
    }
}

fn fmt_threshold(t: &TargetResult) -> String {
    match (t.threshold, t.unit) {
        (None, _) => "(none)".into(),
        (Some(v), Unit::Share) => format!("{} {:.1} %", t.comparison, v * 100.0),
        (Some(v), Unit::Km | Unit::Min) => format!("{} {v} {}", t.comparison, t.unit),
        (Some(v), Unit::Vehicles) => format!("{} {v}", t.comparison),
    }
}

fn verdict(p: Option<bool>) -> &'static str {
    match p {
        Some(true) => "PASS 达标",
        Some(false) => "FAIL 未达标",
        None => "n/a",
    }
}

fn summary_line(s: &Summary, unit: &str) -> String {
    format!(
        "n {}, mean {:.2}, median {:.2}, P90 {:.2}, P95 {:.2}, min {:.2}, max {:.2} {unit}",
        s.count, s.mean, s.median, s.p90, s.p95, s.min, s.max
    )
}

fn weighted_line(s: &WeightedSummary, unit: &str) -> String {
    format!(
        "mean {:.2}, median {:.2}, P90 {:.2}, P95 {:.2}, max {:.2} {unit} (weighted by {:.0} residents in {} zones)",
        s.mean, s.median, s.p90, s.p95, s.max, s.total_weight, s.count
    )
}

fn exclusions(o: &mut String, label: &str, e: &Exclusions) {
    if e.count == 0 {
        return;
    }
    let shown: Vec<String> = e.lines.iter().take(20).map(|l| l.to_string()).collect();
    let more = if e.count > shown.len() {
        format!(" and {} more", e.count - shown.len())
    } else {
        String::new()
    };
    o.push_str(&format!(
        "  {label}: {} rows (CSV lines {}{more})\n",
        e.count,
        shown.join(", ")
    ));
}

/// The check as text.
pub fn text(r: &CheckReport) -> String {
    let mut o = String::new();
    o.push_str(&format!(
        "ems check: {}\nTargets: {} ({})\n",
        r.scenario
            .as_deref()
            .unwrap_or("incident log only (no scenario)"),
        r.targets_id,
        r.targets_name
    ));
    if let Some(g) = &r.region {
        o.push_str(&format!(
            "Region 区域: {:.2} km² ({}), {} stations 站点, {} ambulances 救护车, {:.0} residents 常住人口 ({})\n",
            g.area_km2, g.area_source, g.stations, g.ambulances, g.population, g.population_source
        ));
    }
    if let Some(l) = &r.log {
        for n in &l.notes {
            o.push_str(&format!("Log 记录: {n}\n"));
        }
        if l.call_times_only {
            o.push_str("Log 记录: CALL TIMES ONLY: no incident has a dispatch, on-scene or hospital time; the figures below that need them are not computed (see \"Not computed\")\n");
        }
    }
    o.push('\n');
    let w = [58, 12, 14, 14];
    o.push_str(&format!(
        "{}{}{}{}{}\n",
        pad("指标 Indicator", w[0]),
        pad("值 Value", w[1]),
        pad("目标 Target", w[2]),
        pad("结果 Result", w[3]),
        "来源 Source"
    ));
    o.push_str(&format!("{}\n", "-".repeat(w.iter().sum::<usize>() + 12)));
    for t in &r.targets {
        let value = match t.value {
            None if not_computed(r, t.id).is_some() => "not computed".to_string(),
            _ => fmt_target(t, 1),
        };
        o.push_str(&format!(
            "{}{}{}{}{}\n",
            pad(&format!("{} {}", t.label_zh, t.label_en), w[0]),
            pad(&value, w[1]),
            pad(&fmt_threshold(t), w[2]),
            pad(verdict(t.pass), w[3]),
            t.source
        ));
    }
    service_radius(&mut o, r);
    fleet(&mut o, r);
    detention(&mut o, r);
    response(&mut o, r);
    transport(&mut o, r);
    multi_unit(&mut o, r);
    modelled(&mut o, r);
    not_computed_section(&mut o, r);
    data_quality(&mut o, r);
    o
}

/// Why a figure is not computed, if it is listed as such.
fn not_computed<'a>(r: &'a CheckReport, figure: &str) -> Option<&'a NotComputed> {
    r.not_computed.iter().find(|n| n.figure == figure)
}

fn needs(o: &mut String, r: &CheckReport, figure: &str) {
    match not_computed(r, figure) {
        Some(n) => o.push_str(&format!("  not computed: {}\n", n.why)),
        None => o.push_str("  not computed\n"),
    }
}

/// 1. The official service radius and the network reality beside it.
fn service_radius(o: &mut String, r: &CheckReport) {
    o.push_str("\n1. Service radius 服务半径\n");
    let (Some(g), Some(sr)) = (&r.region, &r.service_radius) else {
        return needs(o, r, "service_radius_km");
    };
    o.push_str(&format!(
        "  official r = sqrt(A / (pi N)) = sqrt({:.2} / (pi x {})) = {:.3} km\n  network reality: each zone's fastest station by road; distance along that route, population-weighted\n",
        g.area_km2, g.stations, sr.official_km
    ));
    if let Some(d) = &sr.road_distance_km {
        o.push_str(&format!(
            "  road distance to the nearest station: {}\n",
            weighted_line(d, "km")
        ));
    }
    if let Some(t) = &sr.travel_time_min {
        o.push_str(&format!(
            "  road travel time to the nearest station: {}\n",
            weighted_line(t, "min")
        ));
    }
    if let Some(s) = sr.share_within_radius_by_road {
        o.push_str(&format!(
            "  residents within {} km of a station by road: {:.1} %\n",
            sr.radius_km,
            s * 100.0
        ));
    }
}

/// 2. Ambulances against the population.
fn fleet(o: &mut String, r: &CheckReport) {
    o.push_str(
        "\n2. Ambulances 救护车配置 (required = ceil(population / residents per ambulance))\n",
    );
    let Some(f) = &r.fleet else {
        return needs(o, r, "ambulances_per_30k");
    };
    o.push_str(&format!(
        "  {} ambulances for {:.0} residents: required ceil(P / {}) = {}, shortfall {}, {} per 30,000\n",
        f.ambulances,
        f.population,
        f.residents_per_ambulance_target,
        f.required,
        f.shortfall,
        f.per_30k.map(|v| format!("{v:.2}")).unwrap_or_else(|| "n/a".into())
    ));
    match (f.negative_pressure, f.negative_pressure_share) {
        (Some(n), Some(s)) => {
            o.push_str(&format!(
                "  negative-pressure ambulances: {n} ({:.1} %)",
                s * 100.0
            ));
            if !f.negative_pressure_unknown_stations.is_empty() {
                o.push_str(&format!(
                    ", unknown at {}",
                    f.negative_pressure_unknown_stations.join(", ")
                ));
            }
            o.push('\n');
        }
        _ => o.push_str("  negative-pressure ambulances: not stated in the stations file\n"),
    }
}

fn over_list(over: &[OverThreshold]) -> String {
    over.iter()
        .map(|t| {
            format!(
                "> {} min {} ({:.1} %)",
                t.over_min,
                t.count,
                t.share * 100.0
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// 3. Detention at hospitals and the handover distribution.
fn detention(o: &mut String, r: &CheckReport) {
    o.push_str("\n3. Detention at hospitals 压车 (handover = at_hospital -> handover_complete; detained if over the threshold)\n");
    let Some(d) = &r.detention else {
        return o.push_str("  no incident log\n");
    };
    if d.hospital_arrivals == 0 {
        o.push_str(&format!(
            "  no hospital arrival in the log: the detention rate cannot be computed; lost hours {:.1} h\n",
            d.lost_hours
        ));
    } else if d.arrivals == 0 {
        needs(o, r, "detention_rate");
    } else {
        o.push_str(&format!(
            "  {} of {} arrivals with a valid handover took over {} min: {}; lost hours (handover beyond {} min) {:.1} h\n",
            d.detained,
            d.arrivals,
            d.threshold_min,
            d.rate.map(|r| format!("{:.2} %", r * 100.0)).unwrap_or_else(|| "n/a".into()),
            d.lost_after_min,
            d.lost_hours
        ));
        if let Some(s) = &d.handover_min {
            o.push_str(&format!("  handover: {}\n", summary_line(s, "min")));
            o.push_str(&format!("  handover over: {}\n", over_list(&d.over)));
        }
        for h in &d.per_hospital {
            o.push_str(&format!(
                "  {} {} arrivals, P50 {:.1} min, P90 {:.1} min, detained {} ({:.1} %), {}, lost {:.1} h\n",
                pad(&h.name, 36),
                h.arrivals,
                h.median_min,
                h.p90_min,
                h.detained,
                h.detention_rate * 100.0,
                over_list(&h.over),
                h.lost_hours
            ));
        }
    }
    if let Some(w) = &d.wall_time_proxy {
        o.push_str(&format!(
            "  WALL-TIME PROXY, not the handover ({}):\n    {}\n    over: {}\n",
            w.definition,
            summary_line(&w.summary, "min"),
            over_list(&w.over)
        ));
        for h in &w.per_hospital {
            o.push_str(&format!(
                "    {} {} arrivals, P50 {:.1} min, P90 {:.1} min, {}\n",
                pad(&h.name, 34),
                h.arrivals,
                h.median_min,
                h.p90_min,
                over_list(&h.over)
            ));
        }
    }
}

/// 4. Response times from the log.
fn response(o: &mut String, r: &CheckReport) {
    o.push_str("\n4. Response time from the log 反应时间（记录） (call_received -> first ambulance on scene)\n");
    let Some(resp) = &r.response else {
        return o.push_str("  no incident log\n");
    };
    o.push_str(&format!(
        "  {} incidents, {} reached a scene with a valid time\n",
        resp.incidents, resp.reached_scene
    ));
    match &resp.overall {
        Some(g) => o.push_str(&format!(
            "  response: {}; within {} min: {:.1} %\n",
            summary_line(&g.summary, "min"),
            resp.target_min,
            g.share_within_target * 100.0
        )),
        None => needs(o, r, "mean_response_min"),
    }
    let stages = [
        (
            "call handling (received -> dispatched)",
            &resp.call_handling_min,
        ),
        ("turnout (dispatched -> departed)", &resp.turnout_min),
        ("travel (departed -> on scene)", &resp.travel_min),
    ];
    for (label, s) in stages {
        if let Some(s) = s {
            o.push_str(&format!("  {label}: {}\n", summary_line(s, "min")));
        }
    }
    if let Some(d) = resp.departure_3min_rate {
        o.push_str(&format!("  3-minute departure rate: {:.1} %\n", d * 100.0));
    }
    for (p, g) in &resp.by_priority {
        o.push_str(&format!(
            "  priority {p}: n {}, mean {:.2}, P90 {:.2} min, within {} min {:.1} %\n",
            g.summary.count,
            g.summary.mean,
            g.summary.p90,
            resp.target_min,
            g.share_within_target * 100.0
        ));
    }
    for (z, g) in &resp.by_zone {
        o.push_str(&format!(
            "  zone {}n {}, mean {:.2}, P90 {:.2} min, within {} min {:.1} %\n",
            pad(&format!("{z}:"), 24),
            g.summary.count,
            g.summary.mean,
            g.summary.p90,
            resp.target_min,
            g.share_within_target * 100.0
        ));
    }
}

/// 4b. Scene and transport times.
fn transport(o: &mut String, r: &CheckReport) {
    let Some(t) = &r.transport else { return };
    if t.scene_min.is_none() && t.transport_min.is_none() && t.call_to_hospital_min.is_none() {
        return;
    }
    o.push_str(&format!(
        "\n4b. Scene and transport 现场与转运 ({} incidents with a hospital arrival)\n",
        t.transported
    ));
    let rows = [
        (
            "on scene (first ambulance on scene -> left scene)",
            &t.scene_min,
        ),
        ("transport (left scene -> at hospital)", &t.transport_min),
        (
            "call to hospital (received -> at hospital)",
            &t.call_to_hospital_min,
        ),
    ];
    for (label, s) in rows {
        if let Some(s) = s {
            o.push_str(&format!("  {label}: {}\n", summary_line(s, "min")));
        }
    }
}

/// 4c. Several units per incident.
fn multi_unit(o: &mut String, r: &CheckReport) {
    let Some(m) = &r.multi_unit else { return };
    o.push_str(&format!(
        "\n4c. Units per incident 多车/多单位 ({} rows: {} ambulance, {} other units)\n  {} incidents, {:.2} units each, {} with more than one unit; {} with no ambulance (not in the ambulance response)\n",
        m.rows.rows,
        m.rows.ambulance_rows,
        m.rows.other_rows,
        m.incidents,
        m.units_per_incident,
        m.multi_unit_incidents,
        m.without_ambulance
    ));
    if m.other_unit_first > 0 {
        let kinds: Vec<String> = m
            .other_unit_first_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        o.push_str(&format!(
            "  another unit was on scene before the first ambulance in {} incidents ({})\n",
            m.other_unit_first,
            kinds.join(", ")
        ));
        if let Some(s) = &m.other_unit_lead_min {
            o.push_str(&format!(
                "  its lead over the ambulance: {}\n",
                summary_line(s, "min")
            ));
        }
    }
    if let Some(s) = &m.first_unit_response_min {
        o.push_str(&format!(
            "  first unit of any kind on scene (call -> on scene): {}\n",
            summary_line(s, "min")
        ));
    }
    if m.rows.other_rows_with_hospital_times > 0 {
        o.push_str(&format!(
            "  {} non-ambulance rows with transport or hospital times: left out of transport and handover\n",
            m.rows.other_rows_with_hospital_times
        ));
    }
}

/// What this check cannot give.
fn not_computed_section(o: &mut String, r: &CheckReport) {
    if r.not_computed.is_empty() {
        return;
    }
    o.push_str("\nNot computed 无法计算\n");
    for n in &r.not_computed {
        o.push_str(&format!("  {}: {}", n.figure, n.why));
        if let Some(i) = &n.instead {
            o.push_str(&format!("; instead: {i}"));
        }
        o.push('\n');
    }
}

/// 5. The modelled response time.
fn modelled(o: &mut String, r: &CheckReport) {
    let Some(m) = &r.modelled_response else {
        return;
    };
    o.push_str(&format!(
        "\n5. Modelled response time 模型反应时间 (call handling {} s + turnout {} s + road travel from the nearest station)\n",
        m.call_handling_s, m.turnout_s
    ));
    o.push_str(&format!("  travel times: {}\n", m.travel));
    if let Some(s) = &m.summary {
        o.push_str(&format!("  {}\n", weighted_line(s, "min")));
    }
    if let Some(s) = m.share_within_target {
        o.push_str(&format!(
            "  residents within {} min: {:.1} %\n",
            m.target_min,
            s * 100.0
        ));
    }
    for z in &m.zones {
        o.push_str(&format!(
            "  {} {:>8.0} residents  {:>6.2} min  ({:.2} km from {})\n",
            pad(&z.name, 28),
            z.population,
            z.modelled_response_min,
            z.distance_km,
            z.station
        ));
    }
}

/// 6. What was left out of the figures, and why.
fn data_quality(o: &mut String, r: &CheckReport) {
    let dq = &r.data_quality;
    o.push_str(&format!(
        "\n6. Data quality 数据质量\n  {} rows in the log\n",
        dq.rows
    ));
    if let Some(l) = &r.log {
        o.push_str(&format!(
            "  {} rows read into {} incidents; {} rows left out by the mapping's filters; {} unparseable rows\n",
            l.rows_read,
            l.read_incidents,
            dq.skipped.iter().map(|s| s.count).sum::<u64>(),
            dq.invalid_rows.len()
        ));
    }
    if !dq.invalid_rows.is_empty() {
        o.push_str(&format!(
            "  {} unparseable rows skipped (--skip-invalid):\n",
            dq.invalid_rows.len()
        ));
        for row in dq.invalid_rows.iter().take(20) {
            o.push_str(&format!(
                "    line {}: field `{}`: {}\n",
                row.line, row.field, row.message
            ));
        }
    }
    exclusions(
        o,
        "on_scene before call_received (left out of response times)",
        &dq.response_out_of_order,
    );
    exclusions(
        o,
        "handover_complete before at_hospital (left out of detention)",
        &dq.handover_out_of_order,
    );
    exclusions(
        o,
        "at_hospital without handover_complete (left out of detention)",
        &dq.handover_missing,
    );
    exclusions(
        o,
        "dispatched before call_received (left out of call handling)",
        &dq.call_handling_out_of_order,
    );
    exclusions(
        o,
        "departed before dispatched (left out of turnout)",
        &dq.turnout_out_of_order,
    );
    exclusions(
        o,
        "on_scene before departed (left out of travel)",
        &dq.travel_out_of_order,
    );
    exclusions(
        o,
        "left_scene before on_scene (left out of scene time)",
        &dq.scene_out_of_order,
    );
    exclusions(
        o,
        "at_hospital before left_scene (left out of transport)",
        &dq.transport_out_of_order,
    );
    exclusions(
        o,
        "available before at_hospital (left out of the wall-time proxy)",
        &dq.wall_time_out_of_order,
    );
    exclusions(
        o,
        "incidents outside the region boundary (left out of the region's figures)",
        &dq.outside_region,
    );
    exclusions(
        o,
        "incidents without coordinates (in the log figures, not on the map)",
        &dq.no_location,
    );
    if let Some(h) = &dq.coordinate_hint {
        o.push_str(&format!("  COORDINATES: {h}\n"));
    }
    for s in &dq.skipped {
        let lines: Vec<String> = s.lines.iter().map(|l| l.to_string()).collect();
        o.push_str(&format!(
            "  {} rows left out: {} (first lines {})\n",
            s.count,
            s.reason,
            lines.join(", ")
        ));
    }
    for x in &dq.off_map {
        o.push_str(&format!("  {x}: left out\n"));
    }
    if !dq.unstaffed_stations.is_empty() {
        o.push_str(&format!(
            "  stations with no ambulance, not counted as stations (radius, nearest station): {}\n",
            dq.unstaffed_stations.join(", ")
        ));
    }
    if !dq.unsnapped_zones.is_empty() {
        o.push_str(&format!(
            "  zones off the road network: {}\n",
            dq.unsnapped_zones.join(", ")
        ));
    }
    if !dq.unreachable_zones.is_empty() {
        o.push_str(&format!(
            "  zones no station reaches: {}\n",
            dq.unreachable_zones.join(", ")
        ));
    }
}

/// How each headline figure is defined, in the JSON for scripts that read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Definitions {
    pub service_radius_km: &'static str,
    pub ambulances_per_30k: &'static str,
    pub detention_rate: &'static str,
    pub mean_response_min: &'static str,
    pub departure_3min_rate: &'static str,
    pub handover_distribution: &'static str,
    pub wall_time_proxy: &'static str,
    pub scene_min: &'static str,
    pub transport_min: &'static str,
    pub first_unit_response_min: &'static str,
    pub percentiles: &'static str,
}

/// The definitions `ems check --format json` states.
pub const DEFINITIONS: Definitions = Definitions {
    service_radius_km: "sqrt(A / (pi * N)), A = region area km2, N = stations",
    ambulances_per_30k: "ambulances * 30000 / population",
    detention_rate: "share of hospital arrivals with a valid handover whose handover (at_hospital -> handover_complete) exceeds threshold_min",
    mean_response_min: "mean of on_scene - call_received over incidents that reached a scene (incident log), else population-weighted modelled response",
    departure_3min_rate: "share of turnouts (dispatched -> departed) within 3 minutes",
    handover_distribution: "handover (at_hospital -> handover_complete): P50, P90, count and share strictly over each of handover_thresholds_min, lost hours = sum of max(0, handover - handover_lost_after_min) / 60, overall and per hospital",
    wall_time_proxy: "at_hospital -> available (unit back in service), where the log has both: a proxy for the handover, never used for the detention rate",
    scene_min: "first ambulance on scene -> the transporting ambulance leaves the scene",
    transport_min: "left_scene -> at_hospital, of the transporting ambulance",
    first_unit_response_min: "call_received -> the first unit of any kind on scene (logs with one row per unit)",
    percentiles: "type 7 (linear interpolation) for samples; inverse weighted CDF for population-weighted figures",
};

/// `ems check --format json`: the stable core (`region`, `targets`), the detailed sections and
/// the definitions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckJson {
    #[serde(flatten)]
    pub report: CheckReport,
    pub definitions: Definitions,
}

/// The check as JSON: the stable core (`region`, `targets`) and the detailed sections.
pub fn json(r: &CheckReport) -> CheckJson {
    CheckJson {
        report: r.clone(),
        definitions: DEFINITIONS,
    }
}
