//! Model definitions and inference, free of optimizers and autodiff.
//!
//! A [`ModelSpec`] describes a tabular model (task, inputs, hidden layers);
//! [`TabularNet`] is the Burn module it builds; [`infer`] runs the forward
//! pass and turns logits into [`Predictions`]. A predictor needs only this
//! module and [`crate::weights`]: nothing here touches the training loop.
//!
//! Every model is a stack of Burn `Linear` layers: no hidden layers gives
//! linear, logistic or softmax regression; hidden layers give an MLP with
//! the chosen [`Activation`] (and, while training, dropout after each hidden
//! layer).

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData, activation};
use kiln_core::Batch;
use kiln_transform::FittedPipeline;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::data::{Dataset, Features, Targets};
use crate::metrics::Evaluation;
use crate::rng::Rng;
use crate::{Error, Result};

/// Rows per forward pass in [`infer`]; bounds device memory for large inputs.
const INFER_CHUNK_ROWS: usize = 16_384;

/// The hidden-layer nonlinearity of an MLP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Activation {
    /// `max(0, x)`.
    #[default]
    Relu,
    /// Gaussian error linear unit (exact, erf-based).
    Gelu,
    /// Hyperbolic tangent.
    Tanh,
}

/// What the model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Task {
    /// One real value per row (one output, identity head).
    Regression,
    /// Two classes (one logit, sigmoid head; class 1 is the positive class).
    Binary,
    /// `n_classes` classes (one logit per class, softmax head).
    Multiclass {
        /// Number of classes (at least 2).
        n_classes: usize,
    },
}

impl Task {
    /// Width of the last layer.
    #[must_use]
    pub fn n_outputs(&self) -> usize {
        match self {
            Task::Regression | Task::Binary => 1,
            Task::Multiclass { n_classes } => *n_classes,
        }
    }

    /// Number of classes, `None` for regression.
    #[must_use]
    pub fn n_classes(&self) -> Option<usize> {
        match self {
            Task::Regression => None,
            Task::Binary => Some(2),
            Task::Multiclass { n_classes } => Some(*n_classes),
        }
    }
}

/// The architecture of a tabular model: everything needed to rebuild its
/// Burn module before loading weights (`model.json` in a bundle).
///
/// ```
/// use kiln_train::{Activation, ModelSpec, Task};
/// let spec = ModelSpec::mlp(Task::Multiclass { n_classes: 3 }, 4, [16, 8])
///     .with_activation(Activation::Gelu)
///     .with_dropout(0.1);
/// spec.validate()?;
/// assert_eq!(spec.layer_shapes(), [(4, 16), (16, 8), (8, 3)]);
/// assert_eq!(spec.family(), "mlp_classifier");
/// assert_eq!(ModelSpec::logistic_regression(4).family(), "logistic_regression");
/// # Ok::<(), kiln_train::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelSpec {
    /// What the model predicts.
    pub task: Task,
    /// Number of input columns (the fitted pipeline's `n_outputs`).
    pub n_inputs: usize,
    /// Hidden layer widths; empty for linear/logistic/softmax regression.
    #[serde(default)]
    pub hidden: Vec<usize>,
    /// Hidden-layer activation (unused without hidden layers).
    #[serde(default)]
    pub activation: Activation,
    /// Dropout probability after each hidden layer while training, in [0, 1).
    #[serde(default)]
    pub dropout: f64,
    /// Class names in index order (empty for regression or when unnamed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_names: Vec<String>,
    /// Regression only: the map from the network's output to the target's
    /// units. The trainer fits it on the training split (see
    /// [`Hyperparameters::standardize_target`](crate::Hyperparameters::standardize_target)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_scale: Option<TargetScale>,
}

/// How a regression model's raw output maps to the target's units:
/// `value = output * std + mean`.
///
/// Training on standardised targets lets one learning rate and one
/// initialisation work whatever the target's scale (prices in dollars,
/// masses in grams); predictions come back in the target's units.
///
/// ```
/// use kiln_train::model::TargetScale;
/// let s = TargetScale::fit(&[1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(s.mean, 2.5);
/// assert!((s.std - 1.25f64.sqrt()).abs() < 1e-12);
/// assert_eq!(s.to_value(s.to_output(3.0)), 3.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TargetScale {
    /// The mean of the training targets.
    pub mean: f64,
    /// Their population standard deviation (1 when they are constant).
    pub std: f64,
}

