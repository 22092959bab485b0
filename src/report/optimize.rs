//! Station plans as text, JSON and GeoJSON.

use serde::Serialize;

use super::geojson::{PointCollection, point_collection};
use crate::optimize::plan::{FleetPlan, Model, Plan};
use crate::standards::{CheckReport, TargetResult, Unit};

fn fmt(v: Option<f64>, unit: Unit) -> String {
    match v {
        None => "n/a".into(),
        Some(v) if unit == Unit::Share => format!("{:.1} %", v * 100.0),
        Some(v) => format!("{v:.2}"),
    }
}

/// `proven optimal` or why not.
fn proof(optimal: bool) -> &'static str {
    if optimal {
        "proven optimal"
    } else {
        "search limit reached"
    }
}

/// The plan as text, with the standards before and after.
pub fn text(p: &Plan, before: &CheckReport, after: &CheckReport, within: &str) -> String {
    let mut o = format!(
        "ems optimize: {} — add {} station(s), keep {} ({}); {} demand points ({:.0} in all), {} candidate sites\n",
        p.model,
        p.new_sites.len(),
        p.kept_stations.len(),
        p.kept_stations.join(", "),
        p.demand_points,
        p.total_demand,
        p.candidates
    );
    let what = match p.model {
        Model::Mclp => format!("covered within {within}"),
        Model::Lscp => format!("new stations needed for everyone within {within}"),
        Model::PCenter => "worst-case response (min)".into(),
        Model::PMedian | Model::Mexclp | Model::Backup => "mean response (min)".into(),
    };
    let c = &p.cert;
    o.push_str(&format!(
        "objective: {what} {:.2}, bound {:.2}, gap {:.2} % ({}), {:.2} s\n",
        c.objective,
        c.bound,
        c.gap_pct,
        proof(c.optimal),
        c.seconds
    ));
    o.push_str(&format!("travel times: {}\n", p.travel));
    o.push_str("\nNew sites\n");
    for (k, s) in p.new_sites.iter().enumerate() {
        o.push_str(&format!(
            "  {}. ({:.6}, {:.6}) on OSM way {} ({:.0} m from the point), nearest station for {:.0}, newly covered {:.0}\n",
            k + 1,
            s.lon_lat[0],
            s.lon_lat[1],
            s.road_way_id,
            s.snap_distance_m,
            s.served,
            s.newly_covered
        ));
    }
    o.push_str(&format!(
        "\nBefore -> after (standards from the model; log-only figures show n/a)\n  modelled mean response      {:.2} -> {:.2} min (gain {:.2} min)\n  covered within {within:<12} {:.0} -> {:.0} ({:.1} % -> {:.1} %)\n",
        p.mean_response_before_min,
        p.mean_response_after_min,
        p.mean_response_before_min - p.mean_response_after_min,
        p.covered_before,
        p.covered_after,
        100.0 * p.covered_before / p.total_demand.max(1e-9),
        100.0 * p.covered_after / p.total_demand.max(1e-9)
    ));
    o.push_str(&standards_rows(before, after));
    if !p.unreachable_demand.is_empty() {
        o.push_str(&format!(
            "\n{} demand points no candidate reaches were left out\n",
            p.unreachable_demand.len()
        ));
    }
    o
}

/// The standards targets before and after, a line each.
fn standards_rows(before: &CheckReport, after: &CheckReport) -> String {
    let mut o = String::new();
    for (b, a) in before.targets.iter().zip(&after.targets) {
        o.push_str(&format!(
            "  {} {}: {} -> {} ({})\n",
            b.label_zh,
            b.label_en,
            fmt(b.value, b.unit),
            fmt(a.value, a.unit),
            a.source
        ));
    }
    o
}

/// The summary lines of a station plan's HTML page.
pub fn summary(p: &Plan) -> Vec<String> {
    vec![
        format!(
            "Model {}: {} new station(s); objective {:.2} (bound {:.2}, gap {:.2} %{}).",
            p.model,
            p.new_sites.len(),
            p.cert.objective,
            p.cert.bound,
            p.cert.gap_pct,
            if p.cert.optimal {
                ", proven optimal"
            } else {
                ""
            }
        ),
        format!(
            "Modelled mean response {:.2} → {:.2} min; residents within the standard {:.0} → {:.0} of {:.0}.",
            p.mean_response_before_min,
            p.mean_response_after_min,
            p.covered_before,
            p.covered_after,
            p.total_demand
        ),
    ]
}

