//! Small numeric helpers.

/// Median of a non-empty list (mean of the middle two for an even length); 0 when empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// `count / seconds`, 0 when no time elapsed.
pub fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// Serialize `[(name, value)]` as a JSON object whose keys keep the list order.
pub fn as_object<T: serde::Serialize, S: serde::Serializer>(
    v: &[(String, T)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(v.iter().map(|(k, v)| (k, v)))
}
