//! `/v1/plan/...`: the planning page's what-ifs and optimisation on the live server's scenario
//! and travel model. Both are reads (nothing is recorded), so a viewer token may run them.
//!
//! Both run the library's own evaluation ([`crate::optimize::evaluate`]): the same standards
//! check `ems evaluate` and `ems optimize` print, without the incident log. One computation
//! runs at a time, on a blocking thread, so planning cannot starve dispatch; a second request
//! meanwhile gets 429 with `Retry-After`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::body::blocking;
use crate::api::error::{self, ApiError};
use crate::api::query::Params;
use crate::api::state::AppState;
use crate::optimize::SolveOptions;
use crate::optimize::evaluate::{self, BeforeAfter, Change};
use crate::optimize::plan::{DemandSource, Model, PlanRequest, Standard};
use crate::standards::{
    CheckOptions, CheckReport, ModelledResponse, NotComputed, TargetResult, Targets,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

/// `value` of query parameter `k`, or a 400 when it lies outside `lo..=hi`.
fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    k: &str,
    value: Option<T>,
    default: T,
    (lo, hi): (T, T),
) -> Result<T, ApiError> {
    let v = value.unwrap_or(default);
    if v < lo || v > hi {
        return Err(ApiError::BadRequest(format!(
            "query parameter {k}={v}: expected {lo} to {hi}"
        )));
    }
    Ok(v)
}

/// The query of `GET /v1/plan/evaluate`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EvaluateQuery {
    /// A new station at `LON,LAT` (repeatable).
    #[serde(default)]
    add: Vec<String>,
    /// Close the station with this id (repeatable).
    #[serde(default)]
    close: Vec<String>,
    /// Ambulances at each added site (default 1).
    #[param(minimum = 0, maximum = 20)]
    ambulances_per_site: Option<u32>,
}

/// A station location model of the planning page.
#[derive(Deserialize, utoipa::ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PlanModel {
    /// Mean response (the default).
    Pmedian,
    /// Coverage within `within`.
    Mclp,
    /// The fewest stations putting everyone within `within`.
    Lscp,
    /// The worst case.
    Pcenter,
}

/// The query of `GET /v1/plan/optimize`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct OptimizeQuery {
    /// `pmedian` (default, mean response), `mclp` (coverage within `within`), `lscp` (fewest
    /// stations putting everyone within `within`), `pcenter` (worst case).
    model: Option<PlanModel>,
    /// New stations (default 1; ignored by lscp).
    #[param(minimum = 1, maximum = 50)]
    add: Option<usize>,
    /// The standard: `12min` (default) or a distance such as `3.5km`.
    within: Option<String>,
    /// Branch-and-bound time limit, seconds (default 10).
    #[param(minimum = 1, maximum = 60)]
    time_limit: Option<f64>,
    /// Ambulances at each new station (default 1).
    #[param(minimum = 0, maximum = 20)]
    ambulances_per_site: Option<u32>,
}

/// What-if: add sites and close stations; the four targets and the modelled response (by
/// zone) before and after, as `ems evaluate` computes them.
#[utoipa::path(get, tag = "plan", path = "/v1/plan/evaluate",
    params(EvaluateQuery),
    responses((status = 200, body = Comparison), (status = 400, body = error::ErrorBody),
        (status = 422, body = error::ErrorBody), (status = 429, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn evaluate_plan(
    State(s): State<AppState>,
    Params(q): Params<EvaluateQuery>,
) -> Result<Json<Comparison>, ApiError> {
    let per_site: u32 = in_range("ambulances_per_site", q.ambulances_per_site, 1, (0, 20))?;
    let mut changes = Vec::new();
    for a in &q.add {
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
    for id in &q.close {
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
#[utoipa::path(get, tag = "plan", path = "/v1/plan/optimize",
    params(OptimizeQuery),
    responses((status = 200, body = Optimised), (status = 400, body = error::ErrorBody),
        (status = 422, body = error::ErrorBody), (status = 429, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn optimize_plan(
    State(s): State<AppState>,
    Params(q): Params<OptimizeQuery>,
) -> Result<Json<Optimised>, ApiError> {
    let model = match q.model.unwrap_or(PlanModel::Pmedian) {
        PlanModel::Pmedian => Model::PMedian,
        PlanModel::Mclp => Model::Mclp,
        PlanModel::Lscp => Model::Lscp,
        PlanModel::Pcenter => Model::PCenter,
    };
    let add: usize = in_range("add", q.add, 1, (1, MAX_SITES))?;
    let time_limit: f64 = in_range("time_limit", q.time_limit, 10.0, (1.0, MAX_TIME_LIMIT_S))?;
    let per_site: u32 = in_range("ambulances_per_site", q.ambulances_per_site, 1, (0, 20))?;
    let within = q.within.unwrap_or_else(|| "12min".into());
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

/// `/v1/plan/evaluate` and `/v1/plan/optimize`, with their OpenAPI paths.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(evaluate_plan))
        .routes(routes!(optimize_plan))
}