/// The summary lines of an ambulance placement's HTML page.
pub fn fleet_summary(p: &FleetPlan) -> Vec<String> {
    let mut v = vec![format!(
        "Model {}: {} ambulances ({}; current fleet {}); objective {:.2} (bound {:.2}, gap {:.2} %{}); current fleet where it stands {:.2}.",
        p.model,
        p.ambulances,
        p.ambulances_source,
        p.current_fleet,
        p.cert.objective,
        p.cert.bound,
        p.cert.gap_pct,
        if p.cert.optimal {
            ", proven optimal"
        } else {
            ""
        },
        p.objective_before
    )];
    v.push(
        p.sites
            .iter()
            .map(|s| format!("{} {} → {}", s.id, s.before, s.after))
            .collect::<Vec<_>>()
            .join("; "),
    );
    v.push(format!(
        "Modelled mean response {:.2} → {:.2} min; residents within the standard {:.0} → {:.0}, twice {:.0} → {:.0}, of {:.0}.",
        p.mean_response_before_min,
        p.mean_response_after_min,
        p.covered_before,
        p.covered_after,
        p.covered_twice_before,
        p.covered_twice_after,
        p.total_demand
    ));
    v
}

/// A target's value, threshold and verdict, for before/after comparisons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetBrief {
    pub id: &'static str,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub pass: Option<bool>,
}

impl From<&TargetResult> for TargetBrief {
    fn from(t: &TargetResult) -> Self {
        TargetBrief {
            id: t.id,
            value: t.value,
            threshold: t.threshold,
            pass: t.pass,
        }
    }
}

/// `ems optimize --format json`: the plan (station plan or ambulance placement) and the
/// standards targets before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanJson<'a, P> {
    pub plan: &'a P,
    pub standards_before: Vec<TargetBrief>,
    pub standards_after: Vec<TargetBrief>,
}

/// A plan with the standards before and after, for JSON.
pub fn json<'a, P>(p: &'a P, before: &CheckReport, after: &CheckReport) -> PlanJson<'a, P> {
    PlanJson {
        plan: p,
        standards_before: before.targets.iter().map(TargetBrief::from).collect(),
        standards_after: after.targets.iter().map(TargetBrief::from).collect(),
    }
}

/// A new site's GeoJSON properties.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteProperties {
    pub id: String,
    pub rank: usize,
    pub model: Model,
    pub on_road: [f64; 2],
    pub snap_distance_m: f64,
    pub osm_way: i64,
    pub served: f64,
    pub newly_covered: f64,
}

/// The new sites as a GeoJSON FeatureCollection.
pub fn sites_geojson(p: &Plan) -> PointCollection<SiteProperties> {
    point_collection(p.new_sites.iter().enumerate().map(|(k, s)| {
        (
            s.lon_lat,
            SiteProperties {
                id: crate::model::Station::new_site_id(k),
                rank: k + 1,
                model: p.model,
                on_road: s.on_road,
                snap_distance_m: s.snap_distance_m,
                osm_way: s.road_way_id,
                served: s.served,
                newly_covered: s.newly_covered,
            },
        )
    }))
}

/// What-if variants as a ranked table.
pub fn evaluate_text(vs: &[crate::optimize::evaluate::Variant]) -> String {
    let mut o =
        String::from("What-if evaluation (modelled; ranked by mean response, fastest first)\n");
    o.push_str(&format!(
        "  {:<44} {:>10} {:>9} {:>11} {:>9} {:>10} {:>10}\n",
        "variant", "mean min", "change", "within tgt", "change", "radius km", "amb./30k"
    ));
    for v in vs {
        let t = |id: &str| v.targets.iter().find(|t| t.id == id).and_then(|t| t.value);
        o.push_str(&format!(
            "  {:<44} {:>10.2} {:>+9.2} {:>10.1}% {:>+8.1}% {:>10.2} {:>10.2}\n",
            v.label,
            v.mean_response_min,
            v.mean_response_change_min,
            v.share_within_target * 100.0,
            v.share_within_target_change * 100.0,
            t("service_radius_km").unwrap_or(f64::NAN),
            t("ambulances_per_30k").unwrap_or(f64::NAN)
        ));
    }
    if let Some(v) = vs.first() {
        o.push_str(&format!("travel times: {}\n", v.travel));
    }
    o
}

