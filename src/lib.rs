//! `ems`: an ambulance coverage optimizer and live dispatch engine on one OpenStreetMap
//! spatial core.
//!
//! Planners ask where the next station should go and how many ambulances it needs; dispatch
//! centres ask which unit reaches a caller first and which hospital should take the patient;
//! annual checks ask whether the district meets its targets (station service radius, ambulances
//! per population, ambulance detention at hospitals, mean response time). All three are answered
//! on the same road graph, the same spatial indexes and the same travel-time model, built here
//! from OpenStreetMap data.
//!
//! The data flows one way: files → [`model`] / [`network`] → analyses → [`report`] / [`api`].
//!
//! # Layout
//! - [`network`]: the road graph. OSM PBF/XML import, the compact CSR query graph, speed
//!   profiles, snapping, Dijkstra, travel-time matrices, the binary cache, DIMACS `.gr` reading.
//!   [`TravelModel`] is the one travel-time model; a scenario's is built by
//!   [`TravelModel::for_scenario`], which shares the road network behind an `Arc`.
//!   `network::ch` is a contraction hierarchy over the same graph (point-to-point and
//!   many-to-many queries, buckets kept for "units within N minutes", oracle-tested against
//!   Dijkstra); the travel model answers large matrices with it, and the cache stores it. `network::traffic` holds time-of-day traffic
//!   profiles; `TravelModel::at_hour` re-weights the graph for an hour and `matrix_over` averages
//!   over hours.
//! - [`spatial`]: the local metric projection, the R-tree indexes (road pieces, points),
//!   polygon validation, and Chinese map coordinates (GCJ-02, BD-09 ↔ WGS 84, `spatial::china`).
//! - [`model`]: stations, hospitals, demand zones, the region boundary, incidents, and the TOML
//!   scenario that names them; population from building footprints; the embedded demo. Incident
//!   logs from other systems are read through column mappings (`model::incidents::mapping`:
//!   presets `ems`, `ems-units`, `datasf`, `nemsis-v3`, `nyc-ems`, `china-120`, or a file), rows grouped into
//!   incidents by `model::incidents::read`.
//! - [`standards`]: the annual standards check (and `standards::calibrate`, the fit of a traffic
//!   profile to a log's drives): target presets, the indicators and their
//!   definitions (with typed units, comparisons and sources), the log's own figures
//!   (`standards::log`: handover distribution, wall-time proxy, transport, multi-unit response,
//!   figures not computed), the log-only check, data-quality exclusions.
//! - [`optimize`]: location models with certified gaps (p-median, MCLP, LSCP, p-center) and
//!   ambulance placement models (MEXCLP, backup coverage) on one branch and bound with one
//!   subgradient driver; one [`Certificate`] and one [`SolveOptions`] (time limit and node
//!   budget) for all; benchmark readers; station planning, the changes a plan or a what-if makes
//!   to a scenario (`optimize::change`), and what-if evaluation.
//! - [`dispatch`]: the live fleet state (units, incidents, handover queues), the unit
//!   lifecycle, the event log and its replay, the dispatch rules (nearest unit by road ETA,
//!   hospital by designation and detention) shared with the simulator, and the live coverage
//!   rules (coverage now, the best move-up, today's figures) in `dispatch::coverage`; the
//!   log's stores behind one interface in `dispatch::store` (an embedded SQLite file, or
//!   PostgreSQL shared by several replicas, with migration, repair and live backup); group
//!   commit, taking back what a failed commit held and following other replicas' commits in
//!   `dispatch::journal`; the move-up policies (compliance tables, dynamic MEXCLP) shared with
//!   the simulator in `dispatch::policy`, and the live posting in `dispatch::posting`; today's
//!   figures as running sums in `dispatch::today`.
//! - [`api`]: the axum router behind `ems serve`, split by concern (state, bearer roles, JSON
//!   bodies and idempotent writes, the event stream, the OpenAPI document, one route file per
//!   resource); handlers are thin. The dispatch board's page and assets (`src/api/web/`: HTML,
//!   JS, CSS, vendored Leaflet and a Chinese font subset, each with its licence) are compiled
//!   in and served by `api::routes::web`.
//! - [`simulate`]: the discrete-event simulation of a year of calls with busy units and
//!   hospital handover, Larson's exact hypercube model as its oracle (sparse Gauss–Seidel), and
//!   the generator of the demo's synthetic incident log.
//! - [`report`]: text, typed JSON and GeoJSON, and HTML pages from askama templates
//!   (`src/report/templates/`: one base layout, the map and histogram partials); the web
//!   pages' base map in `report::basemap`.
//! - `src/main.rs` and `src/cli/` (the binary): the `ems` command line, one file per subcommand
//!   (`import`, `init`, `route`, `population`, `calibrate`, `check`, `synth-incidents`,
//!   `demand`, `optimize`, `evaluate`, `solve-instance`, `simulate`, `serve`, `db`, `demo`),
//!   each a clap `Args` struct and its `run`,
//!   with typed option values (`LON,LAT`, `grid:300m`, `12min`, `STATION=N`) that clap parses.
//!
//! # Glossary
//! - **ETA**: estimated time of arrival; here the road travel time from a point to another,
//!   plus any fixed delay (turnout) the caller adds.
//! - **Response time**: call received → ambulance on scene; the sum of call handling
//!   (received → dispatched), turnout (dispatched → departed) and travel (departed → on scene).
//! - **Snapping**: placing a lon/lat on the nearest point of the road graph; the remaining part
//!   of the edge counts in the travel time.
//! - **SCC**: strongly connected component. Only the largest is kept, so every kept node can
//!   reach every other.
//! - **CSR**: compressed sparse row, the array layout of the query graph.
//! - **Speed profile**: the per-road-class speeds of a vehicle (car, ambulance with lights and
//!   siren) and its emergency options: against one-way streets, emergency-only ways, bus-only
//!   roads and bus lanes (kept at free flow in traffic).
//! - **Demand zone**: an area whose residents (or calls) are represented by one point.
//! - **Service radius (服务半径)**: the official figure `sqrt(A / (π N))` for area `A` and `N`
//!   stations: the radius of a circle with the district's area per station.
//! - **LSCP**: location set covering problem, the fewest stations that cover all demand.
//! - **MCLP**: maximal covering location problem (Church & ReVelle 1974), the most demand covered
//!   with `p` stations.
//! - **p-median**: the `p` sites minimising the demand-weighted mean travel time.
//! - **p-center**: the `p` sites minimising the worst travel time.
//! - **MEXCLP**: maximal expected covering (Daskin 1983), coverage when ambulances are busy with
//!   probability `q`.
//! - **Busy fraction `q`**: the share of time an ambulance is on a job; calls per hour × mean
//!   job hours ÷ fleet size.
//! - **DSM (backup coverage)**: the double standard model (Gendreau, Laporte & Semet 1997): the
//!   most demand within a primary standard of two ambulances, with everyone within a secondary
//!   standard and a share α within the primary one.
//! - **Lagrangian bound / gap**: a proven bound from relaxing constraints into the objective;
//!   the gap `|bound − objective| / bound` says how far an answer can be from the optimum.
//! - **压车 (ambulance detention)**: an ambulance held at the emergency department because the
//!   hospital has not taken over the patient (stretcher); the detention rate is the share of
//!   hospital arrivals whose handover exceeds a threshold.
//! - **Handover**: ambulance arrival at hospital → patient taken over by the emergency department.
//!   Also "ambulance patient offload time" (APOT, California) or "transfer of care" (NEMSIS).
//! - **Wall-time proxy**: hospital arrival → unit back in service, for logs without a
//!   transfer-of-care time; longer than the handover (it includes cleaning and restocking).
//! - **Column mapping**: how another system's incident export maps onto our fields (columns,
//!   time formats and zone, coordinate system, which rows are ambulances, row filters).
//! - **GCJ-02 / BD-09**: the obfuscated coordinate systems of Chinese web maps (AMap and Tencent;
//!   Baidu), offset from WGS 84 by hundreds of metres.
//! - **AVL**: automatic vehicle location, the live GPS position of a unit.
//! - **Turnout**: dispatched → departed, the time a crew at its station needs to roll.
//! - **Move-up**: moving an idle unit to another station to fill a coverage gap while others
//!   are busy.
//! - **Idempotency key**: a client-chosen request id; a retry with the same key gets the first
//!   answer and changes nothing.
//! - **Hypercube model**: Larson's exact queueing model of `N` distinguishable servers with
//!   fixed dispatch preferences (`2^N` states); the simulator's oracle.
//! - **Common random numbers**: two simulated plans draw the same calls and service times, so
//!   their difference is not noise.
//! - **SSE**: Server-Sent Events, a one-way HTTP stream of events to dispatch screens.
//! - **Group commit**: several concurrent writes in one transaction and one fsync, each
//!   acknowledged only once that fsync is done.
//! - **Compliance table**: for each number of free ambulances, the stations they should stand
//!   at; a move-up policy that follows it.
//! - **DMEXCLP**: dynamic MEXCLP (Jagtenberg et al. 2015): a freed ambulance goes where it adds
//!   the most expected coverage given where the other free ones are.
//! - **Replica**: one of several `ems serve` processes sharing one event log in PostgreSQL; any
//!   of them answers reads and writes.
//! - **Sequence number (`EMS-Seq`)**: an event's place in the log; an answer's `EMS-Seq` says
//!   how much of the log it reflects, and `EMS-Min-Seq` asks for at least that much.
//! - **Optimistic concurrency**: a replica appends at the sequence number it computed and fails
//!   if another appended first, then catches up and tries again (no lock held between
//!   replicas).

pub mod api;
pub mod dispatch;
pub mod model;
pub mod network;
pub mod optimize;
pub mod report;
pub mod simulate;
pub mod spatial;
pub mod standards;

pub use api::{AppState, Config, app, run};
pub use dispatch::Fleet;
pub use model::Scenario;
pub use network::{RoadNetwork, SpeedProfile, TravelModel, TravelSettings};
pub use optimize::{Certificate, SiteOptions, SolveOptions};
pub use standards::{CheckOptions, CheckReport, Targets, check};
