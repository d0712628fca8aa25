//! The HTTP admin API for Python: started on a running `TradingSystem` from the plain dict
//! `AdminSettings.to_engine_dict()` produces, optionally with a running `Gateway` (its
//! per-session counters become metrics); the server runs on its own thread.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lft_gateway::admin::{AdminConfig, AdminServer};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::gateway::PyGateway;
use crate::gil::without_gil;
use crate::system::{config_error, get, PyTradingSystem};

/// A running HTTP admin server (`/health`, `/symbols`, `/book/{symbol}`, `/metrics`).
#[pyclass(name = "AdminServer", module = "lockfree_trading._core", frozen)]
pub struct PyAdminServer {
    server: Mutex<Option<AdminServer>>,
    address: String,
}

fn admin_config(d: &Bound<'_, PyDict>) -> PyResult<AdminConfig> {
    let defaults = AdminConfig::default();
    let listen: String = get(d, "listen", defaults.listen.to_string())?;
    let listen = listen
        .parse()
        .map_err(|e| config_error(format!("admin.listen: {listen:?} is not host:port ({e})")))?;
    let positive = |key: &str, default: usize| -> PyResult<usize> {
        let v: usize = get(d, key, default)?;
        if v == 0 {
            return Err(config_error(format!("admin.{key}: must be at least 1")));
        }
        Ok(v)
    };
    let secs: f64 = get(d, "request_timeout_seconds", defaults.request_timeout.as_secs_f64())?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err(config_error(format!("admin.request_timeout_seconds: {secs} is not in (0, 3600]")));
    }
    Ok(AdminConfig {
        listen,
        max_connections: positive("max_connections", defaults.max_connections)?,
        max_head_bytes: positive("max_head_bytes", defaults.max_head_bytes)?,
        max_headers: positive("max_headers", defaults.max_headers)?,
        request_timeout: Duration::from_secs_f64(secs),
        max_requests_per_connection: positive(
            "max_requests_per_connection",
            defaults.max_requests_per_connection,
        )?,
        max_depth: positive("max_depth", defaults.max_depth)?,
    })
}

#[pymethods]
impl PyAdminServer {
    #[new]
    #[pyo3(signature = (system, config, gateway=None))]
    fn py_new(
        py: Python<'_>,
        system: &PyTradingSystem,
        config: &Bound<'_, PyDict>,
        gateway: Option<&PyGateway>,
    ) -> PyResult<Self> {
        let cfg = admin_config(config)?;
        let sys = Arc::clone(&system.system);
        let counters = gateway.map(PyGateway::counters_arc);
        let server = without_gil(py, || AdminServer::start(sys, cfg, counters))
            .map_err(|e| config_error(format!("admin.listen: cannot listen: {e}")))?;
        let address = server.local_addr.to_string();
        Ok(PyAdminServer { server: Mutex::new(Some(server)), address })
    }

    /// The address it listens on (`host:port`).
    #[getter]
    fn address(&self) -> &str {
        &self.address
    }

    /// Stop: close every connection and join the server thread. Idempotent.
    fn stop(&self, py: Python<'_>) {
        let taken = self.server.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut s) = taken {
            without_gil(py, move || s.stop());
        }
    }
}
