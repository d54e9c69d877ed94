//! Training hyperparameters: optimizer, learning-rate schedule, loss,
//! batching, validation split, early stopping and seed.
//!
//! Everything here is plain data (serde), recorded verbatim in each
//! [`RunRecord`](crate::RunRecord); [`Hyperparameters::validate`] turns bad
//! values into [`Error::InvalidHyperparameter`] before any tensor exists.

use serde::{Deserialize, Serialize};

use crate::model::{ModelSpec, Task};
use crate::{Error, Result};

/// The optimizer (Burn's `burn::optim` implementations).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OptimizerSpec {
    /// Adam with optional L2 weight decay (added to the gradient).
    Adam {
        /// First-moment decay, in [0, 1).
        beta_1: f32,
        /// Second-moment decay, in [0, 1).
        beta_2: f32,
        /// Denominator stabiliser, > 0.
        epsilon: f32,
        /// L2 penalty, >= 0 (0 disables it).
        weight_decay: f32,
    },
    /// AdamW: Adam with decoupled weight decay.
    AdamW {
        /// First-moment decay, in [0, 1).
        beta_1: f32,
        /// Second-moment decay, in [0, 1).
        beta_2: f32,
        /// Denominator stabiliser, > 0.
        epsilon: f32,
        /// Decoupled weight decay, >= 0.
        weight_decay: f32,
    },
    /// Stochastic gradient descent with optional momentum.
    Sgd {
        /// Momentum factor in [0, 1) (0 disables momentum).
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
        /// L2 penalty, >= 0.
        weight_decay: f32,
    },
}

impl OptimizerSpec {
    /// Adam with Burn's defaults (0.9, 0.999, 1e-5) and no weight decay.
    #[must_use]
    pub fn adam() -> Self {
        Self::Adam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
            weight_decay: 0.0,
        }
    }

    /// AdamW with Burn's defaults (0.9, 0.999, 1e-5, weight decay 1e-4).
    #[must_use]
    pub fn adamw() -> Self {
        Self::AdamW {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
            weight_decay: 1e-4,
        }
    }

    /// Plain SGD (no momentum, no weight decay).
    #[must_use]
    pub fn sgd() -> Self {
        Self::Sgd {
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    /// SGD with the given momentum.
    #[must_use]
    pub fn sgd_momentum(momentum: f64) -> Self {
        Self::Sgd {
            momentum,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    fn validate(&self) -> Result<()> {
        let unit = |name: &'static str, v: f64| {
            if v.is_finite() && (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::hyper(name, format!("{v} is outside [0, 1)")))
            }
        };
        let non_negative = |name: &'static str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::hyper(name, format!("{v} must be a finite number >= 0")))
            }
        };
        match *self {
            Self::Adam {
                beta_1,
                beta_2,
                epsilon,
                weight_decay,
            }
            | Self::AdamW {
                beta_1,
                beta_2,
                epsilon,
                weight_decay,
            } => {
                unit("optimizer.beta_1", f64::from(beta_1))?;
                unit("optimizer.beta_2", f64::from(beta_2))?;
                if !(epsilon.is_finite() && epsilon > 0.0) {
                    return Err(Error::hyper("optimizer.epsilon", format!("{epsilon} must be > 0")));
                }
                non_negative("optimizer.weight_decay", f64::from(weight_decay))
            }
            Self::Sgd {
                momentum, weight_decay, ..
            } => {
                unit("optimizer.momentum", momentum)?;
                non_negative("optimizer.weight_decay", f64::from(weight_decay))
            }
        }
    }
}

/// How the learning rate changes from epoch to epoch (Burn's
/// `burn::lr_scheduler`, stepped once per epoch).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LrSchedule {
    /// The base learning rate throughout.
    #[default]
    Constant,
    /// Multiply by `gamma` every `step_size` epochs: epoch `e` (1-based) runs
    /// at `base * gamma^floor((e - 1) / step_size)`.
    Step {
        /// Epochs between decays (> 0).
        step_size: usize,
        /// Decay factor in (0, 1].
        gamma: f64,
    },
    /// Multiply by `gamma` every epoch: epoch `e` runs at `base * gamma^(e - 1)`.
    Exponential {
        /// Decay factor in (0, 1].
        gamma: f64,
    },
    /// Cosine annealing from the base rate (first epoch) to `min_lr` (last
    /// epoch): `min + (base - min) * (1 + cos(pi * (e - 1) / (epochs - 1))) / 2`.
    Cosine {
        /// Final learning rate, in [0, base rate].
        min_lr: f64,
    },
}

