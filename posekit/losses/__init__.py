"""Training losses; models return predictions, the training step composes model, codec and loss."""
