"""Train Tailor's default conversion model and write a versioned model directory.

Input: the CSV written by `tailor export-training` (features as of a cutoff,
label = checked out in the window after it). Output, in --out:

- model.onnx      the logistic regression as standard ONNX operators (opset
                  17: Sub, Div, MatMul, Add, Sigmoid) built from the fitted
                  scaler and coefficients, so that both engines run it:
                  skl2onnx writes linear models with the ai.onnx.ml
                  operators Scaler and LinearClassifier, which the pure-Rust
                  engine (tract) does not implement;
- model.trees.onnx a gradient-boosted tree ensemble exported by skl2onnx
                  (zipmap=False), for native engines only (--trees);
- features.json   the ordered feature list the model reads;
- card.json       version, data hash, holdout AUC against a constant baseline,
                  training date, intended purposes, and the linear weights
                  (in logit space, per raw feature) that explanations use.

Training writes no approval: a model serves only once a reviewer adds
approval.json beside the card (who, when, for which of the card's purposes,
the card's holdout figures and its SHA-256); a retrained card needs a new one.

The split is by a hash of the profile id, so it is the same on every run.
"""

import argparse
import csv
import datetime
import hashlib
import json
import pathlib

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx

MIN_AUC_MARGIN = 0.10  # the card states it; training fails below it


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    features = header[1:-1]
    ids = [r[0] for r in body]
    x = np.array([[float(v) for v in r[1:-1]] for r in body], dtype=np.float32)
    y = np.array([int(r[-1]) for r in body], dtype=np.int64)
    return features, ids, x, y


def holdout(profile_id):
    return int(hashlib.sha256(profile_id.encode()).hexdigest(), 16) % 4 == 0


def linear_onnx(scaler, lr, n):
    """The fitted scaler and logistic regression as standard ONNX operators.

    Input "X" [N, n] float32; output "probability" [N, 1]: P(label = 1).
    """
    f32 = np.float32
    inits = [
        numpy_helper.from_array(scaler.mean_.astype(f32), "mean"),
        numpy_helper.from_array(scaler.scale_.astype(f32), "scale"),
        numpy_helper.from_array(lr.coef_.T.astype(f32), "weights"),
        numpy_helper.from_array(lr.intercept_.astype(f32), "bias"),
    ]
    nodes = [
        helper.make_node("Sub", ["X", "mean"], ["centered"]),
        helper.make_node("Div", ["centered", "scale"], ["standardized"]),
        helper.make_node("MatMul", ["standardized", "weights"], ["logit0"]),
        helper.make_node("Add", ["logit0", "bias"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["probability"]),
    ]
    graph = helper.make_graph(
        nodes,
        "conversion",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, n])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [None, 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tailor-train")
    model.ir_version = 8
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--trees", action="store_true", help="also export a tree ensemble (native engines only)")
    args = parser.parse_args()

    features, ids, x, y = load(args.data)
    test = np.array([holdout(i) for i in ids])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x[~test], y[~test])
    auc = float(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1]))
    baseline = 0.5  # a constant score ranks nothing
    if auc - baseline < MIN_AUC_MARGIN:
        raise SystemExit(f"holdout AUC {auc:.3f} does not beat the constant baseline by {MIN_AUC_MARGIN}")

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scaler, lr = model[0], model[1]
    (out / "model.onnx").write_bytes(linear_onnx(scaler, lr, len(features)).SerializeToString())
    (out / "features.json").write_text(json.dumps(features, indent=2) + "\n")
    if args.trees:
        from sklearn.ensemble import GradientBoostingClassifier

        trees = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(x[~test], y[~test])
        onx = to_onnx(trees, x[:1], options={"zipmap": False}, target_opset={"": 17, "ai.onnx.ml": 3})
        (out / "model.trees.onnx").write_bytes(onx.SerializeToString())

    weights = (lr.coef_[0] / scaler.scale_).tolist()
    bias = float(lr.intercept_[0] - np.sum(lr.coef_[0] * scaler.mean_ / scaler.scale_))
    card = {
        "name": "conversion",
        "version": args.version,
        "kind": "logistic_regression",
        "output": "probability of a checkout within 7 days",
        "intended_purposes": ["personalization", "marketing"],
        "trained_on": datetime.date.today().isoformat(),
        "data_sha256": hashlib.sha256(pathlib.Path(args.data).read_bytes()).hexdigest(),
        "rows": {"train": int((~test).sum()), "holdout": int(test.sum()), "positive_rate": float(y.mean())},
        "holdout_auc": round(auc, 4),
        "baseline_auc": baseline,
        "min_auc_margin": MIN_AUC_MARGIN,
        "engines": ["ort", "tract"],
        "linear": {"features": features, "weights": weights, "bias": bias, "baseline": x[~test].mean(axis=0).tolist()},
    }
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"holdout AUC {auc:.4f} (baseline {baseline}); wrote {out}")


if __name__ == "__main__":
    main()