impl LrSchedule {
    fn validate(&self, lr: f64) -> Result<()> {
        let gamma_ok = |gamma: f64| {
            if gamma.is_finite() && gamma > 0.0 && gamma <= 1.0 {
                Ok(())
            } else {
                Err(Error::hyper("schedule.gamma", format!("{gamma} is outside (0, 1]")))
            }
        };
        match *self {
            Self::Constant => Ok(()),
            Self::Step { step_size, gamma } => {
                if step_size == 0 {
                    return Err(Error::hyper("schedule.step_size", "must be > 0"));
                }
                gamma_ok(gamma)
            }
            Self::Exponential { gamma } => {
                // Burn's exponential and cosine schedulers take rates up to 1.
                if lr > 1.0 {
                    return Err(Error::hyper(
                        "learning_rate",
                        format!("{lr} is above 1, the most an exponential schedule accepts"),
                    ));
                }
                gamma_ok(gamma)
            }
            Self::Cosine { min_lr } => {
                if lr > 1.0 {
                    return Err(Error::hyper(
                        "learning_rate",
                        format!("{lr} is above 1, the most a cosine schedule accepts"),
                    ));
                }
                if !(min_lr.is_finite() && (0.0..=lr).contains(&min_lr)) {
                    return Err(Error::hyper(
                        "schedule.min_lr",
                        format!("{min_lr} is outside [0, learning_rate = {lr}]"),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// The training loss (Burn's `burn::nn::loss` implementations).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LossSpec {
    /// Mean squared error (regression).
    Mse,
    /// Huber loss with threshold `delta` (regression).
    Huber {
        /// Where the loss turns from quadratic to linear (> 0).
        delta: f32,
    },
    /// Cross entropy on logits (classification): binary for a binary model,
    /// multi-class for a softmax model.
    CrossEntropy {
        /// Optional per-class weights (one per class, >= 0, not all 0). With
        /// weights, the multi-class loss is the weighted sum divided by the
        /// sum of the rows' weights (PyTorch's convention); the binary loss
        /// is the mean of the weighted row losses.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        class_weights: Option<Vec<f32>>,
    },
}

impl LossSpec {
    /// The default loss of a task: MSE for regression, unweighted cross
    /// entropy for classification.
    #[must_use]
    pub fn default_for(task: Task) -> Self {
        match task {
            Task::Regression => Self::Mse,
            _ => Self::CrossEntropy { class_weights: None },
        }
    }

    /// Cross entropy with per-class weights.
    #[must_use]
    pub fn weighted_cross_entropy(class_weights: Vec<f32>) -> Self {
        Self::CrossEntropy {
            class_weights: Some(class_weights),
        }
    }

    /// Checks the loss against the model's task.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a regression loss on a classifier
    /// (or the reverse), a non-positive Huber delta, or class weights of the
    /// wrong length or with negative or non-finite values.
    pub fn validate(&self, task: Task) -> Result<()> {
        match (self, task.n_classes()) {
            (Self::Mse, None) => Ok(()),
            (Self::Huber { delta }, None) => {
                if delta.is_finite() && *delta > 0.0 {
                    Ok(())
                } else {
                    Err(Error::hyper("loss.delta", format!("{delta} must be > 0")))
                }
            }
            (Self::CrossEntropy { class_weights }, Some(n)) => match class_weights {
                None => Ok(()),
                Some(w) if w.len() != n => Err(Error::hyper(
                    "loss.class_weights",
                    format!("{} weights for {n} classes", w.len()),
                )),
                Some(w) if w.iter().any(|v| !v.is_finite() || *v < 0.0) => {
                    Err(Error::hyper("loss.class_weights", "weights must be finite and >= 0"))
                }
                Some(w) if w.iter().all(|v| *v == 0.0) => Err(Error::hyper("loss.class_weights", "all weights are 0")),
                Some(_) => Ok(()),
            },
            (loss, None) => Err(Error::hyper(
                "loss",
                format!("{} is a classification loss; the model is a regressor", loss.name()),
            )),
            (loss, Some(_)) => Err(Error::hyper(
                "loss",
                format!("{} is a regression loss; the model is a classifier", loss.name()),
            )),
        }
    }

    /// `mse`, `huber` or `cross_entropy`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Mse => "mse",
            Self::Huber { .. } => "huber",
            Self::CrossEntropy { .. } => "cross_entropy",
        }
    }
}

/// Stop when the monitored loss has not improved for `patience` epochs.
///
/// The monitored loss is the validation loss when there is a validation
/// split, otherwise the training loss. The weights of the best epoch are
/// restored at the end either way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping (> 0).
    pub patience: usize,
    /// The decrease that counts as an improvement (>= 0).
    #[serde(default)]
    pub min_delta: f64,
}

impl EarlyStopping {
    /// Early stopping with `patience` and no minimum improvement.
    #[must_use]
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            min_delta: 0.0,
        }
    }

    /// Sets the minimum improvement.
    #[must_use]
    pub fn with_min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }
}

