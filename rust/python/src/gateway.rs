//! The FIX gateway for Python: started on a running `TradingSystem` from the plain dict
//! `GatewaySettings.to_engine_dict()` produces; the acceptor runs on its own thread.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lft_gateway::codec::Limits;
use lft_gateway::server::{Counters, Gateway, GatewayConfig};
use lft_gateway::session::SessionConfig;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::gil::without_gil;
use crate::system::{config_error, get, PyTradingSystem};

/// A running FIX 4.4 acceptor.
#[pyclass(name = "Gateway", module = "lockfree_trading._core", frozen)]
pub struct PyGateway {
    gateway: Mutex<Option<Gateway>>,
    address: String,
    /// The acceptor's counters (kept after `stop`), for the admin server's metrics.
    counters: Arc<Counters>,
}

fn gateway_config(d: &Bound<'_, PyDict>) -> PyResult<GatewayConfig> {
    let listen: String = get(d, "listen", "127.0.0.1:9878".to_string())?;
    let listen = listen
        .parse()
        .map_err(|e| config_error(format!("gateway.listen: {listen:?} is not host:port ({e})")))?;
    let mut sessions = Vec::new();
    if let Some(list) = d.get_item("sessions")? {
        for (i, s) in list.cast_into::<PyList>()?.iter().enumerate() {
            let s = s.cast_into::<PyDict>()?;
            let need = |key: &str| -> PyResult<String> {
                get::<Option<String>>(&s, key, None)?
                    .ok_or_else(|| config_error(format!("gateway.sessions[{i}].{key}: missing")))
            };
            let (lo, hi): (u32, u32) = get(&s, "heartbeat_range", (1, 120))?;
            sessions.push(SessionConfig {
                our_comp_id: need("target_comp_id")?,
                their_comp_id: need("sender_comp_id")?,
                password: get(&s, "password", None::<String>)?,
                heartbeat_range: (lo, hi),
            });
        }
    }
    Ok(GatewayConfig {
        listen,
        sessions,
        limits: Limits {
            max_message_bytes: get(d, "max_message_bytes", 64 * 1024usize)?,
            max_fields: get(d, "max_fields", 512usize)?,
        },
        max_connections: get(d, "max_connections", 64usize)?,
        logon_timeout: {
            let secs: f64 = get(d, "logon_timeout_seconds", 5.0f64)?;
            if !(secs > 0.0 && secs <= 3600.0) {
                return Err(config_error(format!(
                    "gateway.logon_timeout_seconds: {secs} is not in (0, 3600]"
                )));
            }
            Duration::from_secs_f64(secs)
        },
        max_messages_per_second: get(d, "max_messages_per_second", 100_000u32)?,
        state_directory: get(d, "state_directory", None::<String>)?.map(std::path::PathBuf::from),
    })
}

impl PyGateway {
    /// The acceptor's counters (for `AdminServer`).
    pub(crate) fn counters_arc(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }
}

#[pymethods]
impl PyGateway {
    #[new]
    fn py_new(py: Python<'_>, system: &PyTradingSystem, config: &Bound<'_, PyDict>) -> PyResult<Self> {
        let cfg = gateway_config(config)?;
        let sys = Arc::clone(&system.system);
        let gw = without_gil(py, || Gateway::start(sys, cfg))
            .map_err(|e| config_error(format!("gateway.listen: cannot listen: {e}")))?;
        let address = gw.local_addr.to_string();
        let counters = Arc::clone(&gw.counters);
        Ok(PyGateway { gateway: Mutex::new(Some(gw)), address, counters })
    }

    /// The address it listens on (`host:port`).
    #[getter]
    fn address(&self) -> &str {
        &self.address
    }

    /// Counters: connections, logons, messages in and out, garbled, dropped, throttled, and
    /// `sessions`: one dict per configured session (CompIDs, logged_on, messages, rejects,
    /// execution reports).
    fn counters(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        let d = PyDict::new(py);
        if let Some(gw) = self.gateway.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let c = &gw.counters;
            for (k, v) in [
                ("connections", &c.connections),
                ("refused_connections", &c.refused_connections),
                ("logons", &c.logons),
                ("messages_in", &c.messages_in),
                ("messages_out", &c.messages_out),
                ("garbled", &c.garbled),
                ("dropped", &c.dropped),
                ("throttled", &c.throttled),
            ] {
                d.set_item(k, v.load(Relaxed))?;
            }
            let sessions = PyList::empty(py);
            for s in &c.sessions {
                let e = PyDict::new(py);
                e.set_item("sender_comp_id", &s.sender_comp_id)?;
                e.set_item("target_comp_id", &s.target_comp_id)?;
                e.set_item("logged_on", s.logged_on.load(Relaxed))?;
                for (k, v) in [
                    ("logons", &s.logons),
                    ("messages_in", &s.messages_in),
                    ("messages_out", &s.messages_out),
                    ("rejects", &s.rejects),
                    ("execution_reports", &s.execution_reports),
                ] {
                    e.set_item(k, v.load(Relaxed))?;
                }
                sessions.append(e)?;
            }
            d.set_item("sessions", sessions)?;
        }
        Ok(d.unbind())
    }

    /// Stop accepting, log every session out, and join the acceptor. Idempotent.
    fn stop(&self, py: Python<'_>) {
        let taken = self.gateway.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut gw) = taken {
            without_gil(py, move || gw.stop());
        }
    }
}
