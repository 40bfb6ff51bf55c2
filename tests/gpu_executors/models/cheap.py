"""Cheap configurations of each family, enqueued where a random draw could be slow."""

CHEAP = {
    "neural_net": {
        "n_layers": 2,
        "layer_0": 64,
        "layer_1": 32,
        "dropout": 0.2,
        "learning_rate": 3e-3,
        "batch_size": 256,
        "max_epochs": 50,
        "patience": 10,
    },
    "xgboost": {
        "n_estimators": 100,
        "max_depth": 3,
        "learning_rate": 0.1,
        "subsample": 0.8,
        "colsample": 0.9,
    },
    "lightgbm": {
        "n_estimators": 100,
        "max_depth": 4,
        "learning_rate": 0.1,
        "subsample": 0.8,
        "colsample": 0.9,
    },
    "catboost": {"iterations": 200, "depth": 4, "learning_rate": 0.1},
}
