//! Losses: Burn's implementations for training, and host twins in `f64`
//! for evaluation (validation loss over any number of rows, on any backend).

use burn::nn::loss::{BinaryCrossEntropyLossConfig, CrossEntropyLossConfig, HuberLossConfig, MseLoss, Reduction};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::config::LossSpec;
use crate::data::Targets;
use crate::model::Task;

/// A batch's targets on a device, in the form its loss takes.
pub(crate) enum TargetTensor {
    /// `[rows, 1]` regression values.
    Values(Tensor<2>),
    /// `[rows]` class indices.
    Classes(Tensor<1, Int>),
}

impl TargetTensor {
    /// The targets of rows `indices`.
    pub(crate) fn gather(targets: &Targets, indices: &[usize], device: &Device) -> Self {
        match targets {
            Targets::Values(values) => {
                let v: Vec<f32> = indices.iter().map(|&i| values[i]).collect();
                Self::Values(Tensor::from_data(TensorData::new(v, [indices.len(), 1]), device))
            }
            Targets::Classes { labels, .. } => {
                let v: Vec<i64> = indices.iter().map(|&i| labels[i] as i64).collect();
                Self::Classes(Tensor::from_data(TensorData::new(v, [indices.len()]), device))
            }
        }
    }
}

/// The loss of `logits` (`[rows, n_outputs]`) against `targets`, as a `[1]` tensor.
///
/// The caller has checked that the loss fits the task and the targets the
/// task (see `LossSpec::validate`); a mismatch here is a bug.
pub(crate) fn burn_loss(
    spec: &LossSpec,
    task: Task,
    logits: Tensor<2>,
    targets: TargetTensor,
    device: &Device,
) -> Tensor<1> {
    match (spec, targets) {
        (LossSpec::Mse, TargetTensor::Values(y)) => MseLoss::new().forward(logits, y, Reduction::Mean),
        (LossSpec::Huber { delta }, TargetTensor::Values(y)) => {
            HuberLossConfig::new(*delta).init().forward(logits, y, Reduction::Mean)
        }
        (LossSpec::CrossEntropy { class_weights }, TargetTensor::Classes(y)) => {
            if matches!(task, Task::Binary) {
                let [rows, _] = logits.dims();
                BinaryCrossEntropyLossConfig::new()
                    .with_logits(true)
                    .with_weights(class_weights.clone())
                    .init(device)
                    .forward(logits.reshape([rows]), y)
            } else {
                CrossEntropyLossConfig::new()
                    .with_logits(true)
                    .with_weights(class_weights.clone())
                    .init(device)
                    .forward(logits, y)
            }
        }
        // Unreachable after validation; keep the graph valid rather than panic.
        (_, _) => logits.sum().mul_scalar(f32::NAN),
    }
}

/// The same loss on the host, in `f64`, over all rows at once.
pub(crate) fn host_loss(spec: &LossSpec, task: Task, logits: &[f32], targets: &Targets) -> f64 {
    let n = targets.len().max(1) as f64;
    match (spec, targets) {
        (LossSpec::Mse, Targets::Values(y)) => {
            logits
                .iter()
                .zip(y)
                .map(|(&p, &t)| (f64::from(p) - f64::from(t)).powi(2))
                .sum::<f64>()
                / n
        }
        (LossSpec::Huber { delta }, Targets::Values(y)) => {
            let d = f64::from(*delta);
            logits
                .iter()
                .zip(y)
                .map(|(&p, &t)| {
                    let r = (f64::from(p) - f64::from(t)).abs();
                    if r <= d { 0.5 * r * r } else { d * (r - 0.5 * d) }
                })
                .sum::<f64>()
                / n
        }
        (LossSpec::CrossEntropy { class_weights }, Targets::Classes { labels, .. }) => {
            let weight = |c: usize| class_weights.as_ref().map_or(1.0, |w| f64::from(w[c]));
            if matches!(task, Task::Binary) {
                // Burn's binary loss: mean of the weighted row losses.
                logits
                    .iter()
                    .zip(labels)
                    .map(|(&z, &t)| {
                        let z = f64::from(z);
                        let y = if t == 1 { 1.0 } else { 0.0 };
                        let softplus = z.max(0.0) + (-z.abs()).exp().ln_1p();
                        weight(t) * (softplus - y * z)
                    })
                    .sum::<f64>()
                    / n
            } else {
                // Burn's multi-class loss: weighted sum over the rows' weights.
                let k = task.n_outputs();
                let (mut num, mut den) = (0.0, 0.0);
                for (row, &t) in logits.chunks(k).zip(labels) {
                    let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
                    let lse = max + row.iter().map(|&v| (f64::from(v) - max).exp()).sum::<f64>().ln();
                    num += weight(t) * (lse - f64::from(row[t]));
                    den += weight(t);
                }
                if den > 0.0 { num / den } else { f64::NAN }
            }
        }
        _ => f64::NAN,
    }
}

#[cfg(test)]
#[cfg(feature = "flex")]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::model::read_f32;
    use crate::rng::Rng;

    fn check(spec: LossSpec, task: Task, targets: Targets) {
        let device = Backend::Flex.device().unwrap();
        let rows = targets.len();
        let k = task.n_outputs();
        let mut rng = Rng::new(5);
        let logits: Vec<f32> = (0..rows * k).map(|_| (rng.next_f64() * 8.0 - 4.0) as f32).collect();
        let t = Tensor::<2>::from_data(TensorData::new(logits.clone(), [rows, k]), &device);
        let idx: Vec<usize> = (0..rows).collect();
        let burn = burn_loss(&spec, task, t, TargetTensor::gather(&targets, &idx, &device), &device);
        let burn = f64::from(read_f32(burn, &device).unwrap()[0]);
        let host = host_loss(&spec, task, &logits, &targets);
        assert!(
            (burn - host).abs() < 1e-5 * host.abs().max(1.0),
            "{spec:?}: burn {burn} host {host}"
        );
    }

    #[test]
    fn host_losses_match_burn() {
        let values = Targets::values((0..20).map(|i| i as f32 * 0.3 - 2.0).collect()).unwrap();
        check(LossSpec::Mse, Task::Regression, values.clone());
        check(LossSpec::Huber { delta: 1.0 }, Task::Regression, values);
        let names = |k: usize| (0..k).map(|i| i.to_string()).collect::<Vec<_>>();
        let binary = Targets::classes((0..20).map(|i| i % 2).collect(), names(2)).unwrap();
        check(LossSpec::default_for(Task::Binary), Task::Binary, binary.clone());
        check(LossSpec::weighted_cross_entropy(vec![0.5, 2.0]), Task::Binary, binary);
        let multi = Targets::classes((0..21).map(|i| i % 3).collect(), names(3)).unwrap();
        let task = Task::Multiclass { n_classes: 3 };
        check(LossSpec::default_for(task), task, multi.clone());
        check(LossSpec::weighted_cross_entropy(vec![1.0, 0.2, 3.0]), task, multi);
    }
}
