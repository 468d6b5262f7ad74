"""One anchor model trained in a process of its own on the matrix files bench/train.ts wrote.

  /usr/bin/python3 bench/anchors/train_anchor.py DIR MODEL OUT [TASK]

MODEL is one of sk_rf, sk_hgb, sk_logreg, xgb for TASK classification (the default), and sk_rf, sk_hgb,
sk_linear for TASK regression. Reads DIR/train.* and DIR/test.* (column-major float32 features, float64
labels), fits, writes P(rain) (classification) or the predicted value (regression) for the test rows to
OUT as float64, and prints one JSON line: train seconds (fit only), batch predict seconds, peak RSS of this process, library versions, and
the BLAS kernel in use (threadpoolctl) so the table can say which OpenBLAS path ran.
"""
import json
import resource
import sys
import time

import numpy as np


def load(directory, name, task):
    with open(f"{directory}/{name}.json") as f:
        meta = json.load(f)
    n, d = meta["nRows"], len(meta["featureNames"])
    x = np.fromfile(f"{directory}/{name}.x.f32", dtype=np.float32).reshape(d, n).T
    y = np.fromfile(f"{directory}/{name}.y.f64", dtype=np.float64)
    if task == "classification":
        y = y.astype(np.int64)
    return np.ascontiguousarray(x), y


def make_regressor(model):
    if model == "sk_rf":
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline

        return make_pipeline(
            SimpleImputer(strategy="median"),
            RandomForestRegressor(n_estimators=100, min_samples_leaf=2, n_jobs=2, random_state=1),
        )
    if model == "sk_hgb":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(max_iter=300, random_state=1)
    if model == "sk_linear":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LinearRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LinearRegression())
    raise SystemExit(f"unknown regression model {model}")


def make(model):
    if model == "sk_rf":
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline

        return make_pipeline(
            SimpleImputer(strategy="median"),
            RandomForestClassifier(n_estimators=100, min_samples_leaf=2, n_jobs=2, random_state=1),
        )
    if model == "sk_hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(max_iter=300, random_state=1)
    if model == "sk_logreg":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=1000))
    if model == "xgb":
        from xgboost import XGBClassifier

        # learning_rate explicit: XGBoost 1.7 defaults to 0.3, which overfits here (0.878 instead of 0.885).
        return XGBClassifier(
            n_estimators=300, max_depth=6, learning_rate=0.1, tree_method="hist", n_jobs=2, random_state=1
        )
    raise SystemExit(f"unknown model {model}")


def blas_info():
    try:
        from threadpoolctl import threadpool_info

        return [
            {k: i.get(k) for k in ("internal_api", "architecture", "num_threads", "version")}
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
    except Exception as e:  # threadpoolctl missing or too old: say so rather than guess
        return [{"error": str(e)}]


def main():
    directory, model_name, out = sys.argv[1], sys.argv[2], sys.argv[3]
    task = sys.argv[4] if len(sys.argv) > 4 else "classification"
    if task not in ("classification", "regression"):
        raise SystemExit(f"unknown task {task}")
    x_train, y_train = load(directory, "train", task)
    x_test, _ = load(directory, "test", task)
    model = make(model_name) if task == "classification" else make_regressor(model_name)
    t0 = time.perf_counter()
    model.fit(x_train, y_train)
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    if task == "classification":
        p = model.predict_proba(x_test)[:, 1].astype(np.float64)
    else:
        p = model.predict(x_test).astype(np.float64)
    predict_s = time.perf_counter() - t1
    p.tofile(out)
    import sklearn

    versions = {"sklearn": sklearn.__version__, "numpy": np.__version__}
    if model_name == "xgb":
        import xgboost

        versions["xgboost"] = xgboost.__version__
    extra = {}
    if model_name == "sk_hgb":
        extra["trees"] = int(model.n_iter_)
    print(
        json.dumps(
            {
                "model": model_name,
                "task": task,
                "trainSeconds": train_s,
                "predictUsPerRowBatch": predict_s * 1e6 / len(x_test),
                "maxRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "versions": versions,
                "blas": blas_info(),
                **extra,
            }
        )
    )


if __name__ == "__main__":
    main()
