//! `lockfree_trading._core`: the thin PyO3 layer over `lft-engine`. No matching logic
//! lives here: only argument conversion, result objects and the error mapping.

mod admin;
mod analysis;
mod batch;
mod book;
mod convert;
mod durability;
mod enums;
mod errors;
mod gateway;
mod gil;
mod html;
mod objects;
mod statistics;
mod system;
mod workload;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<enums::PySide>()?;
    m.add_class::<enums::PyOrderType>()?;
    m.add_class::<enums::PyTimeInForce>()?;
    m.add_class::<enums::PyOrderStatus>()?;
    m.add_class::<objects::PyTrade>()?;
    m.add_class::<objects::PyOrderUpdate>()?;
    m.add_class::<objects::PyExecutionReport>()?;
    m.add_class::<objects::PyLevel>()?;
    m.add_class::<objects::PyDepth>()?;
    m.add_class::<objects::PyLevelStats>()?;
    m.add_class::<objects::PyOrder>()?;
    m.add_class::<batch::PyBatchResult>()?;
    m.add_class::<book::PyOrderBook>()?;
    m.add_class::<workload::PyReplayStats>()?;
    m.add_class::<system::PyTradingSystem>()?;
    m.add_class::<system::PyPendingReport>()?;
    m.add_class::<system::PyBookView>()?;
    m.add_class::<system::PyEvent>()?;
    m.add_class::<system::PySubscription>()?;
    m.add_class::<gateway::PyGateway>()?;
    m.add_class::<admin::PyAdminServer>()?;
    m.add_function(wrap_pyfunction!(workload::py_generate_workload, m)?)?;
    m.add_function(wrap_pyfunction!(durability::py_verify_recovery, m)?)?;
    m.add_function(wrap_pyfunction!(durability::py_journal_inspect, m)?)?;
    m.add_function(wrap_pyfunction!(durability::py_journal_dump, m)?)?;
    Ok(())
}
