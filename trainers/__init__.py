"""trainers: a compact trainer that turns a corpuskit build into a BabyLM model.

Public entry points: ``trainers.config.TrainConfig``, ``trainers.train.train`` and
``trainers.models.load_model`` (see docs/training.md). corpuskit never imports this package.
"""
