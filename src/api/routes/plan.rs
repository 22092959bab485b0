//! `/v1/plan/...`: the planning page's what-ifs and optimisation on the live server's scenario
//! and travel model. Both are reads (nothing is recorded), so a viewer token may run them.
//!
//! Both run the library's own evaluation ([`crate::optimize::evaluate`]): the same standards
//! check `ems evaluate` and `ems optimize` print, without the incident log. One computation
//! runs at a time, on a blocking thread, so planning cannot starve dispatch; a second request
//! meanwhile gets 429 with `Retry-After`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use serde::Serialize;
use serde_json::Value;

use crate::api::body::blocking;
use crate::api::error::{self, ApiError};
use crate::api::state::AppState;
use crate::optimize::SolveOptions;
use crate::optimize::evaluate::{self, BeforeAfter, Change};
use crate::optimize::plan::{DemandSource, Model, PlanRequest, Standard};
use crate::standards::{
    CheckOptions, CheckReport, ModelledResponse, NotComputed, TargetResult, Targets,
};

/// The most sites a what-if may add, and the most new stations an optimisation may place.
const MAX_SITES: usize = 50;
/// The longest an optimisation may run, seconds.
const MAX_TIME_LIMIT_S: f64 = 60.0;

/// One side of a comparison: the targets table, the modelled response (with each zone's
/// minutes) and the figures that cannot be computed without a log.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Side {
    #[schema(value_type = Vec<Object>)]
    pub(crate) targets: Vec<TargetResult>,
    #[schema(value_type = Object)]
    pub(crate) modelled_response: Option<ModelledResponse>,
    #[schema(value_type = Vec<Object>)]
    pub(crate) not_computed: Vec<NotComputed>,
    /// The stations on this side.
    pub(crate) stations: Vec<StationBrief>,
}

/// A station on one side of a comparison.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct StationBrief {
    pub(crate) id: String,
    pub(crate) lon_lat: [f64; 2],
    pub(crate) ambulances: u32,
}

fn side(r: CheckReport, sc: &crate::model::Scenario) -> Side {
    Side {
        targets: r.targets,
        modelled_response: r.modelled_response,
        not_computed: r.not_computed,
        stations: sc
            .stations
            .iter()
            .map(|s| StationBrief {
                id: s.id.clone(),
                lon_lat: s.lon_lat,
                ambulances: s.ambulances,
            })
            .collect(),
    }
}

/// The targets and modelled response before and after a change.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Comparison {
    /// What changed, in words.
    pub(crate) changes: Vec<String>,
    pub(crate) before: Side,
    pub(crate) after: Side,
}

fn options(s: &AppState) -> CheckOptions {
    CheckOptions {
        call_handling_s: s.0.config.call_handling_s,
        turnout_s: s.0.config.turnout_s,
        hours: s.0.sc.modelled_hours(None),
    }
}

/// Runs `f` as the one planning computation at a time.
async fn one_at_a_time<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = s.0.planning.try_acquire().map_err(|_| {
        ApiError::Busy("a planning computation is already running; retry when it is done".into())
    })?;
    blocking(f).await
}

fn pairs(
    q: &[(String, String)],
    allowed: &[&str],
) -> Result<HashMap<String, Vec<String>>, ApiError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in q {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown query parameter `{k}` ({})",
                allowed.join(", ")
            )));
        }
        out.entry(k.clone()).or_default().push(v.clone());
    }
    Ok(out)
}

fn one<'a>(q: &'a HashMap<String, Vec<String>>, k: &str) -> Result<Option<&'a str>, ApiError> {
    match q.get(k).map(Vec::as_slice) {
        None | Some([]) => Ok(None),
        Some([v]) => Ok(Some(v.as_str())),
        Some(_) => Err(ApiError::BadRequest(format!(
            "query parameter {k}: given more than once"
        ))),
    }
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    q: &HashMap<String, Vec<String>>,
    k: &str,
    default: T,
    range: (T, T),
) -> Result<T, ApiError> {
    let v = match one(q, k)? {
        None => default,
        Some(v) => v.parse::<T>().map_err(|_| {
            ApiError::BadRequest(format!("query parameter {k}={v}: expected a number"))
        })?,
    };
    if v < range.0 || v > range.1 {
        return Err(ApiError::BadRequest(format!(
            "query parameter {k}={v}: expected {} to {}",
            range.0, range.1
        )));
    }
    Ok(v)
}

