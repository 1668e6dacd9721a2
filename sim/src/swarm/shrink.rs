//! Delta debugging (Zeller's ddmin) over a failing plan's steps: the smallest list of
//! steps, found by removing chunks, that still fails. Any failure counts (a shrunk
//! run may fail in a different way than the original; the report says which).

use super::{execute, Plan, Step, SwarmConfig};

/// Shrinks `plan`'s steps, running at most `budget` candidate runs.
pub fn shrink(cfg: &SwarmConfig, plan: &Plan, budget: usize) -> Vec<Step> {
    let fails = |steps: &[Step]| execute(cfg, plan, steps, false).failure.is_some();
    // Everything after the failing step is irrelevant.
    let mut cur: Vec<Step> = match execute(cfg, plan, &plan.steps, false).failure {
        Some(f) => plan.steps[..(f.step + 1).min(plan.steps.len())].to_vec(),
        None => return plan.steps.clone(),
    };
    let mut runs = 0;
    let mut n = 2usize;
    while cur.len() >= 2 && runs < budget {
        let chunk = cur.len().div_ceil(n);
        let mut reduced = None;
        for i in 0..n {
            let (lo, hi) = (i * chunk, ((i + 1) * chunk).min(cur.len()));
            if lo >= hi {
                continue;
            }
            // Try the complement of chunk i.
            let candidate: Vec<Step> = cur[..lo].iter().chain(&cur[hi..]).cloned().collect();
            runs += 1;
            if fails(&candidate) {
                reduced = Some(candidate);
                break;
            }
            if runs >= budget {
                break;
            }
        }
        if let Some(smaller) = reduced {
            cur = smaller;
            n = (n - 1).max(2);
            continue;
        }
        if n >= cur.len() {
            break;
        }
        n = (2 * n).min(cur.len());
    }
    cur
}
