//! Hand-rolled command-line parsing: `lft-bench COMMAND [--key value | --key=value | --flag]...`.

use std::str::FromStr;

use lft_workload::Scenario;

/// Parsed command line.
#[derive(Clone, Debug, Default)]
pub struct Args {
    /// The subcommand.
    pub command: String,
    opts: Vec<(String, Option<String>)>,
}

/// Options that take no value.
const BOOLEAN: &[&str] = &["no-pin", "pin-workers", "quick", "help"];

impl Args {
    /// Parse everything after the program name. `allowed` lists the options each command
    /// accepts (without the leading dashes); anything else is an error.
    pub fn parse<I: IntoIterator<Item = String>>(
        args: I,
        allowed: impl Fn(&str) -> &'static [&'static str],
    ) -> Result<Args, String> {
        let mut it = args.into_iter().peekable();
        let command = it.next().ok_or("missing command")?;
        let ok = allowed(&command);
        let mut opts = Vec::new();
        while let Some(a) = it.next() {
            let Some(body) = a.strip_prefix("--") else {
                return Err(format!("unexpected argument {a:?}"));
            };
            let (key, inline) = match body.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (body.to_string(), None),
            };
            if !ok.contains(&key.as_str()) && key != "help" {
                return Err(format!("`{command}` does not take --{key}"));
            }
            let value = if BOOLEAN.contains(&key.as_str()) {
                if inline.is_some() {
                    return Err(format!("--{key} takes no value"));
                }
                None
            } else {
                match inline {
                    Some(v) => Some(v),
                    None => Some(it.next().ok_or_else(|| format!("--{key} needs a value"))?),
                }
            };
            opts.push((key, value));
        }
        Ok(Args { command, opts })
    }

    /// Last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.opts.iter().rev().find(|(k, _)| k == key).and_then(|(_, v)| v.as_deref())
    }

    /// Whether a boolean option is present.
    pub fn flag(&self, key: &str) -> bool {
        self.opts.iter().any(|(k, _)| k == key)
    }

    /// A number option (accepts `_` separators and k/M/G suffixes), or `default`.
    pub fn number(&self, key: &str, default: f64) -> Result<f64, String> {
        self.get(key).map_or(Ok(default), |v| parse_number(v).map_err(|e| format!("--{key}: {e}")))
    }

    /// A count option, or `default`.
    pub fn count(&self, key: &str, default: usize) -> Result<usize, String> {
        let n = self.number(key, default as f64)?;
        if n < 0.0 || n.fract() != 0.0 {
            return Err(format!("--{key} must be a non-negative integer"));
        }
        Ok(n as usize)
    }

    /// Comma-separated scenarios, or `default`.
    pub fn scenarios(&self, key: &str, default: &[Scenario]) -> Result<Vec<Scenario>, String> {
        match self.get(key) {
            None => Ok(default.to_vec()),
            Some(v) => v.split(',').filter(|s| !s.trim().is_empty()).map(Scenario::from_str).collect(),
        }
    }

    /// Comma-separated numbers, if given.
    pub fn numbers(&self, key: &str) -> Result<Option<Vec<f64>>, String> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| parse_number(s).map_err(|e| format!("--{key}: {e}")))
                    .collect()
            })
            .transpose()
    }
}

/// `1000000`, `1_000_000`, `1e6`, `1M`, `500k`.
pub fn parse_number(s: &str) -> Result<f64, String> {
    let t = s.trim().replace('_', "");
    let (body, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        Some('g' | 'G') => (&t[..t.len() - 1], 1e9),
        _ => (t.as_str(), 1.0),
    };
    body.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v * mult)
        .ok_or_else(|| format!("not a number: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(_: &str) -> &'static [&'static str] {
        &["count", "rates", "quick", "scenarios"]
    }

    #[test]
    fn parses_forms() {
        let a = Args::parse(
            ["x", "--count", "2M", "--rates=1e6,500k", "--quick", "--scenarios", "static,flash-crash"]
                .map(String::from),
            allowed,
        )
        .unwrap();
        assert_eq!(a.count("count", 5).unwrap(), 2_000_000);
        assert_eq!(a.numbers("rates").unwrap().unwrap(), vec![1e6, 5e5]);
        assert!(a.flag("quick"));
        assert_eq!(a.scenarios("scenarios", &[]).unwrap(), vec![Scenario::Static, Scenario::FlashCrash]);
        assert!(Args::parse(["x", "--bogus", "1"].map(String::from), allowed).is_err());
        assert!(Args::parse(["x", "--count"].map(String::from), allowed).is_err());
    }
}
