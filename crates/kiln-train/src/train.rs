//! The training loop (feature `train`).
//!
//! A small loop of Kiln's own over Burn's pieces: the model is created on
//! `device.autodiff()`, each mini-batch runs forward, Burn's loss, `backward`,
//! and a `burn::optim` optimizer step; a `burn::lr_scheduler` scheduler sets
//! the learning rate of each epoch. After every epoch the network is
//! evaluated in inference mode (`Module::valid`) on the validation split; the
//! best epoch's weights are kept and restored at the end.
//!
//! Every random draw (initial weights, the split, shuffles, dropout masks)
//! comes from Kiln's seeded generator on the host, so the same seed, data
//! and backend give the same run; on `flex` (single-threaded) the weights and
//! metrics are bit-identical.

use std::io::IsTerminal;
use std::time::{Instant, SystemTime};

use burn::lr_scheduler::constant::ConstantLr;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::exponential::ExponentialLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::lr_scheduler::step::StepLrSchedulerConfig;
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use kiln_core::Batch;
use kiln_transform::FittedPipeline;

use crate::backend::Backend;
use crate::config::{Hyperparameters, LossSpec, LrSchedule, OptimizerSpec};
use crate::data::{Dataset, Targets};
use crate::loss::{TargetTensor, burn_loss, host_loss};
use crate::metrics::Evaluation;
use crate::model::{self, ModelSpec, Predictions, TabularNet, TargetScale, Task, TrainedModel};
use crate::rng::Rng;
use crate::run::{
    DataInfo, EpochMetrics, HostInfo, RUN_FORMAT, RunContext, RunRecord, RunStore, Versions, new_run_id, rfc3339,
};
use crate::{Error, Result};

/// RNG streams, one per purpose (see [`Rng::stream`]).
const STREAM_SPLIT: u64 = 1;
const STREAM_SHUFFLE: u64 = 2;
const STREAM_DROPOUT: u64 = 3;

/// Trains a [`ModelSpec`] on a [`Dataset`].
///
/// ```
/// use kiln_train::{Dataset, Features, Hyperparameters, ModelSpec, Targets, Trainer};
/// use kiln_train::run::RunContext;
/// // y = 1 when x > 0
/// let xs: Vec<f32> = (0..40).map(|i| i as f32 / 10.0 - 2.0).collect();
/// let ys: Vec<usize> = xs.iter().map(|&x| usize::from(x > 0.0)).collect();
/// let data = Dataset::new(
///     Features::new(xs, 40, 1)?,
///     Targets::classes(ys, vec!["neg".into(), "pos".into()])?,
/// )?;
/// let spec = ModelSpec::for_dataset(&data, []);
/// let outcome = Trainer::new(spec, Hyperparameters::default().with_epochs(60).with_learning_rate(0.1))
///     .with_context(RunContext::new().without_git())
///     .fit(&data)?;
/// assert!(outcome.record.metrics["validation.accuracy"] >= 0.85);
/// let p = outcome.model.predict_slice(&[1.5, -1.5], 2)?;
/// assert_eq!(p.classes(), [1, 0]);
/// # Ok::<(), kiln_train::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Trainer {
    spec: ModelSpec,
    hyper: Hyperparameters,
    backend: Backend,
    progress: bool,
    context: RunContext,
    store: Option<RunStore>,
}

/// The result of [`Trainer::fit`]: the model (best epoch's weights) and its
/// run record.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TrainOutcome {
    /// The trained model, on the training backend, in inference mode.
    pub model: TrainedModel,
    /// The reproducibility record (also written to the run store, if set).
    pub record: RunRecord,
}

impl Trainer {
    /// A trainer on the default backend ([`Backend::Flex`]) that shows a
    /// progress bar when stderr is a terminal.
    #[must_use]
    pub fn new(spec: ModelSpec, hyper: Hyperparameters) -> Self {
        Self {
            spec,
            hyper,
            backend: Backend::default(),
            progress: true,
            context: RunContext::default(),
            store: None,
        }
    }

    /// Trains on `backend`.
    #[must_use]
    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Shows (when stderr is a terminal) or never shows the progress bar.
    #[must_use]
    pub fn with_progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// What to record about the data and code (see [`RunContext`]).
    #[must_use]
    pub fn with_context(mut self, context: RunContext) -> Self {
        self.context = context;
        self
    }