impl TargetScale {
    /// A scale with this mean and standard deviation.
    #[must_use]
    pub fn new(mean: f64, std: f64) -> Self {
        Self { mean, std }
    }

    /// The mean and population standard deviation of `values` (mean 0 for
    /// no values; standard deviation 1 when they are constant).
    #[must_use]
    pub fn fit(values: &[f32]) -> Self {
        if values.is_empty() {
            return Self::new(0.0, 1.0);
        }
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        let std = var.sqrt();
        Self::new(mean, if std > 0.0 && std.is_finite() { std } else { 1.0 })
    }

    /// A target value in the network's output units.
    #[must_use]
    pub fn to_output(&self, value: f64) -> f64 {
        (value - self.mean) / self.std
    }

    /// A network output in the target's units.
    #[must_use]
    pub fn to_value(&self, output: f64) -> f64 {
        output * self.std + self.mean
    }
}

impl ModelSpec {
    fn new(task: Task, n_inputs: usize) -> Self {
        Self {
            task,
            n_inputs,
            hidden: Vec::new(),
            activation: Activation::default(),
            dropout: 0.0,
            class_names: Vec::new(),
            target_scale: None,
        }
    }

    /// Linear regression: one linear layer, one output.
    #[must_use]
    pub fn linear_regression(n_inputs: usize) -> Self {
        Self::new(Task::Regression, n_inputs)
    }

    /// Logistic regression: one linear layer, one logit, sigmoid.
    #[must_use]
    pub fn logistic_regression(n_inputs: usize) -> Self {
        Self::new(Task::Binary, n_inputs)
    }

    /// Softmax (multinomial logistic) regression over `n_classes`.
    #[must_use]
    pub fn softmax_regression(n_inputs: usize, n_classes: usize) -> Self {
        Self::new(Task::Multiclass { n_classes }, n_inputs)
    }

    /// A multilayer perceptron with the given hidden widths.
    #[must_use]
    pub fn mlp(task: Task, n_inputs: usize, hidden: impl Into<Vec<usize>>) -> Self {
        Self {
            hidden: hidden.into(),
            ..Self::new(task, n_inputs)
        }
    }

    /// A model for `data`: regression for value targets, binary for two
    /// classes, multiclass otherwise; class names are copied from the targets.
    #[must_use]
    pub fn for_dataset(data: &Dataset, hidden: impl Into<Vec<usize>>) -> Self {
        let task = match data.targets() {
            Targets::Values(_) => Task::Regression,
            Targets::Classes { classes, .. } if classes.len() == 2 => Task::Binary,
            Targets::Classes { classes, .. } => Task::Multiclass {
                n_classes: classes.len(),
            },
        };
        let mut spec = Self::mlp(task, data.features().cols(), hidden);
        spec.class_names = data.targets().class_names().unwrap_or_default().to_vec();
        spec
    }