/// Everything about a training run except the model and the data.
///
/// ```
/// use kiln_train::{Hyperparameters, LrSchedule, OptimizerSpec};
/// let h = Hyperparameters::default()
///     .with_epochs(50)
///     .with_batch_size(16)
///     .with_learning_rate(0.05)
///     .with_optimizer(OptimizerSpec::adamw())
///     .with_schedule(LrSchedule::Cosine { min_lr: 0.0 })
///     .with_seed(7);
/// h.validate()?;
/// assert!(Hyperparameters::default().with_batch_size(0).validate().is_err());
/// assert!(Hyperparameters::default().with_learning_rate(f64::NAN).validate().is_err());
/// # Ok::<(), kiln_train::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Hyperparameters {
    /// Maximum number of passes over the training rows (> 0).
    pub epochs: usize,
    /// Rows per gradient step (> 0); the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Base learning rate (finite, > 0).
    pub learning_rate: f64,
    /// The optimizer.
    pub optimizer: OptimizerSpec,
    /// The learning-rate schedule.
    pub schedule: LrSchedule,
    /// The loss; `None` picks [`LossSpec::default_for`] the model's task.
    pub loss: Option<LossSpec>,
    /// Fraction of rows held out for validation, in [0, 1). Classification
    /// splits are stratified by class.
    pub validation_fraction: f64,
    /// Early stopping; `None` trains for all epochs (the best epoch is still
    /// restored).
    pub early_stopping: Option<EarlyStopping>,
    /// Seed for initial weights, the split, shuffling and dropout.
    pub seed: u64,
    /// Reshuffle the training rows every epoch.
    pub shuffle: bool,
    /// Regression: train on standardised targets (mean 0, standard
    /// deviation 1 over the training split), recorded in the model's
    /// [`ModelSpec::target_scale`] so that predictions and metrics are in
    /// the target's units; the losses (and a Huber `delta`) are then in
    /// standard deviations. Off: the spec's own target scale, if any, is
    /// used as given. Ignored for classification.
    pub standardize_target: bool,
}

impl Default for Hyperparameters {
    /// 100 epochs, batches of 32, Adam at 0.01, constant rate, 20%
    /// validation, early stopping after 10 epochs without improvement, seed
    /// 42, standardised regression targets.
    fn default() -> Self {
        Self {
            epochs: 100,
            batch_size: 32,
            learning_rate: 0.01,
            optimizer: OptimizerSpec::adam(),
            schedule: LrSchedule::Constant,
            loss: None,
            validation_fraction: 0.2,
            early_stopping: Some(EarlyStopping::new(10)),
            seed: 42,
            shuffle: true,
            standardize_target: true,
        }
    }
}

impl Hyperparameters {
    /// Sets the number of epochs.
    #[must_use]
    pub fn with_epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets the batch size.
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the base learning rate.
    #[must_use]
    pub fn with_learning_rate(mut self, learning_rate: f64) -> Self {
        self.learning_rate = learning_rate;
        self
    }

    /// Sets the optimizer.
    #[must_use]
    pub fn with_optimizer(mut self, optimizer: OptimizerSpec) -> Self {
        self.optimizer = optimizer;
        self
    }