    /// Writes every run's record to `store`.
    #[must_use]
    pub fn with_run_store(mut self, store: RunStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Checks the spec, hyperparameters, loss and data before training.
    fn check(&self, data: &Dataset) -> Result<LossSpec> {
        self.spec.validate()?;
        self.hyper.validate()?;
        let loss = self.hyper.loss_for(&self.spec);
        loss.validate(self.spec.task)?;
        if data.is_empty() {
            return Err(Error::EmptyData("training data"));
        }
        if data.features().cols() != self.spec.n_inputs {
            return Err(Error::InvalidData(format!(
                "model takes {} inputs, data has {} columns",
                self.spec.n_inputs,
                data.features().cols()
            )));
        }
        match (data.targets(), self.spec.task.n_classes()) {
            (Targets::Values(_), None) => {}
            (Targets::Classes { classes, .. }, Some(n)) if classes.len() == n => {
                if !self.spec.class_names.is_empty() && &self.spec.class_names != classes {
                    return Err(Error::InvalidData(format!(
                        "spec classes {:?} differ from the data's {classes:?}",
                        self.spec.class_names
                    )));
                }
            }
            (Targets::Classes { classes, .. }, Some(n)) => {
                return Err(Error::InvalidData(format!(
                    "the model predicts {n} classes, the data has {}",
                    classes.len()
                )));
            }
            (Targets::Classes { .. }, None) => {
                return Err(Error::InvalidData("class targets for a regression model".into()));
            }
            (Targets::Values(_), Some(_)) => {
                return Err(Error::InvalidData("value targets for a classification model".into()));
            }
        }
        Ok(loss)
    }

    /// Trains, evaluates and records one run.
    ///
    /// When `data` was read from a batch ([`Dataset::from_batch`]), the
    /// record gets its label, feature names, dropped rows and the schema and
    /// pipeline digests (a digest set in the [`RunContext`] wins).
    ///
    /// # Errors
    /// [`Error::InvalidModelSpec`], [`Error::InvalidHyperparameter`],
    /// [`Error::InvalidData`] or [`Error::EmptyData`] before training starts;
    /// [`Error::Backend`] when the device is unavailable or fails;
    /// [`Error::Diverged`] when the loss stops being finite; [`Error::Io`]
    /// when the data source cannot be hashed or the record cannot be stored.
    pub fn fit(&self, data: &Dataset) -> Result<TrainOutcome> {
        let loss = self.check(data)?;
        let started = SystemTime::now();
        let clock = Instant::now();
        let source_sha256 = self.context.source_digest()?;
        let device = self.backend.device()?;
        let span = tracing::info_span!(
            "kiln_train.fit",
            model = self.spec.family(),
            backend = %self.backend,
            rows = data.len(),
        );
        let _guard = span.enter();

        let (train_idx, val_idx) = split(data, self.hyper.validation_fraction, self.hyper.seed);
        if train_idx.is_empty() {
            return Err(Error::EmptyData("training split"));
        }
        let train = data.subset(&train_idx);
        let val = (!val_idx.is_empty()).then(|| data.subset(&val_idx));
        let mut spec = self.spec.clone();
        if spec.class_names.is_empty() {
            spec.class_names = data.targets().class_names().unwrap_or_default().to_vec();
        }
        if let (Task::Regression, true, Targets::Values(values)) =
            (spec.task, self.hyper.standardize_target, train.targets())
        {
            spec.target_scale = Some(TargetScale::fit(values));
        }

        let run = self.train_loop(&spec, &loss, &train, val.as_ref(), &device)?;

        let model = TrainedModel::new(spec.clone(), run.best_net, self.backend.clone())?;
        let train_eval = evaluate(&model, &loss, &train)?;
        let val_eval = val.as_ref().map(|v| evaluate(&model, &loss, v)).transpose()?;
        let mut metrics = std::collections::BTreeMap::new();
        for (prefix, eval) in [("train", Some(&train_eval)), ("validation", val_eval.as_ref())] {
            if let Some((loss_value, evaluation)) = eval {
                metrics.insert(format!("{prefix}.loss"), *loss_value);
                for (k, v) in evaluation.scalars() {
                    metrics.insert(format!("{prefix}.{k}"), v);
                }
            }
        }
        let ended = SystemTime::now();
        let provenance = data.provenance();
        let record = RunRecord {
            format: RUN_FORMAT.to_owned(),
            run_id: new_run_id(started, self.hyper.seed),
            name: self.context.name.clone(),
            started_at: rfc3339(started),
            ended_at: rfc3339(ended),
            duration_ms: clock.elapsed().as_millis() as u64,
            git: self.context.git(),
            data: DataInfo {
                source: self.context.data_source.as_ref().map(|p| p.display().to_string()),
                source_sha256,
                matrix_sha256: data.digest(),
                rows: data.len(),
                cols: data.features().cols(),
                train_rows: train.len(),
                validation_rows: val.as_ref().map_or(0, Dataset::len),
                label: provenance.map(|p| p.label.clone()),
                feature_names: provenance.map(|p| p.feature_names.clone()).unwrap_or_default(),
                null_label_rows: provenance.map_or(0, |p| p.null_label_rows),
            },
            schema_digest: self.context.schema_digest.or(provenance.map(|p| p.schema_digest)),
            pipeline_digest: self.context.pipeline_digest.or(provenance.map(|p| p.pipeline_digest)),
            model: spec,
            hyperparameters: Hyperparameters {
                loss: Some(loss.clone()),
                ..self.hyper.clone()
            },
            seed: self.hyper.seed,
            backend: self.backend.to_string(),
            device: format!("{device:?}"),
            versions: Versions::current(),
            host: HostInfo::detect(self.backend.device_name(&device)),
            epochs: run.history,
            best_epoch: run.best_epoch,
            stopped_early: run.stopped_early,
            metrics,
            train_evaluation: train_eval.1,
            validation_evaluation: val_eval.map(|(_, e)| e),
            test_evaluation: None,
        };
        if let Some(store) = &self.store {
            let path = store.save(&record)?;
            tracing::info!(run_id = %record.run_id, path = %path.display(), "run recorded");
        }
        tracing::info!(
            run_id = %record.run_id,
            best_epoch = record.best_epoch,
            stopped_early = record.stopped_early,
            duration_ms = record.duration_ms,
            "training finished"
        );
        Ok(TrainOutcome { model, record })
    }

    /// Reads the training data from `batch` with
    /// [`Dataset::from_batch`] (features through `pipeline`, targets from the
    /// schema's label, rows without a label dropped) and trains on it. The
    /// run record names the batch's schema digest, the pipeline's digest,
    /// the label, the feature names and the dropped rows.
    ///
    /// The spec must fit the data: `n_inputs` is `pipeline.n_outputs()`,
    /// and the classes are the label's (build the spec with
    /// [`ModelSpec::for_dataset`] on [`Dataset::from_batch`] when they are
    /// not known in advance, and call [`Trainer::fit`]).
    ///
    /// # Errors
    /// As [`Dataset::from_batch`] and [`Trainer::fit`].
    pub fn fit_batch(&self, pipeline: &FittedPipeline, batch: &Batch) -> Result<TrainOutcome> {
        self.fit(&Dataset::from_batch(pipeline, batch)?)
    }

    fn train_loop(
        &self,
        spec: &ModelSpec,
        loss: &LossSpec,
        train: &Dataset,
        val: Option<&Dataset>,
        device: &Device,
    ) -> Result<LoopResult> {
        let h = &self.hyper;
        let ad_device = device.clone().autodiff();
        let mut net = TabularNet::init(spec, h.seed, &ad_device)?;
        let mut optim = optimizer(&h.optimizer);
        let mut scheduler = scheduler(&h.schedule, h.learning_rate, h.epochs)?;
        let mut shuffle_rng = Rng::stream(h.seed, STREAM_SHUFFLE);
        let mut dropout_rng = Rng::stream(h.seed, STREAM_DROPOUT);
        let cols = spec.n_inputs;
        let mut order: Vec<usize> = (0..train.len()).collect();
        let train_targets = spec.output_targets(train.targets());

        let bar = progress_bar(self.progress, h.epochs);
        let mut history = Vec::with_capacity(h.epochs);
        let mut best: Option<(f64, usize, TabularNet)> = None;
        let mut waited = 0;
        let mut stopped_early = false;

        for epoch in 1..=h.epochs {
            let epoch_clock = Instant::now();
            let lr = scheduler.step();
            if h.shuffle {
                shuffle_rng.shuffle(&mut order);
            }
            let mut loss_sum = 0.0;
            for batch in order.chunks(h.batch_size) {
                let rows = batch.len();
                let x = Tensor::<2>::from_data(
                    TensorData::new(train.features().gather(batch), [rows, cols]),
                    &ad_device,
                );
                let masks = dropout_masks(spec, rows, &mut dropout_rng, &ad_device);
                let logits = net.forward_masked(x, &masks);
                let targets = TargetTensor::gather(&train_targets, batch, &ad_device);
                let batch_loss = burn_loss(loss, spec.task, logits, targets, &ad_device);
                let value = model::read_f32(batch_loss.clone(), device)?
                    .first()
                    .copied()
                    .map_or(f64::NAN, f64::from);
                if !value.is_finite() {
                    bar.abandon();
                    return Err(Error::Diverged { epoch, loss: value });
                }
                loss_sum += value * rows as f64;
                let grads = GradientsParams::from_grads(batch_loss.backward(), &net);
                net = optim.step(lr.clone(), net, grads);
            }
            let train_loss = loss_sum / train.len() as f64;

            let (validation_loss, validation_metrics) = match val {
                Some(v) => {
                    let (l, eval) = evaluate_net(&net, spec, loss, v)?;
                    (Some(l), eval.scalars())
                }
                None => (None, Default::default()),
            };
            let monitored = validation_loss.unwrap_or(train_loss);
            if !monitored.is_finite() {
                bar.abandon();
                return Err(Error::Diverged { epoch, loss: monitored });
            }
            let min_delta = h.early_stopping.as_ref().map_or(0.0, |e| e.min_delta);
            match &best {
                Some((b, _, _)) if monitored >= b - min_delta => waited += 1,
                _ => {
                    best = Some((monitored, epoch, net.valid()));
                    waited = 0;
                }
            }
            tracing::info!(
                epoch,
                learning_rate = lr.base(),
                train_loss,
                validation_loss = ?validation_loss,
                "epoch finished"
            );
            bar.set_message(match validation_loss {
                Some(v) => format!("loss {train_loss:.4}  val {v:.4}"),
                None => format!("loss {train_loss:.4}"),
            });
            bar.inc(1);
            history.push(EpochMetrics {
                epoch,
                learning_rate: lr.base(),
                train_loss,
                validation_loss,
                validation_metrics,
                duration_ms: epoch_clock.elapsed().as_millis() as u64,
            });
            if let Some(es) = &h.early_stopping
                && waited >= es.patience
            {
                stopped_early = epoch < h.epochs;
                tracing::info!(epoch, patience = es.patience, "early stopping");
                break;
            }
        }
        bar.finish_and_clear();
        let (_, best_epoch, best_net) = best.ok_or(Error::EmptyData("training epochs"))?;
        Ok(LoopResult {
            best_net,
            best_epoch,
            stopped_early,
            history,
        })
    }
}

struct LoopResult {
    best_net: TabularNet,
    best_epoch: usize,
    stopped_early: bool,
    history: Vec<EpochMetrics>,
}

fn progress_bar(enabled: bool, epochs: usize) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(epochs as u64);
    if let Ok(style) = ProgressStyle::with_template("{spinner} epoch {pos}/{len} [{bar:30}] {msg} ({elapsed})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Dropout masks for each hidden layer, scaled by `1 / (1 - p)`; empty
/// without dropout.
fn dropout_masks(spec: &ModelSpec, rows: usize, rng: &mut Rng, device: &Device) -> Vec<Tensor<2>> {
    if spec.dropout <= 0.0 {
        return Vec::new();
    }
    let keep = 1.0 - spec.dropout;
    let scale = (1.0 / keep) as f32;
    spec.hidden
        .iter()
        .map(|&width| {
            let mask: Vec<f32> = (0..rows * width)
                .map(|_| if rng.next_f64() < keep { scale } else { 0.0 })
                .collect();
            Tensor::from_data(TensorData::new(mask, [rows, width]), device)
        })
        .collect()
}

fn optimizer(spec: &OptimizerSpec) -> ModuleOptimizer {
    let decay = |w: f32| (w > 0.0).then(|| WeightDecayConfig::new(w));
    match *spec {
        OptimizerSpec::Adam {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
        } => AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(decay(weight_decay))
            .init(),
        OptimizerSpec::AdamW {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
        } => AdamWConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay)
            .init(),
        OptimizerSpec::Sgd {
            momentum,
            nesterov,
            weight_decay,
        } => SgdConfig::new()
            .with_momentum((momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(momentum)
                    .with_dampening(0.0)
                    .with_nesterov(nesterov)
            }))
            .with_weight_decay(decay(weight_decay))
            .init(),
    }
}

