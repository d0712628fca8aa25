//! The five public-shape scenarios look, to a book, like the published figures of the
//! public matching-engine benchmark they imitate (2M messages, seed 42): resting orders and
//! levels in the published order of magnitude and order, and the mid's range at each
//! scenario's target swing. Bands are wide: the published figures are approximate, and the
//! point is the shape, not the digits (`lft-bench shape` prints the exact values).

use lft_bench::shape::{measure, ShapeReport};
use lft_workload::Scenario;

fn shapes() -> Vec<ShapeReport> {
    Scenario::PUBLIC.iter().map(|&sc| measure(sc, 2_000_000, 42, 2_000)).collect()
}

#[test]
fn public_shapes_have_the_published_depth_levels_and_swing() {
    let s = shapes();
    for r in &s {
        eprintln!("{}", lft_bench::shape::describe(r));
        assert!((0.13..0.17).contains(&r.ioc_share), "{}: IOC share {}", r.scenario, r.ioc_share);
        assert!(r.rejected > 0, "{}: the flow must miss some orders", r.scenario);
    }
    let [st, normal, sw25, sw40, crash] = &s[..] else { panic!("five scenarios") };
    // static: ~21k standing on average, ~42k at the peak, on ~60 levels, the mid still.
    assert!((15_000.0..28_000.0).contains(&st.resting_mean), "static resting {}", st.resting_mean);
    assert!((30_000..55_000).contains(&st.resting_peak), "static peak {}", st.resting_peak);
    assert!((40.0..80.0).contains(&st.levels_mean), "static levels {}", st.levels_mean);
    assert!(st.mid_range.1 - st.mid_range.0 <= 2, "static mid {:?}", st.mid_range);
    assert!(st.fills < 20_000, "static fills {}", st.fills);
    // The moving ones: fewer orders standing as the swing grows, over hundreds of levels.
    assert!((2_000.0..3_400.0).contains(&normal.resting_mean), "normal resting {}", normal.resting_mean);
    assert!((1_000.0..1_800.0).contains(&sw25.resting_mean), "swing-25 resting {}", sw25.resting_mean);
    assert!((500.0..950.0).contains(&sw40.resting_mean), "swing-40 resting {}", sw40.resting_mean);
    assert!((170.0..350.0).contains(&crash.resting_mean), "flash-crash resting {}", crash.resting_mean);
    assert!((600.0..1_200.0).contains(&sw25.levels_mean), "swing-25 levels {}", sw25.levels_mean);
    assert!((380.0..750.0).contains(&sw40.levels_mean), "swing-40 levels {}", sw40.levels_mean);
    assert!((150.0..320.0).contains(&crash.levels_mean), "flash-crash levels {}", crash.levels_mean);
    // The mid's range, as a share of the 100,000-tick start: 2%, 25%, 40%, 60%.
    for (r, swing) in [(normal, 0.02), (sw25, 0.25), (sw40, 0.40), (crash, 0.60)] {
        let range = (r.mid_range.1 - r.mid_range.0) as f64 / 100_000.0;
        assert!(
            (swing * 0.85..swing * 1.1).contains(&range),
            "{}: mid range {range} for {swing}",
            r.scenario
        );
    }
}

#[test]
fn public_shapes_are_deterministic_and_leave_the_project_scenarios_alone() {
    use lft_workload::{generate, GeneratorConfig};
    for sc in Scenario::PUBLIC {
        let a = generate(GeneratorConfig::new(sc, 9), 50_000);
        assert_eq!(a, generate(GeneratorConfig::new(sc, 9), 50_000), "{sc:?}");
        assert_eq!(sc.name().parse::<Scenario>(), Ok(sc));
    }
    assert_eq!(Scenario::EVERY.len(), Scenario::ALL.len() + Scenario::PUBLIC.len());
}