    /// Sets the learning-rate schedule.
    #[must_use]
    pub fn with_schedule(mut self, schedule: LrSchedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Sets the loss.
    #[must_use]
    pub fn with_loss(mut self, loss: LossSpec) -> Self {
        self.loss = Some(loss);
        self
    }

    /// Sets the validation fraction (0 trains on every row).
    #[must_use]
    pub fn with_validation_fraction(mut self, fraction: f64) -> Self {
        self.validation_fraction = fraction;
        self
    }

    /// Sets or disables early stopping.
    #[must_use]
    pub fn with_early_stopping(mut self, early_stopping: Option<EarlyStopping>) -> Self {
        self.early_stopping = early_stopping;
        self
    }

    /// Sets the seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets per-epoch shuffling.
    #[must_use]
    pub fn with_shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Sets target standardisation for regression.
    #[must_use]
    pub fn with_standardize_target(mut self, standardize: bool) -> Self {
        self.standardize_target = standardize;
        self
    }

    /// The loss that will be used for `spec`.
    #[must_use]
    pub fn loss_for(&self, spec: &ModelSpec) -> LossSpec {
        self.loss.clone().unwrap_or_else(|| LossSpec::default_for(spec.task))
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] naming the first bad value: 0 epochs,
    /// batch size 0, a learning rate that is not a finite number > 0, a
    /// validation fraction outside [0, 1), 0 patience, a negative or NaN
    /// `min_delta`, or a bad optimizer/schedule parameter.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::hyper("epochs", "must be > 0"));
        }
        if self.batch_size == 0 {
            return Err(Error::hyper("batch_size", "must be > 0"));
        }
        let lr = self.learning_rate;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::hyper(
                "learning_rate",
                format!("{lr} must be a finite number > 0"),
            ));
        }
        let f = self.validation_fraction;
        if !(f.is_finite() && (0.0..1.0).contains(&f)) {
            return Err(Error::hyper("validation_fraction", format!("{f} is outside [0, 1)")));
        }
        if let Some(es) = &self.early_stopping {
            if es.patience == 0 {
                return Err(Error::hyper("early_stopping.patience", "must be > 0"));
            }
            if !(es.min_delta.is_finite() && es.min_delta >= 0.0) {
                return Err(Error::hyper(
                    "early_stopping.min_delta",
                    format!("{} must be a finite number >= 0", es.min_delta),
                ));
            }
        }
        self.optimizer.validate()?;
        self.schedule.validate(lr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_value_names_its_hyperparameter() {
        let cases: Vec<(Hyperparameters, &str)> = vec![
            (Hyperparameters::default().with_epochs(0), "epochs"),
            (Hyperparameters::default().with_batch_size(0), "batch_size"),
            (Hyperparameters::default().with_learning_rate(-0.1), "learning_rate"),
            (Hyperparameters::default().with_learning_rate(f64::NAN), "learning_rate"),
            (
                Hyperparameters::default().with_learning_rate(f64::INFINITY),
                "learning_rate",
            ),
            (
                Hyperparameters::default().with_validation_fraction(1.0),
                "validation_fraction",
            ),
            (
                Hyperparameters::default().with_early_stopping(Some(EarlyStopping::new(0))),
                "early_stopping.patience",
            ),
            (
                Hyperparameters::default().with_early_stopping(Some(EarlyStopping::new(3).with_min_delta(f64::NAN))),
                "early_stopping.min_delta",
            ),
            (
                Hyperparameters::default().with_optimizer(OptimizerSpec::sgd_momentum(1.5)),
                "optimizer.momentum",
            ),
            (
                Hyperparameters::default().with_schedule(LrSchedule::Step {
                    step_size: 0,
                    gamma: 0.5,
                }),
                "schedule.step_size",
            ),
            (
                Hyperparameters::default().with_schedule(LrSchedule::Exponential { gamma: 0.0 }),
                "schedule.gamma",
            ),
            (
                Hyperparameters::default().with_schedule(LrSchedule::Cosine { min_lr: 1.0 }),
                "schedule.min_lr",
            ),
        ];
        for (h, name) in cases {
            match h.validate() {
                Err(Error::InvalidHyperparameter { name: got, .. }) => assert_eq!(got, name),
                other => panic!("{name}: expected an error, got {other:?}"),
            }
        }
        Hyperparameters::default().validate().unwrap();
    }

    #[test]
    fn loss_must_fit_the_task() {
        let binary = Task::Binary;
        assert!(LossSpec::Mse.validate(binary).is_err());
        assert!(
            LossSpec::default_for(Task::Regression)
                .validate(Task::Regression)
                .is_ok()
        );
        assert!(LossSpec::weighted_cross_entropy(vec![1.0]).validate(binary).is_err());
        assert!(
            LossSpec::weighted_cross_entropy(vec![1.0, -1.0])
                .validate(binary)
                .is_err()
        );
        assert!(
            LossSpec::weighted_cross_entropy(vec![0.0, 0.0])
                .validate(binary)
                .is_err()
        );
        assert!(
            LossSpec::weighted_cross_entropy(vec![1.0, 3.0])
                .validate(binary)
                .is_ok()
        );
        assert!(LossSpec::Huber { delta: 0.0 }.validate(Task::Regression).is_err());
        assert!(LossSpec::default_for(binary).validate(Task::Regression).is_err());
    }

    #[test]
    fn json_round_trip_and_defaults_fill_missing_fields() {
        let h = Hyperparameters::default()
            .with_optimizer(OptimizerSpec::sgd_momentum(0.9))
            .with_schedule(LrSchedule::Step {
                step_size: 5,
                gamma: 0.5,
            })
            .with_loss(LossSpec::Huber { delta: 1.5 });
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<Hyperparameters>(&json).unwrap(), h);
        let partial: Hyperparameters = serde_json::from_str(r#"{"epochs": 3}"#).unwrap();
        assert_eq!(partial, Hyperparameters::default().with_epochs(3));
    }
}