fn scheduler(schedule: &LrSchedule, lr: f64, epochs: usize) -> Result<ModuleLrScheduler> {
    let burn_err = |reason: String| Error::hyper("schedule", reason);
    match *schedule {
        LrSchedule::Constant => Ok(ModuleLrScheduler::new(ConstantLr::new(lr))),
        LrSchedule::Step { step_size, gamma } => StepLrSchedulerConfig::new(lr, step_size)
            .with_gamma(gamma)
            .init()
            .map_err(burn_err),
        LrSchedule::Exponential { gamma } => ExponentialLrSchedulerConfig::new(lr, gamma).init().map_err(burn_err),
        // The first epoch runs at `lr`, the last at `min_lr`.
        LrSchedule::Cosine { min_lr } => CosineAnnealingLrSchedulerConfig::new(lr, (epochs - 1).max(1))
            .with_min_lr(min_lr)
            .init()
            .map_err(burn_err),
    }
}

/// Splits row indices into (train, validation). Classification splits are
/// stratified: each class contributes `round(fraction * n_class)` rows to
/// validation, keeping at least one row of it for training.
fn split(data: &Dataset, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = Rng::stream(seed, STREAM_SPLIT);
    if fraction <= 0.0 {
        return ((0..data.len()).collect(), Vec::new());
    }
    let groups: Vec<Vec<usize>> = match data.targets() {
        Targets::Classes { labels, classes } => (0..classes.len())
            .map(|c| (0..labels.len()).filter(|&i| labels[i] == c).collect())
            .collect(),
        Targets::Values(v) => vec![(0..v.len()).collect()],
    };
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for mut group in groups {
        rng.shuffle(&mut group);
        let n_val = ((fraction * group.len() as f64).round() as usize).min(group.len().saturating_sub(1));
        val.extend_from_slice(&group[..n_val]);
        train.extend_from_slice(&group[n_val..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    (train, val)
}

/// Loss and metrics of a network (any mode) on `data`.
fn evaluate_net(net: &TabularNet, spec: &ModelSpec, loss: &LossSpec, data: &Dataset) -> Result<(f64, Evaluation)> {
    let logits = model::logits(net, spec, data.features())?;
    let loss_value = host_loss(loss, spec.task, &logits, &spec.output_targets(data.targets()));
    let predictions = Predictions::from_outputs(spec, &logits, data.len())?;
    Ok((loss_value, Evaluation::of(spec, &predictions, data.targets())?))
}

fn evaluate(model: &TrainedModel, loss: &LossSpec, data: &Dataset) -> Result<(f64, Evaluation)> {
    evaluate_net(model.net(), model.spec(), loss, data)
}

#[cfg(test)]
#[cfg(feature = "flex")]
mod tests {
    use super::*;
    use crate::data::Features;

    fn classes(labels: Vec<usize>, k: usize) -> Targets {
        Targets::classes(labels, (0..k).map(|i| format!("c{i}")).collect()).unwrap()
    }

    #[test]
    fn stratified_split_keeps_class_shares() {
        let labels: Vec<usize> = (0..100).map(|i| usize::from(i % 4 == 0)).collect();
        let data = Dataset::new(
            Features::new(vec![0.0; 100], 100, 1).unwrap(),
            classes(labels.clone(), 2),
        )
        .unwrap();
        let (train, val) = split(&data, 0.2, 9);
        assert_eq!(train.len() + val.len(), 100);
        assert_eq!(val.len(), 20);
        assert_eq!(val.iter().filter(|&&i| labels[i] == 1).count(), 5);
        let (train2, val2) = split(&data, 0.2, 9);
        assert_eq!((train.clone(), val.clone()), (train2, val2));
        let (_, val3) = split(&data, 0.2, 10);
        assert_ne!(val, val3);
        let (all, none) = split(&data, 0.0, 9);
        assert_eq!((all.len(), none.len()), (100, 0));
    }

    #[test]
    fn singleton_classes_stay_in_training() {
        let data = Dataset::new(Features::new(vec![0.0; 3], 3, 1).unwrap(), classes(vec![0, 1, 2], 3)).unwrap();
        let (train, val) = split(&data, 0.5, 1);
        assert_eq!(train, [0, 1, 2]);
        assert!(val.is_empty());
    }

    #[test]
    fn bad_inputs_fail_before_training() {
        let data = Dataset::new(Features::new(vec![0.0; 4], 4, 1).unwrap(), classes(vec![0, 1, 0, 1], 2)).unwrap();
        let spec = ModelSpec::logistic_regression(1);
        let fit = |spec: ModelSpec, h: Hyperparameters| Trainer::new(spec, h).with_progress(false).fit(&data);
        assert!(matches!(
            fit(spec.clone(), Hyperparameters::default().with_batch_size(0)),
            Err(Error::InvalidHyperparameter { name: "batch_size", .. })
        ));
        assert!(matches!(
            fit(spec.clone(), Hyperparameters::default().with_epochs(0)),
            Err(Error::InvalidHyperparameter { name: "epochs", .. })
        ));
        assert!(matches!(
            fit(spec.clone(), Hyperparameters::default().with_learning_rate(-1.0)),
            Err(Error::InvalidHyperparameter {
                name: "learning_rate",
                ..
            })
        ));
        assert!(matches!(
            fit(ModelSpec::logistic_regression(2), Hyperparameters::default()),
            Err(Error::InvalidData(_))
        ));
        assert!(matches!(
            fit(ModelSpec::softmax_regression(1, 3), Hyperparameters::default()),
            Err(Error::InvalidData(_))
        ));
        assert!(matches!(
            fit(ModelSpec::linear_regression(1), Hyperparameters::default()),
            Err(Error::InvalidData(_))
        ));
        assert!(matches!(
            fit(spec.clone(), Hyperparameters::default().with_loss(LossSpec::Mse)),
            Err(Error::InvalidHyperparameter { name: "loss", .. })
        ));
        let empty = Dataset::new(Features::new(vec![], 0, 1).unwrap(), classes(vec![], 2)).unwrap();
        assert!(matches!(
            Trainer::new(spec, Hyperparameters::default()).fit(&empty),
            Err(Error::EmptyData(_))
        ));
    }

    #[test]
    fn regression_targets_are_standardised_and_predictions_come_back_in_their_units() {
        // Prices in the thousands: without standardised targets, Adam at 0.05
        // would need tens of thousands of steps to move the bias there.
        let xs: Vec<f32> = (0..200).map(|i| (i % 40) as f32 / 10.0 - 2.0).collect();
        let ys: Vec<f32> = xs.iter().map(|x| 5000.0 + 3000.0 * x).collect();
        let data = Dataset::new(Features::new(xs, 200, 1).unwrap(), Targets::values(ys).unwrap()).unwrap();
        let h = Hyperparameters::default().with_epochs(40).with_learning_rate(0.05);
        let fit = |h: Hyperparameters| {
            Trainer::new(ModelSpec::linear_regression(1), h)
                .with_progress(false)
                .with_context(RunContext::new().without_git())
                .fit(&data)
                .unwrap()
        };
        let out = fit(h.clone());
        let scale = out.model.spec().target_scale.unwrap();
        assert!(
            (scale.mean - 5000.0).abs() < 200.0 && (scale.std - 3400.0).abs() < 300.0,
            "{scale:?}"
        );
        assert!(out.record.metrics["validation.r2"] > 0.999, "{:?}", out.record.metrics);
        let p = out.model.predict_slice(&[1.0], 1).unwrap();
        assert!((p.values().unwrap()[0] - 8000.0).abs() < 50.0, "{p:?}");
        assert_eq!(out.record.model, *out.model.spec());

        let raw = fit(h.with_standardize_target(false));
        assert_eq!(raw.model.spec().target_scale, None);
        assert!(raw.record.metrics["validation.r2"] < 0.5, "{:?}", raw.record.metrics);
    }

    #[test]
    fn divergence_is_reported() {
        let xs: Vec<f32> = (0..32).map(|i| i as f32 * 1000.0).collect();
        let ys: Vec<f32> = xs.iter().map(|x| x * 3.0).collect();
        let data = Dataset::new(Features::new(xs, 32, 1).unwrap(), Targets::values(ys).unwrap()).unwrap();
        let h = Hyperparameters::default()
            .with_optimizer(OptimizerSpec::sgd())
            .with_learning_rate(10.0)
            .with_validation_fraction(0.0);
        let r = Trainer::new(ModelSpec::linear_regression(1), h)
            .with_context(RunContext::new().without_git())
            .fit(&data);
        assert!(matches!(r, Err(Error::Diverged { .. })), "{r:?}");
    }
}
