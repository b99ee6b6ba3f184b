//! Search curves from per-step values of several runs: the running maximum (best so far)
//! and the mean ± standard deviation over runs at each step, ready for
//! [`super::plot::step_plot`].

use super::plot::StepCurve;

/// The running maximum of `vals` (monotone non-decreasing): entry i is the largest finite
/// value among `vals[..=i]`, NaN before the first finite value. Non-finite values are
/// skipped.
pub fn running_max(vals: &[f64]) -> Vec<f64> {
    let mut best = f64::NAN;
    vals.iter()
        .map(|&v| {
            if v.is_finite() && (best.is_nan() || v > best) {
                best = v;
            }
            best
        })
        .collect()
}

/// Per step (x = 1, 2, …, the longest run's length) the mean and the sample standard
/// deviation (0 for a single value) of the runs' finite values at that step; NaN mean
/// where no run has one.
pub fn mean_std_by_step(runs: &[Vec<f64>]) -> Vec<(f64, f64, f64)> {
    let steps = runs.iter().map(Vec::len).max().unwrap_or(0);
    (0..steps)
        .map(|i| {
            let v: Vec<f64> = runs.iter().filter_map(|r| r.get(i).copied()).filter(|x| x.is_finite()).collect();
            let x = (i + 1) as f64;
            if v.is_empty() {
                return (x, f64::NAN, f64::NAN);
            }
            let n = v.len() as f64;
            let m = v.iter().sum::<f64>() / n;
            let sd =
                if v.len() > 1 { (v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
            (x, m, sd)
        })
        .collect()
}

/// One search run's accuracies, per step (index i = step i+1): of the architecture
/// evaluated at that step, and of the fitness-best architecture so far; NaN when unknown.
#[derive(Clone, Debug, Default)]
pub struct RunAccuracy {
    /// Accuracy of the architecture evaluated at each step.
    pub evaluated: Vec<f64>,
    /// Accuracy of the fitness-best architecture after each step.
    pub fitness_best: Vec<f64>,
}

/// Which accuracy curves a search figure shows.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curves {
    /// The highest accuracy among the architectures evaluated so far (monotone; an
    /// oracle's view).
    BestSoFar,
    /// The accuracy of the architecture the fitness ranks best so far (what the search
    /// would return if stopped there).
    FitnessBest,
    /// Both.
    Both,
}

/// The accuracy curves of one set of runs (mean ± std over runs, accuracies multiplied
/// by `scale`): best so far (solid, [`running_max`] of the evaluated accuracies) and/or
/// fitness-best (dashed), in colours `colours` (best so far, fitness-best), labelled
/// `"{label}: best so far"` and `"{label}: fitness-best architecture"` (without the
/// prefix when `label` is empty; just `label` when only one curve is asked for). A curve
/// without any finite value is left out.
pub fn accuracy_curves(
    runs: &[RunAccuracy],
    which: Curves,
    scale: f64,
    label: &str,
    colours: (usize, usize),
) -> Vec<StepCurve> {
    let name = |what: &str| match (label.is_empty(), which) {
        (true, _) => what.to_string(),
        (false, Curves::Both) => format!("{label}: {what}"),
        (false, _) => label.to_string(),
    };
    let scaled = |v: &[f64]| v.iter().map(|x| x * scale).collect::<Vec<f64>>();
    let mut out = Vec::new();
    if which != Curves::FitnessBest {
        let best: Vec<Vec<f64>> = runs.iter().map(|r| running_max(&scaled(&r.evaluated))).collect();
        let points = mean_std_by_step(&best);
        if points.iter().any(|p| p.1.is_finite()) {
            out.push(StepCurve { label: name("best so far"), colour: colours.0, dashed: false, points });
        }
    }
    if which != Curves::BestSoFar {
        let fb: Vec<Vec<f64>> = runs.iter().map(|r| scaled(&r.fitness_best)).collect();
        let points = mean_std_by_step(&fb);
        if points.iter().any(|p| p.1.is_finite()) {
            out.push(StepCurve { label: name("fitness-best architecture"), colour: colours.1, dashed: true, points });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_so_far_is_monotone_and_fitness_best_may_fall() {
        // The fitness-best architecture's accuracy goes down at step 4; the best-so-far
        // curve must not, in every run and in the mean.
        let a = RunAccuracy {
            evaluated: vec![f64::NAN, 80.0, 93.0, 70.0, f64::NAN, 91.0, 94.0],
            fitness_best: vec![f64::NAN, 80.0, 93.0, 70.0, 70.0, 70.0, 94.0],
        };
        let b = RunAccuracy {
            evaluated: vec![60.0, 50.0, 90.0, 95.0, 10.0, 10.0],
            fitness_best: vec![60.0, 60.0, 90.0, 85.0, 85.0, 85.0],
        };
        let rm = running_max(&a.evaluated);
        assert!(rm[0].is_nan());
        assert_eq!(&rm[1..], &[80.0, 93.0, 93.0, 93.0, 93.0, 94.0]);
        let curves = accuracy_curves(&[a, b], Curves::Both, 1.0, "", (0, 1));
        assert_eq!(curves.len(), 2);
        let best = &curves[0];
        assert_eq!(best.label, "best so far");
        assert!(!best.dashed && curves[1].dashed);
        assert_eq!(best.points.len(), 7);
        let means: Vec<f64> = best.points.iter().map(|p| p.1).collect();
        for w in means.windows(2) {
            assert!(w[1] >= w[0], "best so far fell: {means:?}");
        }
        assert_eq!(best.points[0], (1.0, 60.0, 0.0));
        assert_eq!(best.points[6], (7.0, 94.0, 0.0));
        // Step 4: runs at 93 and 95.
        assert_eq!(best.points[3].1, 94.0);
        assert!((best.points[3].2 - 2f64.sqrt()).abs() < 1e-12);
        let fb: Vec<f64> = curves[1].points.iter().map(|p| p.1).collect();
        assert!(fb.windows(2).any(|w| w[1] < w[0]), "the fitness-best curve is not forced monotone");
        let only = accuracy_curves(&[RunAccuracy::default()], Curves::Both, 100.0, "x", (1, 1));
        assert!(only.is_empty());
        let r = RunAccuracy { evaluated: vec![0.5], fitness_best: vec![0.5] };
        let c = accuracy_curves(std::slice::from_ref(&r), Curves::Both, 100.0, "random, sjw", (2, 2));
        assert_eq!(c[1].label, "random, sjw: fitness-best architecture");
        assert_eq!(c[0].points, vec![(1.0, 50.0, 0.0)]);
        let c = accuracy_curves(&[r], Curves::BestSoFar, 1.0, "random, sjw", (2, 2));
        assert_eq!((c.len(), c[0].label.as_str()), (1, "random, sjw"));
    }

    #[test]
    fn mean_std_handles_ragged_runs() {
        let m = mean_std_by_step(&[vec![1.0, 2.0, 3.0], vec![3.0]]);
        assert_eq!(m[0], (1.0, 2.0, 2f64.sqrt()));
        assert_eq!(m[2], (3.0, 3.0, 0.0));
        assert!(mean_std_by_step(&[]).is_empty());
        assert!(mean_std_by_step(&[vec![f64::NAN]])[0].1.is_nan());
    }
}
