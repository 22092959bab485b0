pub mod model;
pub mod network;
pub mod report;
pub mod spatial;
