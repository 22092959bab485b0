//! Helpers shared by the benchmarks.
#![allow(dead_code)]

/// Deterministic pseudo-random numbers (SplitMix64), so every run uses the same points.
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next number in `[0, 1)`.
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The demo's own-format incident log repeated to `rows` rows with fresh ids (`r0`, `r1`, ...).
pub fn demo_log_rows(rows: usize) -> String {
    let demo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/demo/incidents.csv"
    ))
    .unwrap();
    let mut lines = demo.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    let mut out = String::with_capacity(200 * rows);
    out.push_str(header);
    out.push('\n');
    for i in 0..rows {
        let row = body[i % body.len()];
        let rest = &row[row.find(',').unwrap()..];
        out.push_str(&format!("r{i}{rest}\n"));
    }
    out
}