/// What-if: add sites and close stations; the four targets and the modelled response (by
/// zone) before and after, as `ems evaluate` computes them.
#[utoipa::path(get, path = "/v1/plan/evaluate",
    params(
        ("add" = Option<Vec<String>>, Query, description = "a new station at `LON,LAT` (repeatable)"),
        ("close" = Option<Vec<String>>, Query, description = "close the station with this id (repeatable)"),
        ("ambulances_per_site" = Option<u32>, Query, minimum = 0, maximum = 20, description = "ambulances at each added site (default 1)"),
    ),
    responses((status = 200, body = Comparison), (status = 400, body = error::ErrorBody),
        (status = 422, body = error::ErrorBody), (status = 429, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn evaluate_plan(
    State(s): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Comparison>, ApiError> {
    let q = pairs(&q, &["add", "close", "ambulances_per_site"])?;
    let per_site: u32 = number(&q, "ambulances_per_site", 1, (0, 20))?;
    let mut changes = Vec::new();
    for a in q.get("add").into_iter().flatten() {
        let p: Vec<f64> = a
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                ApiError::BadRequest(format!("query parameter add={a}: expected LON,LAT"))
            })?;
        let [lon, lat] = p[..] else {
            return Err(ApiError::BadRequest(format!(
                "query parameter add={a}: expected LON,LAT"
            )));
        };
        crate::dispatch::check_lon_lat(lon, lat)
            .map_err(|e| ApiError::Unprocessable(format!("add={a}: {e}")))?;
        s.0.tm
            .snap([lon, lat])
            .map_err(|e| ApiError::Unprocessable(format!("add={a}: {e}")))?;
        changes.push(Change::AddSite {
            lon_lat: [lon, lat],
            ambulances: per_site,
        });
    }
    for id in q.get("close").into_iter().flatten() {
        if !s.0.sc.stations.iter().any(|st| &st.id == id) {
            return Err(ApiError::Unprocessable(format!(
                "close={id}: no station `{id}`"
            )));
        }
        changes.push(Change::RemoveStation(id.clone()));
    }
    if changes.len() > MAX_SITES {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_SITES} changes at once"
        )));
    }
    let svc = s.clone();
    one_at_a_time(&s, move || {
        let sc = &svc.0.sc;
        let ba = evaluate::before_after(
            sc,
            &svc.0.tm,
            &changes,
            &Targets::default_preset(),
            &options(&svc),
            "the planning page",
        )
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
        let BeforeAfter {
            before,
            after,
            after_scenario,
        } = ba;
        Ok(Json(Comparison {
            changes: changes.iter().map(Change::label).collect(),
            before: side(before, sc),
            after: side(after, &after_scenario),
        }))
    })
    .await
}

/// A station plan and its before/after.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Optimised {
    /// The plan as `ems optimize --format json` prints it (sites, certificate, standards).
    #[schema(value_type = Object)]
    pub(crate) plan: Value,
    /// The new sites as GeoJSON points, as `ems optimize --geojson` writes them.
    #[schema(value_type = Object)]
    pub(crate) sites: Value,
    pub(crate) comparison: Comparison,
}

/// Runs a station location model on the scenario (candidates: road nodes 300 m apart) and
/// returns the new sites, the certified gap and the standards before and after.
#[utoipa::path(get, path = "/v1/plan/optimize",
    params(
        ("model" = Option<String>, Query, description = "`pmedian` (default, mean response), `mclp` (coverage within `within`), `lscp` (fewest stations putting everyone within `within`), `pcenter` (worst case)"),
        ("add" = Option<usize>, Query, minimum = 1, maximum = 50, description = "new stations (default 1; ignored by lscp)"),
        ("within" = Option<String>, Query, description = "the standard: `12min` (default) or a distance such as `3.5km`"),
        ("time_limit" = Option<f64>, Query, minimum = 1, maximum = 60, description = "branch-and-bound time limit, seconds (default 10)"),
        ("ambulances_per_site" = Option<u32>, Query, minimum = 0, maximum = 20, description = "ambulances at each new station (default 1)"),
    ),
    responses((status = 200, body = Optimised), (status = 400, body = error::ErrorBody),
        (status = 422, body = error::ErrorBody), (status = 429, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn optimize_plan(
    State(s): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Optimised>, ApiError> {
    let q = pairs(
        &q,
        &[
            "model",
            "add",
            "within",
            "time_limit",
            "ambulances_per_site",
        ],
    )?;
    let model = match one(&q, "model")?.unwrap_or("pmedian") {
        "pmedian" => Model::PMedian,
        "mclp" => Model::Mclp,
        "lscp" => Model::Lscp,
        "pcenter" => Model::PCenter,
        m => {
            return Err(ApiError::BadRequest(format!(
                "query parameter model={m}: expected pmedian, mclp, lscp or pcenter"
            )));
        }
    };
    let add: usize = number(&q, "add", 1, (1, MAX_SITES))?;
    let time_limit: f64 = number(&q, "time_limit", 10.0, (1.0, MAX_TIME_LIMIT_S))?;
    let per_site: u32 = number(&q, "ambulances_per_site", 1, (0, 20))?;
    let within = one(&q, "within")?.unwrap_or("12min");
    let standard: Standard = within
        .parse()
        .map_err(|e| ApiError::Unprocessable(format!("within={within}: {e}")))?;
    let svc = s.clone();
    one_at_a_time(&s, move || {
        let sc = &svc.0.sc;
        let opts = options(&svc);
        let req = PlanRequest {
            model,
            add,
            standard,
            demand: DemandSource::Zones,
            candidate_points: Vec::new(),
            grid_m: Some(300.0),
            relocate: false,
            call_handling_s: opts.call_handling_s,
            turnout_s: opts.turnout_s,
            hours: opts.hours,
            zone_weights: None,
            solve: SolveOptions::seconds(time_limit),
        };
        let (plan, ba) = evaluate::plan_before_after(
            sc,
            &svc.0.tm,
            &req,
            per_site,
            &Targets::default_preset(),
            &opts,
        )
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
        let plan_json =
            serde_json::to_value(crate::report::optimize::json(&plan, &ba.before, &ba.after))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        let sites = serde_json::to_value(crate::report::optimize::sites_geojson(&plan))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let changes = plan
            .new_sites
            .iter()
            .map(|n| format!("new station at {:.6},{:.6}", n.lon_lat[0], n.lon_lat[1]))
            .collect();
        Ok(Json(Optimised {
            plan: plan_json,
            sites,
            comparison: Comparison {
                changes,
                before: side(ba.before, sc),
                after: side(ba.after, &ba.after_scenario),
            },
        }))
    })
    .await
}