    /// Sets the hidden-layer activation.
    #[must_use]
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Sets the dropout probability used while training.
    #[must_use]
    pub fn with_dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }

    /// Names the classes (index order).
    #[must_use]
    pub fn with_class_names<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.class_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the map from the network's output to the target's units
    /// (regression only; the trainer fits it unless told not to).
    #[must_use]
    pub fn with_target_scale(mut self, scale: TargetScale) -> Self {
        self.target_scale = Some(scale);
        self
    }

    /// Targets in the network's output units (regression values through
    /// [`ModelSpec::target_scale`]; classes unchanged).
    #[cfg(feature = "train")]
    pub(crate) fn output_targets<'a>(&self, targets: &'a Targets) -> std::borrow::Cow<'a, Targets> {
        match (targets, self.target_scale) {
            (Targets::Values(values), Some(scale)) => std::borrow::Cow::Owned(Targets::Values(
                values.iter().map(|&v| scale.to_output(f64::from(v)) as f32).collect(),
            )),
            _ => std::borrow::Cow::Borrowed(targets),
        }
    }

    /// A short name for the model family: `linear_regression`,
    /// `logistic_regression`, `softmax_regression`, `mlp_regressor` or
    /// `mlp_classifier`.
    #[must_use]
    pub fn family(&self) -> &'static str {
        match (self.hidden.is_empty(), self.task) {
            (true, Task::Regression) => "linear_regression",
            (true, Task::Binary) => "logistic_regression",
            (true, Task::Multiclass { .. }) => "softmax_regression",
            (false, Task::Regression) => "mlp_regressor",
            (false, _) => "mlp_classifier",
        }
    }

    /// `(inputs, outputs)` of each linear layer, first to last.
    #[must_use]
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let mut widths = Vec::with_capacity(self.hidden.len() + 2);
        widths.push(self.n_inputs);
        widths.extend_from_slice(&self.hidden);
        widths.push(self.task.n_outputs());
        widths.windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// Number of trainable parameters.
    #[must_use]
    pub fn num_params(&self) -> usize {
        self.layer_shapes().iter().map(|(i, o)| i * o + o).sum()
    }

    /// Names and shapes of the weight tensors, as stored in a safetensors
    /// file: `layers.<i>.weight` is `[inputs, outputs]` (Burn's row layout,
    /// the transpose of PyTorch's) and `layers.<i>.bias` is `[outputs]`.
    #[must_use]
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.layer_shapes()
            .into_iter()
            .enumerate()
            .flat_map(|(i, (inputs, outputs))| {
                [
                    (format!("layers.{i}.weight"), vec![inputs, outputs]),
                    (format!("layers.{i}.bias"), vec![outputs]),
                ]
            })
            .collect()
    }

    /// Checks that the spec describes a model.
    ///
    /// # Errors
    /// [`Error::InvalidModelSpec`] for 0 inputs, a 0-width hidden layer, fewer
    /// than 2 classes (3 for `Multiclass` is not required: 2 is allowed), a
    /// dropout outside [0, 1), or class names that do not match the classes.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidModelSpec(msg));
        if self.n_inputs == 0 {
            return bad("n_inputs is 0".into());
        }
        if let Some(i) = self.hidden.iter().position(|&w| w == 0) {
            return bad(format!("hidden layer {i} has width 0"));
        }
        if let Task::Multiclass { n_classes } = self.task
            && n_classes < 2
        {
            return bad(format!("multiclass needs at least 2 classes, got {n_classes}"));
        }
        if !(self.dropout.is_finite() && (0.0..1.0).contains(&self.dropout)) {
            return bad(format!("dropout {} is outside [0, 1)", self.dropout));
        }
        match self.task.n_classes() {
            None if !self.class_names.is_empty() => {
                return bad("a regression model has no class names".into());
            }
            Some(n) if !self.class_names.is_empty() && self.class_names.len() != n => {
                return bad(format!("{} class names for {n} classes", self.class_names.len()));
            }
            _ => {}
        }
        match (self.target_scale, self.task) {
            (None, _) => {}
            (Some(_), Task::Binary | Task::Multiclass { .. }) => {
                return bad("a classifier has no target scale".into());
            }
            (Some(s), Task::Regression) => {
                if !(s.mean.is_finite() && s.std.is_finite() && s.std > 0.0) {
                    return bad(format!(
                        "target scale mean {} / std {}: need a finite mean and a finite std > 0",
                        s.mean, s.std
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The Burn module behind every Kiln tabular model: a stack of `Linear`
/// layers with an activation between them. Its parameters are named
/// `layers.<i>.weight` and `layers.<i>.bias` (see [`ModelSpec::tensor_shapes`]).
#[derive(Module, Debug)]
pub struct TabularNet {
    layers: Vec<Linear>,
    #[module(skip)]
    activation: Activation,
}

impl TabularNet {
    /// Builds the network for `spec` on `device` with weights drawn from
    /// `seed`: Glorot-uniform for tanh and output layers, He-uniform for
    /// ReLU/GELU hidden layers, zero biases. The draw happens on the host, so
    /// the same seed gives the same initial weights on every backend.
    ///
    /// # Errors
    /// [`Error::InvalidModelSpec`] when `spec` does not validate.
    pub fn init(spec: &ModelSpec, seed: u64, device: &Device) -> Result<Self> {
        spec.validate()?;
        let mut rng = Rng::stream(seed, 0x1417);
        let shapes = spec.layer_shapes();
        let last = shapes.len() - 1;
        let layers = shapes
            .iter()
            .enumerate()
            .map(|(i, &(inputs, outputs))| {
                let he = i < last && matches!(spec.activation, Activation::Relu | Activation::Gelu);
                let bound = if he {
                    (6.0 / inputs as f64).sqrt()
                } else {
                    (6.0 / (inputs + outputs) as f64).sqrt()
                };
                let weights: Vec<f32> = (0..inputs * outputs)
                    .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
                    .collect();
                linear_from(weights, vec![0.0; outputs], inputs, outputs, device)
            })
            .collect();
        Ok(Self {
            layers,
            activation: spec.activation,
        })
    }

    /// The linear layers, first to last.
    #[must_use]
    pub fn layers(&self) -> &[Linear] {
        &self.layers
    }

    /// The forward pass: `[rows, n_inputs]` in, raw logits (or regression
    /// values) `[rows, n_outputs]` out.
    #[must_use]
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        self.forward_masked(input, &[])
    }

    /// The forward pass with a dropout mask after hidden layer `i` when
    /// `masks[i]` exists (already scaled by `1 / (1 - p)`).
    pub(crate) fn forward_masked(&self, input: Tensor<2>, masks: &[Tensor<2>]) -> Tensor<2> {
        let last = self.layers.len() - 1;
        let mut x = input;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = match self.activation {
                    Activation::Relu => activation::relu(x),
                    Activation::Gelu => activation::gelu(x),
                    Activation::Tanh => activation::tanh(x),
                };
                if let Some(mask) = masks.get(i) {
                    x = x * mask.clone();
                }
            }
        }
        x
    }

    /// Checks that the layer shapes are those of `spec`.
    pub(crate) fn check_shapes(&self, spec: &ModelSpec) -> Result<()> {
        let expected = spec.layer_shapes();
        let found: Vec<(usize, usize)> = self
            .layers
            .iter()
            .map(|l| {
                let [i, o] = l.weight.lazy_shape().dims();
                (i, o)
            })
            .collect();
        if expected != found {
            return Err(Error::InvalidModelSpec(format!(
                "network layers {found:?} do not match the spec's {expected:?}"
            )));
        }
        Ok(())
    }
}

fn linear_from(weights: Vec<f32>, bias: Vec<f32>, inputs: usize, outputs: usize, device: &Device) -> Linear {
    Linear {
        weight: Param::from_data(TensorData::new(weights, [inputs, outputs]), device),
        bias: Some(Param::from_data(TensorData::new(bias, [outputs]), device)),
    }
}

/// Model outputs for a batch of rows.
///
/// For classification, [`probabilities`](Self::probabilities) is a row-major
/// `rows x n_classes` matrix (binary models give `[1 - p, p]`); for
/// regression, [`values`](Self::values) holds one value per row.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    task: Task,
    rows: usize,
    values: Vec<f64>,
}

impl Predictions {
    /// Turns raw network outputs (`rows x task.n_outputs()`, row-major) into
    /// predictions: identity for regression, sigmoid for binary, softmax for
    /// multiclass (numerically stable, in `f64`).
    ///
    /// # Errors
    /// [`Error::InvalidData`] when `logits` is not `rows x n_outputs`.
    pub fn from_logits(task: Task, logits: &[f32], rows: usize) -> Result<Self> {
        let width = task.n_outputs();
        if logits.len() != rows * width {
            return Err(Error::InvalidData(format!(
                "{} logits for {rows} rows of {width} outputs",
                logits.len()
            )));
        }
        let values = match task {
            Task::Regression => logits.iter().map(|&v| f64::from(v)).collect(),
            Task::Binary => logits
                .iter()
                .flat_map(|&z| {
                    let p = sigmoid(f64::from(z));
                    [1.0 - p, p]
                })
                .collect(),
            Task::Multiclass { .. } => logits.chunks(width).flat_map(softmax).collect(),
        };
        Ok(Self { task, rows, values })
    }

    /// The predictions of the model `spec` from its raw outputs: as
    /// [`Predictions::from_logits`], with regression values mapped to the
    /// target's units through [`ModelSpec::target_scale`].
    ///
    /// # Errors
    /// As [`Predictions::from_logits`].
    pub fn from_outputs(spec: &ModelSpec, logits: &[f32], rows: usize) -> Result<Self> {
        let mut p = Self::from_logits(spec.task, logits, rows)?;
        if let (Task::Regression, Some(scale)) = (spec.task, spec.target_scale) {
            p.values.iter_mut().for_each(|v| *v = scale.to_value(*v));
        }
        Ok(p)
    }

    /// The task these predictions are for.
    #[must_use]
    pub fn task(&self) -> Task {
        self.task
    }

    /// Number of rows.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Regression outputs, one per row (`None` for classification).
    #[must_use]
    pub fn values(&self) -> Option<&[f64]> {
        matches!(self.task, Task::Regression).then_some(self.values.as_slice())
    }

    /// Class probabilities, row-major `rows x n_classes` (`None` for regression).
    #[must_use]
    pub fn probabilities(&self) -> Option<&[f64]> {
        self.task.n_classes().map(|_| self.values.as_slice())
    }

    /// The most probable class of each row (lowest index on ties; empty for
    /// regression).
    #[must_use]
    pub fn classes(&self) -> Vec<usize> {
        match self.task.n_classes() {
            Some(k) => self.values.chunks(k).map(argmax).collect(),
            None => Vec::new(),
        }
    }
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    let exps: Vec<f64> = logits.iter().map(|&v| (f64::from(v) - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

pub(crate) fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Runs `net` on `features` and returns raw outputs (`rows x n_outputs`,
/// row-major), in chunks of rows so large inputs do not exhaust device memory.
///
/// # Errors
/// [`Error::InvalidData`] when the column count is not `spec.n_inputs`;
/// [`Error::Backend`] when the device fails to read results back.
pub fn logits(net: &TabularNet, spec: &ModelSpec, features: &Features) -> Result<Vec<f32>> {
    if features.cols() != spec.n_inputs {
        return Err(Error::InvalidData(format!(
            "model takes {} inputs, got {} columns",
            spec.n_inputs,
            features.cols()
        )));
    }
    let net = net.valid();
    let device = net
        .devices()
        .into_iter()
        .next()
        .map(Device::without_autodiff)
        .ok_or_else(|| Error::InvalidModelSpec("the network has no parameters".into()))?;
    let mut out = Vec::with_capacity(features.rows() * spec.task.n_outputs());
    let cols = features.cols();
    for chunk in features.as_slice().chunks(INFER_CHUNK_ROWS * cols) {
        let rows = chunk.len() / cols;
        let input = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [rows, cols]), &device);
        out.extend(read_f32(net.forward(input), &device)?);
    }
    Ok(out)
}

/// Runs `net` on `features` and applies the task's head (sigmoid, softmax;
/// the target scale for regression).
///
/// ```
/// use kiln_train::{Features, ModelSpec, TabularNet, model::infer};
/// let spec = ModelSpec::softmax_regression(2, 3);
/// let device = kiln_train::Backend::Flex.device()?;
/// let net = TabularNet::init(&spec, 7, &device)?;
/// let x = Features::new(vec![0.5, -1.0, 2.0, 0.0], 2, 2)?;
/// let p = infer(&net, &spec, &x)?;
/// let probs = p.probabilities().unwrap();
/// assert!((probs[0] + probs[1] + probs[2] - 1.0).abs() < 1e-9);
/// # Ok::<(), kiln_train::Error>(())
/// ```
///
/// # Errors
/// As [`logits`].
pub fn infer(net: &TabularNet, spec: &ModelSpec, features: &Features) -> Result<Predictions> {
    let raw = logits(net, spec, features)?;
    Predictions::from_outputs(spec, &raw, features.rows())
}

/// Reads a float tensor back to the host as `f32`.
pub(crate) fn read_f32<const D: usize>(tensor: Tensor<D>, device: &Device) -> Result<Vec<f32>> {
    tensor.try_into_vec_as::<f32>().map_err(|e| Error::Backend {
        backend: format!("{device:?}"),
        reason: format!("reading a tensor back failed: {e}"),
    })
}

/// One weight tensor copied to the host.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    /// `layers.<i>.weight` or `layers.<i>.bias`.
    pub name: String,
    /// The tensor's shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub values: Vec<f32>,
}

/// A trained network with its spec, ready to predict.
#[derive(Clone, Debug)]
pub struct TrainedModel {
    spec: ModelSpec,
    net: TabularNet,
    backend: Backend,
}

impl TrainedModel {
    /// Pairs a network with its spec; the network is switched to inference
    /// mode (no autodiff, no dropout).
    ///
    /// # Errors
    /// [`Error::InvalidModelSpec`] when the spec is invalid or its layer
    /// shapes differ from the network's.
    pub fn new(spec: ModelSpec, net: TabularNet, backend: Backend) -> Result<Self> {
        spec.validate()?;
        net.check_shapes(&spec)?;
        Ok(Self {
            spec,
            net: net.valid(),
            backend,
        })
    }

    /// The architecture.
    #[must_use]
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The Burn module.
    #[must_use]
    pub fn net(&self) -> &TabularNet {
        &self.net
    }

    /// The backend the weights live on.
    #[must_use]
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Predicts for every row of `features`.
    ///
    /// # Errors
    /// As [`infer`].
    pub fn predict(&self, features: &Features) -> Result<Predictions> {
        infer(&self.net, &self.spec, features)
    }

    /// Predicts for a borrowed row-major buffer of `rows` x `spec().n_inputs`.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when the buffer does not have that shape or
    /// holds a non-finite value; otherwise as [`infer`].
    pub fn predict_slice(&self, data: &[f32], rows: usize) -> Result<Predictions> {
        self.predict(&Features::from_slice(data, rows, self.spec.n_inputs)?)
    }

    /// Every metric of the model on `data` (its targets encoded as the
    /// model's: see [`Dataset::for_model`]).
    ///
    /// # Errors
    /// As [`infer`]; [`Error::Metric`] when the targets do not fit the
    /// model's task or classes.
    pub fn evaluate(&self, data: &Dataset) -> Result<Evaluation> {
        Evaluation::of(&self.spec, &self.predict(data.features())?, data.targets())
    }

    /// Every metric of the model on a labelled batch, through the fitted
    /// `pipeline` it was trained with: [`Dataset::for_model`], then
    /// [`TrainedModel::evaluate`].
    ///
    /// # Errors
    /// As [`Dataset::for_model`] and [`TrainedModel::evaluate`].
    pub fn evaluate_batch(&self, pipeline: &FittedPipeline, batch: &Batch) -> Result<Evaluation> {
        self.evaluate(&Dataset::for_model(pipeline, batch, &self.spec)?)
    }

    /// The class names, in index order (empty for regression).
    #[must_use]
    pub fn class_names(&self) -> &[String] {
        &self.spec.class_names
    }

    /// The name of the most probable class of every row of `predictions`.
    ///
    /// ```
    /// use kiln_train::{Backend, ModelSpec, TabularNet, TrainedModel};
    /// let spec = ModelSpec::softmax_regression(2, 3).with_class_names(["Adelie", "Chinstrap", "Gentoo"]);
    /// let net = TabularNet::init(&spec, 3, &Backend::Flex.device()?)?;
    /// let model = TrainedModel::new(spec, net, Backend::Flex)?;
    /// let p = model.predict_slice(&[0.5, -1.0, 2.0, 0.0], 2)?;
    /// let labels = model.predicted_labels(&p)?;
    /// assert_eq!(labels.len(), 2);
    /// assert!(labels.iter().all(|l| model.class_names().iter().any(|c| c == l)));
    /// # Ok::<(), kiln_train::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModelSpec`] for a regression model or one without
    /// class names; [`Error::InvalidData`] for predictions of another task.
    pub fn predicted_labels<'a>(&'a self, predictions: &Predictions) -> Result<Vec<&'a str>> {
        if self.spec.task.n_classes().is_none() || self.spec.class_names.is_empty() {
            return Err(Error::InvalidModelSpec(format!(
                "a {} has no class names to map predictions to",
                self.spec.family()
            )));
        }
        if predictions.task() != self.spec.task {
            return Err(Error::InvalidData("the predictions are not this model's".into()));
        }
        Ok(predictions
            .classes()
            .into_iter()
            .map(|c| self.spec.class_names[c].as_str())
            .collect())
    }

    /// A copy of the model on another backend.
    ///
    /// # Errors
    /// [`Error::Backend`] when that backend is unavailable.
    pub fn to_backend(&self, backend: &Backend) -> Result<Self> {
        let device = backend.device()?;
        Ok(Self {
            spec: self.spec.clone(),
            net: self.net.clone().to_device(&device),
            backend: backend.clone(),
        })
    }

    /// The weights copied to the host, in [`ModelSpec::tensor_shapes`] order.
    ///
    /// # Errors
    /// [`Error::Backend`] when the device fails to read them back.
    pub fn tensors(&self) -> Result<Vec<NamedTensor>> {
        let device = self.backend.device()?;
        let mut out = Vec::with_capacity(self.net.layers.len() * 2);
        for (i, layer) in self.net.layers.iter().enumerate() {
            let weight = layer.weight.val();
            out.push(NamedTensor {
                name: format!("layers.{i}.weight"),
                shape: weight.dims().to_vec(),
                values: read_f32(weight, &device)?,
            });
            if let Some(bias) = &layer.bias {
                let bias = bias.val();
                out.push(NamedTensor {
                    name: format!("layers.{i}.bias"),
                    shape: bias.dims().to_vec(),
                    values: read_f32(bias, &device)?,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_validation_names_the_problem() {
        assert!(ModelSpec::linear_regression(0).validate().is_err());
        let e = ModelSpec::mlp(Task::Regression, 3, [4, 0]).validate().unwrap_err();
        assert!(e.to_string().contains("hidden layer 1"), "{e}");
        assert!(ModelSpec::softmax_regression(3, 1).validate().is_err());
        assert!(ModelSpec::logistic_regression(3).with_dropout(1.0).validate().is_err());
        assert!(
            ModelSpec::logistic_regression(3)
                .with_dropout(f64::NAN)
                .validate()
                .is_err()
        );
        assert!(
            ModelSpec::logistic_regression(3)
                .with_class_names(["a", "b", "c"])
                .validate()
                .is_err()
        );
        ModelSpec::logistic_regression(3)
            .with_class_names(["a", "b"])
            .validate()
            .unwrap();
    }

    #[test]
    fn spec_json_round_trip() {
        let spec = ModelSpec::mlp(Task::Multiclass { n_classes: 3 }, 5, [8])
            .with_activation(Activation::Tanh)
            .with_dropout(0.25)
            .with_class_names(["a", "b", "c"]);
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<ModelSpec>(&json).unwrap(), spec);
        assert_eq!(spec.num_params(), 5 * 8 + 8 + 8 * 3 + 3);
    }

    #[test]
    fn heads_are_sigmoid_and_softmax() {
        let p = Predictions::from_logits(Task::Binary, &[0.0, 2.0], 2).unwrap();
        let probs = p.probabilities().unwrap();
        assert!((probs[1] - 0.5).abs() < 1e-12);
        assert!((probs[3] - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-7);
        assert_eq!(p.classes(), [0, 1]);
        let m = Predictions::from_logits(Task::Multiclass { n_classes: 3 }, &[1.0, 2.0, 3.0], 1).unwrap();
        let probs = m.probabilities().unwrap();
        let z: f64 = [1.0f64, 2.0, 3.0].iter().map(|v| v.exp()).sum();
        assert!((probs[2] - 3.0f64.exp() / z).abs() < 1e-7);
        assert_eq!(m.classes(), [2]);
        assert!(Predictions::from_logits(Task::Binary, &[0.0], 2).is_err());
        assert!(sigmoid(-800.0) >= 0.0 && sigmoid(800.0) <= 1.0);
    }

    #[cfg(feature = "flex")]
    #[test]
    fn init_is_seeded_and_infer_checks_columns() {
        let device = Backend::Flex.device().unwrap();
        let spec = ModelSpec::mlp(Task::Binary, 3, [4]);
        let a = TrainedModel::new(
            spec.clone(),
            TabularNet::init(&spec, 1, &device).unwrap(),
            Backend::Flex,
        )
        .unwrap();
        let b = TrainedModel::new(
            spec.clone(),
            TabularNet::init(&spec, 1, &device).unwrap(),
            Backend::Flex,
        )
        .unwrap();
        let c = TrainedModel::new(
            spec.clone(),
            TabularNet::init(&spec, 2, &device).unwrap(),
            Backend::Flex,
        )
        .unwrap();
        assert_eq!(a.tensors().unwrap(), b.tensors().unwrap());
        assert_ne!(a.tensors().unwrap(), c.tensors().unwrap());
        let names: Vec<(String, Vec<usize>)> = a.tensors().unwrap().into_iter().map(|t| (t.name, t.shape)).collect();
        assert_eq!(names, spec.tensor_shapes());
        let x = Features::new(vec![0.0; 4], 2, 2).unwrap();
        assert!(matches!(a.predict(&x), Err(Error::InvalidData(_))));
        let wrong = ModelSpec::mlp(Task::Binary, 3, [5]);
        assert!(TrainedModel::new(wrong, TabularNet::init(&spec, 1, &device).unwrap(), Backend::Flex).is_err());
    }

    #[cfg(feature = "flex")]
    #[test]
    fn chunked_inference_matches_host_arithmetic() {
        // More rows than one inference chunk, so the chunk boundary is crossed.
        let rows = INFER_CHUNK_ROWS + 37;
        let spec = ModelSpec::logistic_regression(3);
        let device = Backend::Flex.device().unwrap();
        let model = TrainedModel::new(
            spec.clone(),
            TabularNet::init(&spec, 4, &device).unwrap(),
            Backend::Flex,
        )
        .unwrap();
        let t = model.tensors().unwrap();
        let (w, b) = (&t[0].values, t[1].values[0]);
        let mut rng = Rng::new(8);
        let x: Vec<f32> = (0..rows * 3).map(|_| (rng.next_f64() * 4.0 - 2.0) as f32).collect();
        let p = model.predict_slice(&x, rows).unwrap();
        let probs = p.probabilities().unwrap();
        for (r, row) in x.chunks(3).enumerate() {
            let z: f64 = row
                .iter()
                .zip(w)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum::<f64>()
                + f64::from(b);
            assert!((probs[2 * r + 1] - sigmoid(z)).abs() < 1e-5, "row {r}");
        }
    }

    #[cfg(feature = "flex")]
    mod parity {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(32))]
            /// Predicting a batch gives the same result as predicting each row alone.
            #[test]
            fn batch_equals_rows(
                seed in any::<u64>(),
                rows in 1usize..20,
                values in proptest::collection::vec(-3.0f32..3.0, 60),
            ) {
                let spec = ModelSpec::mlp(Task::Multiclass { n_classes: 3 }, 3, [5]);
                let device = Backend::Flex.device().unwrap();
                let model = TrainedModel::new(
                    spec.clone(),
                    TabularNet::init(&spec, seed, &device).unwrap(),
                    Backend::Flex,
                )
                .unwrap();
                let x = &values[..rows * 3];
                let batch = model.predict_slice(x, rows).unwrap();
                for (r, row) in x.chunks(3).enumerate() {
                    let one = model.predict_slice(row, 1).unwrap();
                    for (a, b) in one.probabilities().unwrap().iter().zip(&batch.probabilities().unwrap()[r * 3..r * 3 + 3]) {
                        prop_assert!((a - b).abs() < 1e-6, "row {}: {} vs {}", r, a, b);
                    }
                }
            }
        }
    }

    #[cfg(feature = "flex")]
    #[test]
    fn forward_matches_a_hand_computed_linear_layer() {
        let device = Backend::Flex.device().unwrap();
        let spec = ModelSpec::linear_regression(2);
        let net = TabularNet {
            layers: vec![linear_from(vec![2.0, -1.0], vec![0.5], 2, 1, &device)],
            activation: Activation::Relu,
        };
        let x = Features::new(vec![1.0, 3.0, -2.0, 0.5], 2, 2).unwrap();
        let p = infer(&net, &spec, &x).unwrap();
        assert_eq!(p.values().unwrap(), &[2.0 - 3.0 + 0.5, -4.0 - 0.5 + 0.5]);
    }
}