/// An ambulance placement as text.
pub fn fleet_text(
    p: &FleetPlan,
    before: &CheckReport,
    after: &CheckReport,
    within: &str,
    secondary: &str,
) -> String {
    let pct = |v: f64| 100.0 * v / p.total_demand.max(1e-9);
    let mut o = format!(
        "ems optimize: {} — {} ambulances ({}; current fleet {}) over {} candidate sites; {} demand points ({:.0} in all)\n",
        p.model,
        p.ambulances,
        p.ambulances_source,
        p.current_fleet,
        p.candidates,
        p.demand_points,
        p.total_demand
    );
    if let Some(b) = &p.busy {
        match (b.calls_per_hour, b.mean_job_min) {
            (Some(c), Some(j)) => o.push_str(&format!(
                "busy fraction q = {:.3} from the {}: {:.3} calls/h x {:.1} min per job ({} jobs measured) / {} ambulances\n",
                b.q, b.source, c, j, b.jobs_measured, p.ambulances
            )),
            _ => o.push_str(&format!("busy fraction q = {:.3} ({})\n", b.q, b.source)),
        }
    }
    let what = match p.model {
        Model::Mexclp => format!("expected demand covered within {within}"),
        _ => format!("demand covered twice within {within} (everyone within {secondary})"),
    };
    let c = &p.cert;
    o.push_str(&format!(
        "objective: {what} {:.2} ({:.1} %), bound {:.2}, gap {:.2} % ({}), {:.2} s\n",
        c.objective,
        pct(c.objective),
        c.bound,
        c.gap_pct,
        proof(c.optimal),
        c.seconds
    ));
    o.push_str(&format!(
        "current fleet where it stands: {:.2} ({:.1} %)\n\nAmbulances per site (now -> plan)\n",
        p.objective_before,
        pct(p.objective_before)
    ));
    for s in &p.sites {
        o.push_str(&format!(
            "  {:<16} ({:.6}, {:.6})  {} -> {}\n",
            s.id, s.lon_lat[0], s.lon_lat[1], s.before, s.after
        ));
    }
    o.push_str(&format!(
        "\nBefore -> after (modelled; log-only figures show n/a)\n  mean response from the nearest staffed site  {:.2} -> {:.2} min\n  covered within {within:<12}               {:.1} % -> {:.1} %\n  covered twice within {within:<12}         {:.1} % -> {:.1} %\n",
        p.mean_response_before_min,
        p.mean_response_after_min,
        pct(p.covered_before),
        pct(p.covered_after),
        pct(p.covered_twice_before),
        pct(p.covered_twice_after)
    ));
    o.push_str(&standards_rows(before, after));
    if !p.unreachable_demand.is_empty() {
        o.push_str(&format!(
            "\n{} demand points no candidate reaches were left out\n",
            p.unreachable_demand.len()
        ));
    }
    o
}

/// A placement site's GeoJSON properties.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetSiteProperties {
    pub id: String,
    pub model: Model,
    pub ambulances: usize,
    pub ambulances_before: usize,
}

/// The sites holding ambulances in the plan, as a GeoJSON FeatureCollection.
pub fn fleet_geojson(p: &FleetPlan) -> PointCollection<FleetSiteProperties> {
    point_collection(p.sites.iter().filter(|s| s.after > 0).map(|s| {
        (
            s.lon_lat,
            FleetSiteProperties {
                id: s.id.clone(),
                model: p.model,
                ambulances: s.after,
                ambulances_before: s.before,
            },
        )
    }))
}

/// A compliance table as text: one line per level.
pub fn compliance_text(t: &crate::dispatch::policy::ComplianceTable) -> String {
    let mut o = format!(
        "Compliance table for {} ({} stations, busy fraction {:.3}, weights: {})\n  {:>4} {:>16} {:>9} {:>6}  posts\n",
        t.scenario,
        t.stations.len(),
        t.busy_fraction,
        t.weights,
        "free",
        "expected cover",
        "gap %",
        "moves",
    );
    for l in &t.levels {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for p in &l.posts {
            match counts.iter_mut().find(|(s, _)| s == p) {
                Some(c) => c.1 += 1,
                None => counts.push((p.clone(), 1)),
            }
        }
        let posts: Vec<String> = counts
            .iter()
            .map(|(s, c)| {
                if *c > 1 {
                    format!("{s}×{c}")
                } else {
                    s.clone()
                }
            })
            .collect();
        o.push_str(&format!(
            "  {:>4} {:>16.1} {:>9.3} {:>6}  {}\n",
            l.free_units,
            l.expected_coverage,
            l.gap_pct,
            l.moves_from_previous,
            posts.join(", ")
        ));
    }
    o.push_str(
        "expected cover: demand weight covered by a free unit within the standard, counting \
         each unit free with probability 1 - busy fraction; gap: against the MEXCLP bound for \
         that many units; moves: units of the level above that stand elsewhere\n",
    );
    o
}

/// A compliance table as CSV: `free_units,slot,station,expected_coverage,bound,gap_pct`.
pub fn compliance_csv(t: &crate::dispatch::policy::ComplianceTable) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut rows: Vec<[String; 6]> = vec![[
        "free_units".into(),
        "slot".into(),
        "station".into(),
        "expected_coverage".into(),
        "bound".into(),
        "gap_pct".into(),
    ]];
    for l in &t.levels {
        for (k, s) in l.posts.iter().enumerate() {
            rows.push([
                l.free_units.to_string(),
                (k + 1).to_string(),
                s.clone(),
                l.expected_coverage.to_string(),
                l.bound.to_string(),
                l.gap_pct.to_string(),
            ]);
        }
    }
    for r in rows {
        // Writing to memory cannot fail.
        let _ = w.write_record(&r);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
