"""Submission models: the competition interface and the models behind `UserModel`."""
