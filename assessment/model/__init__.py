"""The credit-risk model: the estimator, its training, persistence, prediction and drift bands."""
