"""The multilayer perceptron classifier with dropout."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels

from ..utils import atomic_fit, set_params_of_init
from ._base import _BaseDropoutMLP
from ._params import PRIOR_LENGTH_SCALE, stochastic_solver


class DropoutMLPClassifier(ClassifierMixin, _BaseDropoutMLP):
    """Multilayer perceptron classifier trained with dropout.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`
    (same parameter names and defaults, same fitted attributes) that adds
    input and hidden dropout, dropout variants, Monte Carlo dropout
    predictions and a torch device.  Read more in the
    :ref:`user guide <mlp_dropout>`.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer.
    activation : {"identity", "logistic", "tanh", "relu", "selu"}, default="relu"
        Activation of the hidden layers; "selu" goes with alpha dropout.
    solver : {"adam", "adamw", "sgd", "lbfgs"}, default="adam"
        "adam", "sgd" and "lbfgs" are scikit-learn's solvers; "adamw"
        applies ``alpha`` as decoupled weight decay (Loshchilov and Hutter
        2019) instead of an L2 term in the gradient.  "lbfgs" is full-batch
        L-BFGS in float64 (scipy), as in scikit-learn: its objective must be
        deterministic, so it needs every dropout rate at 0 (a ``ValueError``
        otherwise), ignores the mini-batch parameters and early stopping,
        and has no ``partial_fit``.
    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights, as in scikit-learn: the
        mini-batch loss gets ``alpha / (2 n_batch) * ||W||^2``.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Step-size schedule of ``solver="sgd"``, as in scikit-learn.
    learning_rate_init : float, default=0.001
        Initial step size.
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization, the masks, the shuffling and the
        early-stopping split, through private generators: fitting never
        touches numpy's or torch's global random state.
    tol : float, default=1e-4
        Improvement of the loss (or validation score) below which an epoch
        counts as no improvement.
    verbose : bool, default=False
        Show a progress bar over epochs with the current loss.
    warm_start : bool, default=False
        Continue from the previous solution on ``fit``.
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for ``solver="sgd"``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified),
        stop when its accuracy stops improving and restore the best epoch's
        weights.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    max_fun : int, default=15000
        Maximum number of loss evaluations of ``solver="lbfgs"``.
    input_dropout : float or "learned", default=0.0
        Probability of dropping each input feature (or group), in [0, 1).
        ``"learned"`` learns one rate per feature or group with Concrete
        dropout (Gal, Hron & Kendall 2017): see :ref:`learned_rates`.
    hidden_dropout : float, "learned" or array-like, default=0.5
        Dropout rate of each hidden layer's output: one float for all, or
        one per hidden layer.  ``"learned"`` learns one rate per layer;
        mixed forms such as ``(0.1, "learned")`` are allowed.  The output
        layer is never dropped.
    dropout_type : {"bernoulli", "gaussian", "alpha", "dropconnect"}, \
default="bernoulli"
        "bernoulli" zeroes units; "gaussian" multiplies them by noise
        ``N(1, p / (1 - p))``; "alpha" is alpha dropout for SELU networks;
        "dropconnect" masks weights instead of units, one mask per
        mini-batch, and predicts with the mean weights.
    dropout_scaling : {"inverted", "test_time"}, default="inverted"
        "inverted" scales kept units by ``1 / (1 - p)`` in training;
        "test_time" trains with unscaled masks and multiplies by ``1 - p``
        at prediction (the original formulation).  Only for "bernoulli" and
        "dropconnect".
    feature_groups : list of lists, default=None
        Input columns that share one dropout mask per row (indices, or names
        for a DataFrame), for instance the one-hot columns of a categorical
        feature that was encoded before the estimator.
    categorical_features : "from_dtype", list of str or int, bool mask or None, \
default="from_dtype"
        Columns the estimator one-hot encodes itself, as in
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`:
        "from_dtype" takes the pandas ``category``, ``object`` and string
        columns of a DataFrame.  Each encoded block is one input-dropout
        group.  A category unseen in ``fit`` or a missing value encodes to an
        all-zero block, which is what a dropped group looks like.  See
        :ref:`categorical_features`.
    max_categories : int, default=None
        At most this many encoded columns per categorical feature; rarer
        levels share one column, as in
        :class:`~sklearn.preprocessing.OneHotEncoder`.
    batch_norm : bool, default=False
        Linear -> BatchNorm -> activation -> dropout in each hidden layer.
    max_norm : float, default=None
        Max-norm constraint on each unit's incoming weight vector, applied
        after every step (Srivastava et al. 2014, section 5.1).
    prior_length_scale : float, default=0.01
        Learned rates only: the prior length-scale ``l`` of Concrete
        dropout's regularizer, ``l^2 / N * ||W||^2 / (1 - p) + 2 K / N *
        (p log p + (1 - p) log(1 - p))`` per learned rate ``p`` (``W`` the
        weights that consume the dropped units, ``N`` the training rows).
        It is added to the ``alpha`` penalty, which applies as usual.  A
        larger ``l`` pulls the rates down harder; must be positive.
    class_weight : dict, list of dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn's
        classifiers (not in its MLPClassifier): each row's weight is its
        ``sample_weight`` times its class's weight.  ``{label: weight}``
        gives them (a class left out weighs 1); "balanced" weighs each
        class by ``n_samples / (n_classes * count)`` of the ``y`` passed to
        ``fit``; None weighs every class 1.  A multilabel ``y`` takes
        "balanced" or a list of one dict per column (``{0: w0, 1: w1}``, as
        scikit-learn's multi-output classifiers), and a row's weight is the
        product of its columns'.  ``partial_fit`` takes a dict or a list,
        not "balanced" (one batch's counts).
    device : str, default="cpu"
        "cpu", "cuda", "cuda:N", "mps" or "auto" (the best available).  A
        device this machine lacks is an error at ``fit``.

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    loss_curve_ : list of float
        Training loss of each epoch, as scikit-learn reports it: the mean
        loss over the epoch's batches, with the dropout masks on, plus the
        ``alpha`` penalty.
    validation_scores_ : list of float or None
        Validation accuracy after each epoch (early stopping only).
    validation_loss_curve_ : list of float or None
        Loss of the evaluation-mode network (no dropout, no penalty) on the
        validation split after each epoch (early stopping only): the same
        cross-entropy as ``loss_curve_``, for plotting the generalization
        gap (:class:`~skdrop.inspection.LossCurveDisplay`).
    best_validation_score_ : float or None
        Best validation accuracy (early stopping only).
    best_loss_ : float or None
        Lowest training loss (None with early stopping).
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    input_dropout_ : ndarray of shape (n_features,)
        The input dropout rate of each feature of ``X`` (a learned rate is
        shared by the columns of its group; NaN for a categorical column
        without levels); the fixed rate where not learned.
    hidden_dropout_ : list of float
        The dropout rate of each hidden layer, learned or fixed.
    input_dropout_history_, hidden_dropout_history_ : ndarray or None
        Learned rates only: the rates after each epoch, of shape (n_epochs,
        n_features) and (n_epochs, n_hidden_layers); None when every rate
        is fixed.
    coefs_, intercepts_ : list of ndarray
        Weights ``(n_in, n_out)`` and biases of each layer of the
        evaluation-mode network, with batch normalization and test-time
        scaling folded in: ``a = act(a @ coefs_[i] + intercepts_[i])``
        reproduces the predictions.  A read-only snapshot.
    n_layers_, n_outputs_, out_activation_ : int, int, str
        As in scikit-learn.
    module_ : DropoutNetwork
        The trained torch module.
    categories_ : dict
        The levels learned for each categorical column (keyed by column
        name, or index for arrays), in the order of their encoded columns;
        ``"infrequent"`` marks the pooled column of ``max_categories``.
    feature_groups_ : list of ndarray
        The dropout groups as column indices of the encoded input: one per
        original feature (its one-hot block for a categorical one), merged
        as ``feature_groups`` asks.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when X has string column names.

    See Also
    --------
    DropoutMLPRegressor : The regressor.
    sklearn.neural_network.MLPClassifier : The same model without dropout.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop import DropoutMLPClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> model = make_pipeline(
    ...     StandardScaler(),
    ...     DropoutMLPClassifier(hidden_dropout=0.5, max_iter=300, random_state=0),
    ... ).fit(X_train, y_train)
    >>> bool(model.score(X_test, y_test) > 0.93)
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **_BaseDropoutMLP._parameter_constraints,
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        input_dropout=0.0,
        hidden_dropout=0.5,
        dropout_type="bernoulli",
        dropout_scaling="inverted",
        feature_groups=None,
        categorical_features="from_dtype",
        max_categories=None,
        batch_norm=False,
        max_norm=None,
        prior_length_scale=PRIOR_LENGTH_SCALE,
        class_weight=None,
        device="cpu",
    ):
        set_params_of_init(self, locals())

    @available_if(stochastic_solver)
    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            All the classes, required on the first call (as in
            scikit-learn's ``partial_fit``); for a multilabel indicator
            ``y``, its column indices ``0, ..., n_labels - 1``.

        Raises
        ------
        ValueError
            With ``early_stopping=True``, as scikit-learn's: one epoch has
            no held-out split to stop on.

        Returns
        -------
        self : DropoutMLPClassifier
            The updated estimator.
        """
        if not hasattr(self, "module_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if hasattr(self, "classes_") and classes is not None:
            if not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={np.unique(classes).tolist()} is not the same as on "
                    f"the first call to partial_fit, {self.classes_.tolist()}"
                )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _encode_y(self, y, *, first, classes):
        if first:
            # The label type first: LabelBinarizer's own errors are cryptic.
            target_type = type_of_target(y)
            if target_type not in ("binary", "multiclass", "multilabel-indicator"):
                raise ValueError(
                    f"Unknown label type: {target_type!r}; "
                    f"{type(self).__name__} needs class labels or a multilabel "
                    "indicator matrix (for continuous targets use "
                    "DropoutMLPRegressor)"
                )
            binarizer = LabelBinarizer()
            # A multilabel y names its classes by its columns, whatever
            # partial_fit's classes say (as in scikit-learn).
            multilabel = target_type == "multilabel-indicator"
            binarizer.fit(y if classes is None or multilabel else classes)
            if multilabel and classes is not None:
                if not np.array_equal(np.unique(classes), binarizer.classes_):
                    raise ValueError(
                        f"classes={np.unique(classes).tolist()} must be the "
                        f"column indices {binarizer.classes_.tolist()} of the "
                        "multilabel indicator y"
                    )
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
            self._multilabel = binarizer.y_type_ == "multilabel-indicator"
        if not self._multilabel:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if len(unseen):
                raise ValueError(
                    f"y has classes {unseen.tolist()} that are not in classes "
                    f"{self.classes_.tolist()}; pass every class to the first "
                    "partial_fit call"
                )
        Y = self._label_binarizer.transform(y).astype(np.float64)
        return Y

    def _check_warm_start(self, y):
        classes = unique_labels(y)
        if set(classes) != set(self.classes_):
            # scikit-learn's message.
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as "
                f"in the previous call to fit. Previously got {self.classes_}, "
                f"`y` has {classes}"
            )

    def _class_weighted(self, labels, sample_weight, dtype, incremental):
        if self.class_weight is None:
            return sample_weight
        if incremental and isinstance(self.class_weight, str):
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: one "
                "batch's class counts are not the data's. Compute the weights "
                "with sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y) on a large enough sample of y and pass "
                "them as a dict."
            )
        if np.ndim(labels) == 2 and isinstance(self.class_weight, dict):
            raise ValueError(
                f"class_weight={self.class_weight!r} is a dict, but y is "
                f"multilabel ({labels.shape[1]} columns): give 'balanced' or a "
                "list of one dict per column, such as [{0: 1, 1: 5}, ...]."
            )
        if np.ndim(labels) == 1 and isinstance(self.class_weight, list):
            raise ValueError(
                "class_weight is a list (one dict per column of a multilabel "
                "y), but y has one column: give a dict {label: weight}."
            )
        weights = compute_sample_weight(self.class_weight, labels).astype(dtype)
        return weights if sample_weight is None else sample_weight * weights

    def _head(self, Y):
        head = "softmax" if Y.shape[1] > 1 and not self._multilabel else "logistic"
        self._head_name = head
        return head

    def _from_raw(self, raw):
        """Probabilities of network outputs (classes on the last axis)."""
        if len(self.classes_) == 1:
            # Fitted on one class: certain of it (one column, as classes_).
            return np.ones((*raw.shape[:-1], 1))
        if self._head_name == "softmax":
            return softmax(raw, axis=-1)
        if not self._multilabel:
            # expit(-raw), not 1 - expit(raw): no underflow to 0 in float64.
            return np.concatenate([expit(-raw), expit(raw)], axis=-1)
        return expit(raw)

    def predict(self, X):
        """Predict class labels (deterministic: dropout is off).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Labels, or an indicator matrix for multilabel targets.
        """
        return self._labels(self.predict_proba(X))

    def _labels(self, proba):
        """The labels (or indicator matrix) of probabilities in
        :meth:`predict_proba`'s layout: of this network, or the mean of
        several fitted on the same classes."""
        if len(self.classes_) == 1:
            return np.repeat(self.classes_, len(proba))
        if self._head_name == "logistic" and not self._multilabel:
            proba = proba[:, 1:]
        return self._label_binarizer.inverse_transform(proba)

    def predict_proba(self, X):
        """Class probabilities of the evaluation-mode network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._from_raw(self._raw(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, as in scikit-learn.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``-inf`` where a probability underflows to 0.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
